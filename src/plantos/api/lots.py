"""Lots over HTTP: list them (by order, by state), read one, hold or release one by hand.

Lists keep to the caller's scope; a hold or a release needs ``quality:write`` over the
lot's asset and a reason, runs in a worker thread and is audited either way. A lot the
caller cannot see is unknown (404); a move its state refuses (a second hold, releasing a
lot not on hold, a scrapped lot) answers 409 with the reason and changes nothing.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from plantos.api.auth import FILTERED, platform_of, query_param, require
from plantos.api.errors import register_status
from plantos.api.workorders import audited
from plantos.core.timeparse import iso
from plantos.mom.domain.lot import (
    STATES,
    IllegalLotTransitionError,
    InvalidLotError,
    Lot,
    UnknownLotError,
)
from plantos.security import Identity
from plantos.security.authz import authorize
from plantos.security.scope import covers

router = APIRouter(tags=["quality"])

for error, status, title in (
    (UnknownLotError, 404, "Unknown lot"),
    (IllegalLotTransitionError, 409, "Not allowed in this lot state"),
    (InvalidLotError, 422, "Invalid lot request"),
):
    register_status(error, status, title)

LotState = Literal["open", "on_hold", "released", "closed", "scrapped"]


class LotMove(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why, for the trail")


def lot_view(lot: Lot) -> dict[str, Any]:
    return {
        "id": lot.id, "order": lot.order, "product": lot.product, "asset": lot.asset,
        "state": lot.state, "opened": iso(lot.opened_ns), "opened_by": lot.opened_by,
        "closed": iso(lot.closed_ns) if lot.closed_ns else None, "good": lot.good,
        "scrap": lot.scrap, "reason": lot.reason,
        "history": [{**h, "at": iso(h["at_ns"])} for h in lot.history],
    }  # fmt: skip


@router.get("/quality/lots")
async def lot_list(
    request: Request,
    asset: str = Query("", description="A plant path: the lots at or below it"),
    order: str | None = Query(None, description="A production order id"),
    state: list[LotState] | None = Query(None, description="Only these states"),
    limit: int = Query(500, ge=1, le=5000),
    identity: Identity = require("plant:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """Lots at or below ``asset`` (the caller's whole scope when empty), newest first;
    the parts of a lot still filling are counted now."""
    service = platform_of(request).quality.service
    found = await asyncio.to_thread(service.lots, order=order, states=state, limit=limit)
    prefix = asset.strip("/") or identity.scope
    return {
        "lots": [
            lot_view(lot)
            for lot in found
            if covers(prefix, lot.asset) and covers(identity.scope, lot.asset)
        ],
        "states": list(STATES),
    }


@router.get("/quality/lots/{lot_id}")
async def lot_get(
    request: Request,
    lot_id: str,
    identity: Identity = require("plant:read", scope_from=FILTERED),
) -> dict[str, Any]:
    """One lot with its history (404 outside the caller's scope)."""
    lot = await asyncio.to_thread(platform_of(request).quality.service.lot, lot_id)
    if not covers(identity.scope, lot.asset):
        raise UnknownLotError(f"no lot {lot_id!r}")
    return lot_view(lot)


@router.post("/quality/lots/{lot_id}/hold")
async def lot_hold(
    request: Request,
    lot_id: str,
    body: LotMove,
    identity: Identity = require("quality:write", scope_from=FILTERED),
) -> dict[str, Any]:
    """Put a lot on hold (``LotHeld`` to the outbox); 409 when it is on hold already."""
    return await _move(request, identity, lot_id, "hold", body.reason)


@router.post("/quality/lots/{lot_id}/release")
async def lot_release(
    request: Request,
    lot_id: str,
    body: LotMove,
    identity: Identity = require("quality:write", scope_from=FILTERED),
) -> dict[str, Any]:
    """End a lot's hold (``LotReleased`` to the outbox); 409 when it is not on hold."""
    return await _move(request, identity, lot_id, "release", body.reason)


def move_lot(service: Any, identity: Identity, lot_id: str, move: str, reason: str) -> Lot:
    """Hold or release ``lot_id`` for ``identity``: a lot outside its scope is unknown, and
    ``quality:write`` on the lot's asset is checked. Blocking: the API and the lots form
    run it in a worker thread."""
    if move not in ("hold", "release"):
        raise UnknownLotError(f"no move {move!r} for a lot: hold or release")
    lot = service.lot(lot_id)
    if not covers(identity.scope, lot.asset):
        raise UnknownLotError(f"no lot {lot_id!r}")
    authorize(identity, "quality:write", lot.asset)
    act = service.hold_lot if move == "hold" else service.release_lot
    moved: Lot = act(lot_id, by=identity.subject, reason=reason)[0]
    return moved


async def _move(
    request: Request, identity: Identity, lot_id: str, move: str, reason: str
) -> dict[str, Any]:
    service = platform_of(request).quality.service
    work = partial(move_lot, service, identity, lot_id, move, reason)
    return lot_view(await audited(request, identity, f"lot.{move}", lot_id, work))
