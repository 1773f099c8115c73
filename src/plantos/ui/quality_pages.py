"""The quality page: the nonconformances in the caller's scope, open ones first, with a
button per disposition (use as is, rework, scrap with a quantity); then the lots, held
ones first, with hold and release (a reason each). The order page shows its own lots
with the same table (``lots_table.html``) and form handlers."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from plantos.api.auth import FILTERED, platform_of
from plantos.api.lots import lot_view, move_lot
from plantos.api.quality import nonconformance_view
from plantos.core.errors import PlantOSError
from plantos.mom.quality.nonconformance import DISPOSITIONS, Nonconformance
from plantos.security import Identity
from plantos.security.authz import authorize
from plantos.security.scope import covers
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)

LOTS_SHOWN = 200


@router.get("/quality", response_class=HTMLResponse)
async def quality_page(
    request: Request,
    message: str = "",
    identity: Identity = page_require("plant:read", scope_from=FILTERED),
) -> HTMLResponse:
    """Open nonconformances (newest first), then the closed ones."""
    service = platform_of(request).quality.service
    found = await asyncio.to_thread(service.list, limit=500)
    mine = [nc for nc in found if covers(identity.scope, nc.asset)]
    mine.sort(key=lambda nc: (nc.state != "open", -nc.opened_ns))
    return page(
        request,
        "quality.html",
        {
            "nonconformances": [nonconformance_view(nc) for nc in mine],
            "dispositions": DISPOSITIONS,
            "lots": await lots_shown(request, identity),
            "back": "/quality",
            "message": message,
        },
    )


async def lots_shown(
    request: Request, identity: Identity, *, order: str | None = None
) -> list[dict[str, object]]:
    """The lots in the caller's scope (of ``order`` when given), held ones first, for
    ``lots_table.html``."""
    service = platform_of(request).quality.service
    found = await asyncio.to_thread(service.lots, order=order, limit=LOTS_SHOWN)
    mine = sorted(
        (lot for lot in found if covers(identity.scope, lot.asset)),
        key=lambda lot: (lot.state != "on_hold", -lot.opened_ns),
    )
    return [lot_view(lot) for lot in mine]


@router.post("/quality/lots/{lot_id}/{move}")
async def lot_form(
    request: Request,
    lot_id: str,
    move: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form()] = "/quality",
    identity: Identity = page_require("quality:write", scope_from=FILTERED),
) -> RedirectResponse:
    """Hold or release from the lots table; back to the page it was on (the quality page
    or an order's), with the outcome or the refusal as its message, audited."""
    platform = platform_of(request)
    service = platform.quality.service
    back = back if back.startswith("/") and not back.startswith("//") else "/quality"

    action = f"lot.{move}"
    try:
        lot = await asyncio.to_thread(move_lot, service, identity, lot_id, move, reason)
    except PlantOSError as exc:
        await asyncio.to_thread(
            platform.audit.append, identity.subject, action, lot_id,
            outcome="failed", reason=str(exc),
        )  # fmt: skip
        return RedirectResponse(f"{back}?message={quote(str(exc))}", status_code=303)
    await asyncio.to_thread(platform.audit.append, identity.subject, action, lot_id)
    message = f"lot {lot.id} {lot.state.replace('_', ' ')}"
    return RedirectResponse(f"{back}?message={quote(message)}", status_code=303)


@router.post("/quality/nonconformances/{nc_id}/dispose")
async def dispose_form(
    request: Request,
    nc_id: str,
    disposition: Annotated[str, Form()],
    quantity: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    identity: Identity = page_require("quality:write", scope_from=FILTERED),
) -> RedirectResponse:
    """The page's buttons; a refusal comes back as the page's message, audited."""
    platform = platform_of(request)
    service = platform.quality.service

    def work() -> Nonconformance:
        authorize(identity, "quality:write", service.get(nc_id).asset)
        parts = int(quantity) if quantity.strip().isdigit() else None
        return service.dispose(nc_id, disposition, by=identity.subject, quantity=parts, note=note)[
            0
        ]

    action = f"nonconformance.{disposition}"
    try:
        nc = await asyncio.to_thread(work)
    except PlantOSError as exc:
        await asyncio.to_thread(
            platform.audit.append, identity.subject, action, nc_id,
            outcome="failed", reason=str(exc),
        )  # fmt: skip
        return RedirectResponse(f"/quality?message={quote(str(exc))}", status_code=303)
    await asyncio.to_thread(platform.audit.append, identity.subject, action, nc_id)
    message = f"{nc.id} closed: {nc.disposition.replace('_', ' ') if nc.disposition else ''}"
    if nc.scrapped:
        message += f", {nc.scrapped} parts scrapped"
    return RedirectResponse(f"/quality?message={quote(message)}", status_code=303)
