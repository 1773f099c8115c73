"""Production orders: list, create, import from CSV, change state, book operator counts.

Every database call runs in a worker thread (``asyncio.to_thread``), so the event loop
that also carries the bus never waits on the disk; the events a change caused are
published after its commit. Refusals answer 4xx with the reason, and nothing of a
refused request is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, require
from plantos.api.errors import register_status
from plantos.api.listing import decode_cursor, encode_cursor, etag_response
from plantos.api.ports import PlatformPort
from plantos.core.errors import QueryError
from plantos.core.events import Event
from plantos.core.timeparse import parse_time_ns
from plantos.mom.csv_import import parse_orders_csv
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import Routing
from plantos.mom.domain.order import STATES, ProductionOrder
from plantos.mom.errors import (
    CountRejectedError,
    DuplicateOrderError,
    IllegalTransitionError,
    ImportRejectedError,
    InvalidOrderError,
    MasterDataError,
    UnknownOrderError,
    UnknownProductError,
)
from plantos.mom.order_sync import history_view
from plantos.mom.store.repositories import ConcurrentChangeError
from plantos.mom.views import order_view

router = APIRouter(tags=["orders"])
MAX_CSV_BYTES = 2 * 1024 * 1024
T = TypeVar("T")

for error, status, title in (
    (UnknownOrderError, 404, "Unknown order"),
    (UnknownProductError, 422, "Unknown product"),
    (DuplicateOrderError, 409, "Order exists"),
    (IllegalTransitionError, 409, "Transition not allowed"),
    (InvalidOrderError, 422, "Invalid order"),
    (MasterDataError, 422, "Invalid master data"),
    (CountRejectedError, 409, "Count refused"),
    (ImportRejectedError, 422, "Import refused"),
    (ConcurrentChangeError, 409, "Changed meanwhile"),
):
    register_status(error, status, title)


class OrderRequest(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    product: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000_000)
    due: str = Field(description="ISO 8601 (UTC when no offset is given)")
    release: str | None = Field(None, description="Earliest start; now when omitted")
    priority: int = Field(1, ge=1, le=10)
    counting: Literal["machine", "operator", "both"] | None = None


class TransitionRequest(BaseModel):
    to: str = Field(description=f"One of {', '.join(STATES)}")
    asset: str | None = Field(None, description="Where it runs (when it starts running)")


class CountRequest(BaseModel):
    asset: str
    good: int = Field(0, ge=0, le=100_000)
    scrap: int = Field(0, ge=0, le=100_000)
    operation: int | None = Field(None, ge=0)


CHANGE_ATTEMPTS = 3
"""Tries of a person's change that lost a race with the platform's own bookkeeping."""


async def changed(platform: PlatformPort, work: Callable[[], tuple[T, list[Event]]]) -> T:
    """Run a change in a worker thread, then publish its events. A change that found the
    order changed meanwhile (the planner marking it scheduled, the counters booking a
    part) is tried again on the order as it is now, where its rules are checked again:
    a person should not be told to retry what the platform itself raced."""
    for attempt in range(1, CHANGE_ATTEMPTS + 1):
        try:
            value, events = await asyncio.to_thread(work)
            break
        except ConcurrentChangeError:
            if attempt == CHANGE_ATTEMPTS:
                raise
    for event in events:
        await platform.emit(event)
    return value


async def view(platform: PlatformPort, order_id: str) -> dict[str, Any]:
    mom = platform.mom.service
    order = await asyncio.to_thread(mom.order, order_id)
    _, routings = await asyncio.to_thread(mom.master)
    plans = await asyncio.to_thread(mom.plans)
    return order_view(order, routings.get(order.routing), plans[0] if plans else None)


def _time(text: str, name: str, now_ns: int) -> int:
    try:
        return parse_time_ns(text, now_ns=now_ns)
    except (ValueError, QueryError) as exc:
        raise QueryError(f"{name}: {exc}") from None


@router.get("/orders", response_model=None)
async def order_list(
    request: Request,
    state: list[str] | None = Query(None, description="Only these states"),
    site: str | None = Query(
        None,
        max_length=300,
        description="Only orders whose routing or "
        "current asset lies under this asset path (a site, area or line)",
    ),
    due_from: str | None = Query(None, alias="from", description="Due at or after (ISO 8601)"),
    due_to: str | None = Query(None, alias="to", description="Due before (ISO 8601)"),
    limit: int = Query(1000, ge=1, le=1000),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    _: object = require("plant:read", scope_from=ENTERPRISE_WIDE),
) -> Response:
    """Orders by due date, then id (a stable order), with their live counts, current
    operation and ETA; ``next_cursor`` fetches the next page (null on the last). Answers
    304 when ``If-None-Match`` holds the ETag of an unchanged page."""
    bad = [s for s in state or [] if s not in STATES]
    if bad:
        raise QueryError(f"unknown state(s) {', '.join(bad)}: use {', '.join(STATES)}")
    platform = platform_of(request)
    now = platform.clock.now_ns()
    after = decode_cursor(cursor, length=2) if cursor else None
    mom = platform.mom.service
    _, routings = await asyncio.to_thread(mom.master)
    keep = _on_site(site.strip("/"), routings) if site else (lambda _: True)
    orders, more = await asyncio.to_thread(
        lambda: mom.order_page(
            states=state, limit=limit, keep=keep,
            due_from_ns=_time(due_from, "from", now) if due_from else None,
            due_to_ns=_time(due_to, "to", now) if due_to else None,
            after=(int(after[0]), str(after[1])) if after else None,
        )
    )  # fmt: skip
    plans = await asyncio.to_thread(mom.plans)
    plan = plans[0] if plans else None
    body = {
        "orders": [order_view(o, routings.get(o.routing), plan) for o in orders],
        "next_cursor": encode_cursor([orders[-1].due_ns, orders[-1].id]) if more else None,
    }
    return etag_response(request, body)


def _on_site(prefix: str, routings: Mapping[str, Routing]) -> Callable[[ProductionOrder], bool]:
    def under(asset: str | None) -> bool:
        return asset is not None and (asset == prefix or asset.startswith(prefix + "/"))

    def keep(order: ProductionOrder) -> bool:
        routing = routings.get(order.routing)
        assets = [o.asset for s in routing.steps for o in s.options] if routing else []
        return under(order.asset) or any(under(a) for a in assets)

    return keep


@router.post("/orders", status_code=201)
async def create_order(
    request: Request,
    body: OrderRequest,
    _: object = require("orders:write", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Release one order."""
    platform = platform_of(request)
    now = platform.clock.now_ns()
    new = NewOrder(
        id=body.id,
        product=body.product,
        quantity=body.quantity,
        due_ns=_time(body.due, "due", now),
        release_ns=_time(body.release, "release", now) if body.release else None,
        priority=body.priority,
        counting=body.counting,
    )
    await changed(platform, lambda: platform.mom.service.create_orders([new]))
    return await view(platform, body.id)


