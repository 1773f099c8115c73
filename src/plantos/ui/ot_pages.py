"""Writes into OT for people: the pending approvals a second person decides, and the zones
and conduits of the plant, so everyone sees what may cross into OT and what may not."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from plantos.api.auth import FILTERED, platform_of
from plantos.api.writes import write_entry
from plantos.core.errors import PlantOSError
from plantos.security import Identity
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)


@router.get("/writes", response_class=HTMLResponse)
def writes_page(
    request: Request,
    message: str = "",
    identity: Identity = page_require("ot:approve", scope_from=FILTERED),
) -> HTMLResponse:
    """Recent write requests in the caller's scope, pending ones first, to approve or reject."""
    writes = [write_entry(w) for w in platform_of(request).ot_writes.recent()]
    mine = [w for w in writes if identity.sees(w["tag"])]
    return page(request, "writes.html", {"writes": mine, "message": message})


async def _decide(request: Request, identity: Identity, write_id: str, approve: bool) -> str:
    writes = platform_of(request).ot_writes
    try:
        if approve:
            done = await writes.approve(identity, write_id)
        else:
            done = writes.reject(identity, write_id)
    except PlantOSError as exc:
        return str(exc)
    return f"{done.tag} = {done.value:g}: {done.state}"


@router.post("/writes/{write_id}/approve")
async def approve_form(
    request: Request,
    write_id: str,
    identity: Identity = page_require("ot:approve", scope_from=FILTERED),
) -> RedirectResponse:
    message = await _decide(request, identity, write_id, True)
    return RedirectResponse(f"/writes?message={quote(message)}", status_code=303)


@router.post("/writes/{write_id}/reject")
async def reject_form(
    request: Request,
    write_id: str,
    identity: Identity = page_require("ot:approve", scope_from=FILTERED),
) -> RedirectResponse:
    message = await _decide(request, identity, write_id, False)
    return RedirectResponse(f"/writes?message={quote(message)}", status_code=303)


@router.get("/zones", response_class=HTMLResponse)
def zones_page(
    request: Request, identity: Identity = page_require("plant:read", scope_from=FILTERED)
) -> HTMLResponse:
    """Zones, the conduits between them, and the tags that may be written into OT."""
    spec = platform_of(request).ot_writes.zoning.spec
    writable = [w for w in spec.writable if identity.sees(w.tag)]
    return page(request, "zones.html", {"spec": spec, "writable": writable})
