"""Nonconformances over HTTP: list and filter them, read one, give a disposition.

Lists keep to the caller's scope; a disposition needs ``quality:write`` over the
nonconformance's asset. Database calls run in worker threads; refusals (a closed
nonconformance, an unknown disposition, more scrap than parts) answer 4xx with the
reason, are audited, and change nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from plantos.api.auth import FILTERED, platform_of, query_param, require
from plantos.api.errors import register_status
from plantos.api.workorders import audited
from plantos.core.timeparse import iso
from plantos.mom.quality.errors import (
    IllegalDispositionError,
    InvalidNonconformanceError,
    UnknownNonconformanceError,
)
from plantos.mom.quality.nonconformance import STATES, Nonconformance
from plantos.security import Identity
from plantos.security.authz import authorize
from plantos.security.scope import covers

router = APIRouter(tags=["quality"])

for error, status, title in (
    (UnknownNonconformanceError, 404, "Unknown nonconformance"),
    (IllegalDispositionError, 409, "Disposition not allowed"),
    (InvalidNonconformanceError, 422, "Invalid disposition"),
):
    register_status(error, status, title)


class DispositionRequest(BaseModel):
    disposition: Literal["use_as_is", "rework", "scrap"]
    quantity: int | None = Field(
        None, gt=0, le=1_000_000, description="Parts to scrap (default: the failed parts)"
    )
    note: str = Field("", max_length=2000)


def nonconformance_view(nc: Nonconformance) -> dict[str, Any]:
    return {
        "id": nc.id, "asset": nc.asset, "characteristic": nc.characteristic,
        "trigger": nc.trigger, "order": nc.order, "lot": nc.lot, "state": nc.state,
        "held": nc.held, "hold_target": nc.hold_target,
        "quantity": nc.quantity, "occurrences": nc.occurrences, "opened": iso(nc.opened_ns),
        "opened_by": nc.opened_by, "closed": iso(nc.closed_ns) if nc.closed_ns else None,
        "disposition": nc.disposition, "scrapped": nc.scrapped, "note": nc.note,
        "evidence": nc.evidence, "history": [{**h, "at": iso(h["at_ns"])} for h in nc.history],
    }  # fmt: skip


@router.get("/quality/nonconformances")
async def nonconformance_list(
    request: Request,
    asset: str = Query("", description="A plant path: the nonconformances at or below it"),
    state: Literal["open", "closed"] | None = Query(None),
    characteristic: str | None = Query(None, description="A tag path"),
    order: str | None = Query(None, description="A production order id"),
    held: bool | None = Query(None, description="Only those holding (or not) their order"),
    limit: int = Query(500, ge=1, le=5000),
    identity: Identity = require("plant:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """Nonconformances at or below ``asset`` (the caller's whole scope when empty), newest
    first."""
    service = platform_of(request).quality.service
    found = await asyncio.to_thread(
        service.list,
        states=[state] if state else None,
        characteristic=characteristic,
        order=order,
        held=held,
        limit=limit,
    )
    prefix = asset.strip("/") or identity.scope
    return {
        "nonconformances": [
            nonconformance_view(nc)
            for nc in found
            if covers(prefix, nc.asset) and covers(identity.scope, nc.asset)
        ],
        "states": list(STATES),
    }


@router.get("/quality/nonconformances/{nc_id}")
async def nonconformance_get(
    request: Request,
    nc_id: str,
    identity: Identity = require("plant:read", scope_from=FILTERED),
) -> dict[str, Any]:
    """One nonconformance with its evidence and history (404 outside the caller's scope)."""
    nc = await asyncio.to_thread(platform_of(request).quality.service.get, nc_id)
    if not covers(identity.scope, nc.asset):
        raise UnknownNonconformanceError(f"no nonconformance {nc_id!r}")
    return nonconformance_view(nc)


@router.post("/quality/nonconformances/{nc_id}/disposition")
async def nonconformance_disposition(
    request: Request,
    nc_id: str,
    body: DispositionRequest,
    identity: Identity = require("quality:write", scope_from=FILTERED),
) -> dict[str, Any]:
    """Close a nonconformance: ``use_as_is`` and ``rework`` release its order's hold,
    ``scrap`` books the parts as scrap to the order (and releases the hold unless the
    plant's rule keeps it). 409 when it is closed already; audited either way."""
    service = platform_of(request).quality.service

    def work() -> Nonconformance:
        authorize(identity, "quality:write", service.get(nc_id).asset)
        return service.dispose(
            nc_id, body.disposition, by=identity.subject, quantity=body.quantity, note=body.note
        )[0]

    nc = await audited(request, identity, f"nonconformance.{body.disposition}", nc_id, work)
    return nonconformance_view(nc)
