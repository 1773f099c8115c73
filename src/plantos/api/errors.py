"""One place that maps PlantOS errors to problem responses (RFC 9457)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from plantos.core.errors import AuthError, PlantOSError, QueryError, UnknownTagError

_STATUS: dict[type[PlantOSError], tuple[int, str]] = {
    AuthError: (401, "Unauthorized"),
    QueryError: (400, "Bad query"),
    UnknownTagError: (404, "Unknown tag"),
}


def register_status(error: type[PlantOSError], status: int, title: str) -> None:
    """Let a domain's router say how its errors are answered, without this module
    knowing every domain."""
    _STATUS[error] = (status, title)


def problem(status: int, title: str, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlantOSError)
    async def plantos_error(request: Request, exc: PlantOSError) -> JSONResponse:
        status, title = next(
            (v for k, v in _STATUS.items() if isinstance(exc, k)), (500, "Internal error")
        )
        return problem(status, title, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return problem(422, "Invalid request", "; ".join(parts))
