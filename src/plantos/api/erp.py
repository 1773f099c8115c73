"""The ERP connectors for IT: their state, lag and dead letters, and replay.

``GET /api/v1/erp/connectors`` lists each connector's pending, delivered and dead
counts, lag (age of the oldest pending message), last delivery and last error;
``GET /api/v1/erp/deadletters`` the messages a receiver refused, with the reason and
the payload; ``POST /api/v1/erp/connectors/{name}/replay`` sends a connector's dead
letters again (all, or those whose ids the body lists) once the cause is fixed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, require
from plantos.api.errors import register_status
from plantos.api.listing import decode_cursor, encode_cursor, etag_response
from plantos.core.errors import QueryError
from plantos.core.timeparse import parse_time_ns
from plantos.integration.erp.b2mml.product_decode import decode_products
from plantos.integration.erp.b2mml.schedule_decode import decode_schedule
from plantos.integration.erp.csv_orders import parse_order_csv
from plantos.integration.erp.csv_products import parse_product_csv
from plantos.integration.erp.errors import ErpDocumentError
from plantos.integration.erp.inbound.orders import import_orders
from plantos.integration.erp.outbox.deliveries import DeliveryFilter, delivery_page
from plantos.integration.erp.outbox.dispatcher import OutboxDispatcher
from plantos.integration.erp.products_import import import_products, outcome_counts
from plantos.security import Identity

router = APIRouter(prefix="/erp", tags=["erp"])
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
register_status(ErpDocumentError, 422, "ERP document refused")


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


@router.get("/connectors", response_model=None)
async def connectors(
    request: Request, _: object = require("system:read", scope_from=ENTERPRISE_WIDE)
) -> Response:
    """Each connector's delivery state: counts, lag in seconds, last delivery, last error."""
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    if dispatcher is None:
        return etag_response(request, {"connectors": []})
    return etag_response(request, {"connectors": await asyncio.to_thread(_statuses, dispatcher)})


@router.get("/deadletters", response_model=None)
async def dead_letters(
    request: Request,
    connector: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=1000),
    _: object = require("system:read", scope_from=ENTERPRISE_WIDE),
) -> Response:
    """The dead letters, oldest first: id (the idempotency key), connector, kind, order,
    attempts, the receiver's reason and the payload."""
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    if dispatcher is None:
        return etag_response(request, {"dead_letters": []})
    letters = await asyncio.to_thread(dispatcher.store.dead_letters, connector, limit=limit)
    return etag_response(request, {"dead_letters": [letter.to_dict() for letter in letters]})


@router.get("/deliveries", response_model=None)
async def delivery_list(
    request: Request,
    connector: str | None = Query(None, max_length=64),
    state: list[Literal["pending", "delivered", "dead"]] | None = Query(None),
    created_from: str | None = Query(None, alias="from", description="Facts from (ISO 8601)"),
    created_to: str | None = Query(None, alias="to", description="Facts before (ISO 8601)"),
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    _: object = require("system:read", scope_from=ENTERPRISE_WIDE),
) -> Response:
    """Every message's delivery state per connector, in outbox order then connector (a
    stable order); ``next_cursor`` fetches the next page. 304 for an unchanged page
    whose ETag ``If-None-Match`` holds."""
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    if dispatcher is None:
        return etag_response(request, {"deliveries": [], "next_cursor": None})
    now = platform_of(request).clock.now_ns()
    where = DeliveryFilter(
        connector=connector, states=tuple(state or ()),
        created_from=_when(created_from, "from", now), created_to=_when(created_to, "to", now),
    )  # fmt: skip
    key = decode_cursor(cursor, length=2) if cursor else None
    after = (int(key[0]), str(key[1])) if key else None
    page, last = await asyncio.to_thread(
        delivery_page, dispatcher.store.engine, where, after=after, limit=limit
    )
    body = {"deliveries": page, "next_cursor": encode_cursor(list(last)) if last else None}
    return etag_response(request, body)


def _when(text: str | None, name: str, now_ns: int) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromtimestamp(parse_time_ns(text, now_ns=now_ns) / 1e9, tz=UTC)
    except (ValueError, QueryError) as exc:
        raise QueryError(f"{name}: {exc}") from None


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


@router.post("/orders")
async def erp_orders(
    request: Request, identity: Identity = require("orders:write", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Production orders from the ERP as a B2MML schedule (``application/xml``) or a CSV
    file (``text/csv``), all or none, through the one inbound path: per order whether it
    was ``created``, ``updated``, ``cancelled`` or ``unchanged`` (a duplicate)."""
    platform = platform_of(request)
    raw, kind = await _document(request)
    products, _ = await asyncio.to_thread(platform.mom.service.master)
    if kind == "xml":
        orders, source = decode_schedule(raw, products=set(products)), "b2mml"
    elif kind == "csv":
        orders, source = parse_order_csv(raw, products=set(products)), "csv"
    else:
        raise HTTPException(415, "send a B2MML schedule as application/xml or CSV as text/csv")
    outcomes, events = await asyncio.to_thread(
        import_orders, platform.mom.service, orders, source=source
    )
    for event in events:
        await platform.emit(event)
    platform.audit.append(identity.subject, "erp.orders", f"{source}: {len(outcomes)} order(s)")
    return {"orders": outcomes}


@router.post("/products")
async def erp_products(
    request: Request, identity: Identity = require("orders:write", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Products (master data) from the ERP as a B2MML V0600 ProductDefinition
    (``application/xml``) or a CSV file (``text/csv``), all or none, each checked as
    ``PUT /api/v1/mom/products/{id}`` checks it: per product whether it was
    ``created``, ``updated`` or ``unchanged``, and how many of each."""
    platform = platform_of(request)
    raw, kind = await _document(request)
    _, routings = await asyncio.to_thread(platform.mom.service.master)
    if kind == "xml":
        products, source = decode_products(raw, routings=set(routings)), "b2mml"
    elif kind == "csv":
        products, source = parse_product_csv(raw, routings=set(routings)), "csv"
    else:
        raise HTTPException(
            415, "send a B2MML ProductDefinition as application/xml or CSV as text/csv"
        )
    outcomes = await asyncio.to_thread(import_products, platform.mom.service, products)
    counts = outcome_counts(outcomes)
    summary = ", ".join(f"{n} {o}" for o, n in counts.items())
    platform.audit.append(identity.subject, "erp.products", f"{source}: {summary}")
    return {**counts, "products": outcomes}


async def _document(request: Request) -> tuple[bytes, str]:
    """An inbound document's bytes (413 beyond :data:`MAX_DOCUMENT_BYTES`) and what it
    says it is: ``xml`` (``application/xml`` or ``text/xml``), ``csv`` (``text/csv``), or
    the content type as sent, which the caller refuses with 415."""
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise HTTPException(413, f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    return raw, {"application/xml": "xml", "text/xml": "xml", "text/csv": "csv"}.get(kind, kind)
