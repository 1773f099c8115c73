"""Server-rendered pages and vendored static assets (no CDN: plants are often air-gapped).

Routes: ``/signin`` (one-time link to session cookie), ``POST /signout``, ``/``
(the plant tree with live values), ``/trend?tag=<path>`` (history chart) and
``/static/`` (our stylesheet and scripts, and uPlot in ``static/vendor``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from plantos.ui import (
    admin_pages,
    alarm_pages,
    analytics_pages,
    entry_pages,
    erp_pages,
    maintenance_pages,
    mom_pages,
    ot_pages,
    pages,
    quality_pages,
    reliability_pages,
    session,
)
from plantos.ui.oidc_pages import router as oidc_router
from plantos.ui.render import STATIC_DIR


def install_ui(app: FastAPI) -> None:
    """Mount the pages and static files on ``app``."""
    app.add_exception_handler(session.SignInRequired, session.redirect_to_signin)
    app.add_exception_handler(session.PageForbidden, session.forbidden_page)
    app.include_router(session.router)
    app.include_router(pages.router)
    app.include_router(alarm_pages.router)
    app.include_router(analytics_pages.router)
    app.include_router(mom_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(ot_pages.router)
    app.include_router(oidc_router)
    app.include_router(entry_pages.router)
    app.include_router(maintenance_pages.router)
    app.include_router(reliability_pages.router)
    app.include_router(quality_pages.router)
    app.include_router(erp_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