@router.post("/orders/import", status_code=201)
async def import_orders(
    request: Request, _: object = require("orders:write", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Release every order of a CSV body (``text/csv``), all or none."""
    platform = platform_of(request)
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise ImportRejectedError(f"the file is larger than {MAX_CSV_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRejectedError("the file is not UTF-8 text") from None
    new = parse_orders_csv(text, now_ns=platform.clock.now_ns())
    created = await changed(platform, lambda: platform.mom.service.create_orders(new))
    return {"created": [o.id for o in created]}


@router.get("/orders/{order_id}")
async def order_detail(
    request: Request, order_id: str, _: object = require("plant:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    return await view(platform_of(request), order_id)


@router.get("/orders/{order_id}/history")
async def order_history(
    request: Request, order_id: str, _: object = require("plant:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """What the ERP did to an order (created, updated, cancelled), oldest first: when,
    from which inbound source, and each changed field's old and new value; 404 for an
    order PlantOS does not have, an empty list for one released in PlantOS itself."""
    mom = platform_of(request).mom.service
    await asyncio.to_thread(mom.order, order_id)
    entries = await asyncio.to_thread(mom.order_history, order_id)
    return {"order": order_id, "history": [history_view(e) for e in entries]}


@router.post("/orders/{order_id}/transition")
async def transition(
    request: Request,
    order_id: str,
    body: TransitionRequest,
    _: object = require("orders:write", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Move an order to another state; 409 names the moves its state allows."""
    platform = platform_of(request)
    mom = platform.mom.service
    await changed(platform, lambda: mom.transition(order_id, body.to, asset=body.asset))
    return await view(platform, order_id)


@router.post("/orders/{order_id}/counts")
async def operator_count(
    request: Request,
    order_id: str,
    body: CountRequest,
    _: object = require("orders:count", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Book parts an operator counted (or scrap found at the bench) to one order, through
    the same path as the machines' counts; refused when the order counts otherwise."""
    platform = platform_of(request)
    if body.asset not in platform.plant.assets:
        raise MasterDataError(f"unknown asset {body.asset!r}")
    count = Count(
        "operator", body.asset, platform.clock.now_ns(), body.good, body.scrap, body.operation
    )
    await changed(platform, lambda: platform.mom.service.book_for(order_id, count))
    return await view(platform, order_id)
