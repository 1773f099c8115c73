"""The HTTP API: one router per domain, all under ``/api/v1``, every route authenticated."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from plantos.api import alarms, history, judgements, live, oee, orders, plant, prometheus, system
from plantos.api import mom as mom_api
from plantos.api.auth import require_identity
from plantos.api.errors import install_error_handlers


def install_api(app: FastAPI) -> None:
    install_error_handlers(app)
    guarded = [Depends(require_identity)]
    for module in (plant, history, live, system, alarms, oee, judgements):
        app.include_router(module.router, prefix="/api/v1", dependencies=guarded)
    for module in (orders, mom_api):
        app.include_router(module.router, prefix="/api/v1", dependencies=guarded)

    app.include_router(prometheus.router, dependencies=guarded)

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=guarded)
    def openapi() -> dict[str, object]:
        return app.openapi()
