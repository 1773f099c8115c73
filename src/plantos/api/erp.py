"""The ERP connectors for IT: their state, lag and dead letters, and replay.

``GET /api/v1/erp/connectors`` lists each connector's pending, delivered and dead
counts, lag (age of the oldest pending message), last delivery and last error;
``GET /api/v1/erp/deadletters`` the messages a receiver refused, with the reason and
the payload; ``POST /api/v1/erp/connectors/{name}/replay`` sends a connector's dead
letters again (all, or those whose ids the body lists) once the cause is fixed.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, require
from plantos.integration.erp.outbox.dispatcher import OutboxDispatcher
from plantos.security import Identity

router = APIRouter(prefix="/erp", tags=["erp"])


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] | None = Field(None, max_length=10_000)
    """The dead letters to send again; none given: all of the connector's."""


def _dispatcher(request: Request) -> OutboxDispatcher:
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    if dispatcher is None:
        raise HTTPException(404, "no ERP connector is configured (erp.yaml beside the plant file)")
    return dispatcher


def _statuses(dispatcher: OutboxDispatcher) -> list[dict[str, Any]]:
    names = dispatcher.store.connectors(c.name for c in dispatcher.connectors)
    return [dispatcher.store.status(name) for name in names]


@router.get("/connectors")
async def connectors(
    request: Request, _: object = require("system:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Each connector's delivery state: counts, lag in seconds, last delivery, last error."""
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    if dispatcher is None:
        return {"connectors": []}
    return {"connectors": await asyncio.to_thread(_statuses, dispatcher)}


@router.get("/deadletters")
async def dead_letters(
    request: Request,
    connector: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=1000),
    _: object = require("system:read", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """The dead letters, oldest first: id (the idempotency key), connector, kind, order,
    attempts, the receiver's reason and the payload."""
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    if dispatcher is None:
        return {"dead_letters": []}
    letters = await asyncio.to_thread(dispatcher.store.dead_letters, connector, limit=limit)
    return {"dead_letters": [letter.to_dict() for letter in letters]}


@router.post("/connectors/{name}/replay")
async def replay(
    request: Request,
    name: str,
    body: Replay | None = None,
    identity: Identity = require("system:write", scope_from=ENTERPRISE_WIDE),
) -> dict[str, int]:
    """Send dead letters of connector ``name`` again; answers how many went back to pending."""
    dispatcher = _dispatcher(request)
    known = await asyncio.to_thread(
        dispatcher.store.connectors, (c.name for c in dispatcher.connectors)
    )
    if name not in known:
        raise HTTPException(404, f"no ERP connector named {name!r}; known: {known}")
    ids = body.ids if body is not None else None
    replayed = await asyncio.to_thread(dispatcher.store.replay, name, keys=ids)
    what = f"{name} {len(ids) if ids is not None else 'all'}: {replayed}"
    platform_of(request).audit.append(identity.subject, "erp.replay", what)
    return {"replayed": replayed}
