"""The HTTP API: one router per domain, all under ``/api/v1``. Every route declares the
permission it needs with :func:`plantos.api.auth.require` (see docs/security.md)."""

from __future__ import annotations

from fastapi import FastAPI

from plantos.api import (
    alarms,
    audit,
    entries,
    history,
    judgements,
    live,
    lots,
    oee,
    orders,
    plans,
    plant,
    prometheus,
    quality,
    reliability,
    reports,
    system,
    tokens,
    users,
    workorders,
    writes,
)
from plantos.api import erp as erp_api
from plantos.api import mom as mom_api
from plantos.api.auth import FILTERED, require
from plantos.api.errors import install_error_handlers
from plantos.api.hardening import install_hardening
from plantos.api.health import probe as health_probe
from plantos.api.health import router as health_router


def install_api(app: FastAPI) -> None:
    install_error_handlers(app)
    install_hardening(app)
    for module in (plant, history, live, system, alarms, oee, judgements):
        app.include_router(module.router, prefix="/api/v1")
    for module in (users, tokens, audit, writes, orders, mom_api):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(workorders.router, prefix="/api/v1")
    app.include_router(quality.router, prefix="/api/v1")
    app.include_router(lots.router, prefix="/api/v1")
    app.include_router(plans.router, prefix="/api/v1")
    app.include_router(entries.router, prefix="/api/v1")
    app.include_router(reliability.router, prefix="/api/v1")
    app.include_router(health_router, prefix="/api/v1")
    app.include_router(erp_api.router, prefix="/api/v1")
    app.include_router(reports.router, prefix="/api/v1")
    app.include_router(health_probe)

    app.include_router(prometheus.router)

    @app.get(
        "/api/openapi.json",
        include_in_schema=False,
        dependencies=[require("plant:read", scope_from=FILTERED)],
    )
    def openapi() -> dict[str, object]:
        return app.openapi()
