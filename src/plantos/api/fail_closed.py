"""A route that declares no permission is closed, not open.

Every route should say what it needs with ``require``/``page_require`` (or ``public``),
and the route-enumeration test fails for one that does not. Should such a route still be
served (a new router merged before its guards), this middleware answers it only for an
administrator of the whole enterprise, refuses everyone else (401 without a credential,
403 with the reason, audited) and logs the route once, so a forgotten guard is never a
hole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from plantos.api.auth import (
    CSRF_HEADER,
    PERMISSION_ATTR,
    SAFE_METHODS,
    SESSION_COOKIE,
    authenticate,
    csrf_token,
    platform_of,
)
from plantos.api.errors import problem
from plantos.core.errors import AuthError
from plantos.security.scope import ENTERPRISE

log = logging.getLogger(__name__)

Unguarded = tuple[frozenset[str], re.Pattern[str], str]


def route_guards(route: RouteContext) -> list[Callable[..., Any]]:
    """The permission-declaring dependencies of a route, however deep."""
    found, stack = [], [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        if dependant.call is not None and hasattr(dependant.call, PERMISSION_ATTR):
            found.append(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def unguarded_routes(routes: list[Any]) -> list[Unguarded]:
    """(methods, path pattern, path) of every API route without a declared permission."""
    out: list[Unguarded] = []
    for route in iter_route_contexts(routes):
        if isinstance(route.original_route, APIRoute) and not route_guards(route):
            pattern, _format, _convertors = compile_path(str(route.path))
            out.append((frozenset(route.methods or ()), pattern, str(route.path)))
    return out


class FailClosed:
    """Pure ASGI middleware; the unguarded routes are found on the first request, when the
    application has every router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._unguarded: list[Unguarded] | None = None
        self._logged: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._unguarded is None:
                self._unguarded = unguarded_routes(scope["app"].routes)
            path = next(
                (p for methods, pattern, p in self._unguarded
                 if scope["method"] in methods and pattern.match(scope["path"])),
                None,
            )  # fmt: skip
            if path is not None:
                refusal = self._refusal(Request(scope), path)
                if refusal is not None:
                    await refusal(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request, path: str) -> Any:
        if path not in self._logged:
            self._logged.add(path)
            log.warning("route %s declares no permission: only administrators may use it", path)
        try:
            identity = authenticate(request)
        except AuthError as exc:
            return problem(401, "Unauthorized", str(exc))
        if identity.role == "admin" and identity.scope == ENTERPRISE:
            needs_check = identity.kind == "session" and request.method not in SAFE_METHODS
            if not needs_check or _same_origin(request):
                return None
        reason = (
            f"{path} declares no permission yet: "
            "only an administrator of the whole enterprise may use it"
        )
        platform_of(request).audit.append(
            identity.subject, "access.denied", f"{request.method} {request.url.path}",
            outcome="denied", permission="undeclared", reason=reason,
        )  # fmt: skip
        return problem(403, "Forbidden", reason)


def _same_origin(request: Request) -> bool:
    """A browser's state change comes from PlantOS's own pages: the session's CSRF token in
    the header, or the browser's own word that the request is same-origin (``Sec-Fetch-Site``,
    which a page cannot forge; ``Origin`` is ``null`` under PlantOS's no-referrer policy)."""
    sent = request.headers.get(CSRF_HEADER, "")
    if sent and sent == csrf_token(request.cookies.get(SESSION_COOKIE, "")):
        return True
    return request.headers.get("sec-fetch-site") == "same-origin"
