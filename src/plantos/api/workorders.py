"""Work orders and station notifications over HTTP.

Work orders are listed under a plant path and changed under their asset's path, so
every grant is checked against the asset the job is on. Station notifications are read
and acknowledged under their line's path, and pushed to the station page as server-sent
events. Database calls run in worker threads; refusals answer 4xx with the reason, are
audited, and change nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from plantos.api.auth import path_param, platform_of, query_param, require
from plantos.api.errors import register_status
from plantos.core.errors import PlantOSError, QueryError
from plantos.core.timeparse import iso, parse_time_ns
from plantos.integration.notify import store
from plantos.integration.notify.store import Notification, NotificationError
from plantos.loops.maintenance import TRIGGER
from plantos.mom.maintenance.errors import (
    IllegalWorkOrderTransitionError,
    InvalidWorkOrderError,
    UnknownFailureCodeError,
    UnknownWorkOrderError,
)
from plantos.mom.maintenance.uow import MaintenanceUnitOfWork
from plantos.mom.maintenance.workorder import STATES, Window, WorkOrder
from plantos.security import Identity
from plantos.security.scope import covers

router = APIRouter(tags=["maintenance"])
T = TypeVar("T")

for error, status, title in (
    (UnknownWorkOrderError, 404, "Unknown work order"),
    (IllegalWorkOrderTransitionError, 409, "Transition not allowed"),
    (InvalidWorkOrderError, 422, "Invalid work order"),
    (UnknownFailureCodeError, 422, "Unknown failure code"),
    (NotificationError, 409, "Notification refused"),
):
    register_status(error, status, title)


class WorkOrderRequest(BaseModel):
    kind: Literal["corrective", "preventive"]
    title: str = Field(min_length=1, max_length=300)
    priority: int = Field(3, ge=1, le=4)
    failure_mode: str | None = Field(None, max_length=16)
    mechanism: str | None = Field(None, max_length=16)
    cause: str | None = Field(None, max_length=16)


class WorkOrderTransition(BaseModel):
    to: str = Field(description=f"One of {', '.join(STATES)}")
    note: str = Field("", max_length=500)
    remedy: str | None = Field(None, max_length=2000)
    mechanism: str | None = Field(None, max_length=16)
    cause: str | None = Field(None, max_length=16)


class WindowRequest(BaseModel):
    start: str = Field(description="ISO 8601 (UTC when no offset is given)")
    end: str


class LabourRequest(BaseModel):
    person: str = Field(min_length=1, max_length=200)
    hours: float = Field(gt=0, le=24)


class PartRequest(BaseModel):
    part: str = Field(min_length=1, max_length=100)
    quantity: int = Field(gt=0, le=100_000)


def work_order_view(o: WorkOrder) -> dict[str, Any]:
    return {
        "id": o.id, "asset": o.asset, "kind": o.kind, "title": o.title, "state": o.state,
        "priority": o.priority, "failure_mode": o.failure_mode, "mechanism": o.mechanism,
        "cause": o.cause, "remedy": o.remedy, "opened": iso(o.opened_ns),
        "opened_by": o.opened_by, "estimated_failure": _iso(o.estimated_failure_ns),
        "window": {"start": iso(o.window.start_ns), "end": iso(o.window.end_ns)}
        if o.window else None,
        "last_service": _iso(o.last_service_ns), "repeat_of": o.repeat_of,
        "affected_orders": o.affected_orders, "evidence": o.evidence, "labour": o.labour,
        "parts": o.parts,
        "transitions": [{**t, "at": iso(t["at_ns"])} for t in o.transitions],
    }  # fmt: skip


def notification_view(n: Notification) -> dict[str, Any]:
    return {
        "id": str(n.id), "asset": n.asset, "kind": n.kind, "priority": n.priority,
        "reference": n.reference, "title": n.title, "at": iso(n.created_ns), "state": n.state,
        "occurrences": n.occurrences, "acknowledged_by": n.acknowledged_by,
        "acknowledged_at": n.acknowledged_at.isoformat() if n.acknowledged_at else None,
    }  # fmt: skip


def _iso(ns: int | None) -> str | None:
    return iso(ns) if ns is not None else None


async def audited(
    request: Request, identity: Identity, action: str, target: str, work: Callable[[], T]
) -> T:
    """Run ``work`` in a worker thread; a refusal is written to the audit trail, then raised."""
    audit = platform_of(request).audit
    try:
        value = await asyncio.to_thread(work)
    except PlantOSError as exc:
        await asyncio.to_thread(
            audit.append, identity.subject, action, target, outcome="failed", reason=str(exc)
        )
        raise
    await asyncio.to_thread(audit.append, identity.subject, action, target)
    return value


@router.get("/workorders")
async def work_order_list(
    request: Request,
    asset: str = Query("", description="A plant path: the work orders at or below it"),
    state: list[str] | None = Query(None, description="Only these states"),
    identity: Identity = require("plant:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """Work orders at or below ``asset`` (the caller's whole scope when empty), newest first."""
    bad = [s for s in state or [] if s not in STATES]
    if bad:
        raise QueryError(f"unknown state(s) {', '.join(bad)}: use {', '.join(STATES)}")
    service = platform_of(request).maintenance.service
    orders = await asyncio.to_thread(service.list, states=state)
    prefix = asset.strip("/") or identity.scope
    return {
        "work_orders": [
            work_order_view(o) for o in orders
            if covers(prefix, o.asset) and covers(identity.scope, o.asset)
        ]
    }  # fmt: skip


@router.post("/assets/{asset:path}/workorders", status_code=201)
async def request_work_order(
    request: Request,
    asset: str,
    body: WorkOrderRequest,
    identity: Identity = require("workorders:write", scope_from=path_param("asset")),
) -> dict[str, Any]:
    """Open a corrective or preventive work order on ``asset`` by hand."""
    service = platform_of(request).maintenance.service
    order, _ = await audited(
        request, identity, "workorder.request", asset,
        lambda: service.request(
            asset=asset, kind=body.kind, title=body.title, by=identity.subject,
            priority=body.priority, failure_mode=body.failure_mode,
            mechanism=body.mechanism, cause=body.cause,
        ),
    )  # fmt: skip
    return work_order_view(order)


@router.post("/assets/{asset:path}/workorders/{work_order_id}/transition")
async def move_work_order(
    request: Request,
    asset: str,
    work_order_id: str,
    body: WorkOrderTransition,
    identity: Identity = require("workorders:write", scope_from=path_param("asset")),
) -> dict[str, Any]:
    """Move a work order of ``asset``; 409 names the moves its state allows. Moving one
    with a window asks the planner for a new plan (scheduled: the window is blocked)."""
    service = platform_of(request).maintenance.service
    codes = {k: v for k, v in body.model_dump().items() if k in ("remedy", "mechanism", "cause")}
    fields = {k: v for k, v in codes.items() if v is not None}
    order = await _change_on_asset(
        request, identity, asset, work_order_id, f"workorder.{body.to}",
        lambda: service.transition(
            work_order_id, body.to, by=identity.subject, note=body.note, **fields
        ),
    )  # fmt: skip
    replan_for(request, order)
    return work_order_view(order)


@router.post("/assets/{asset:path}/workorders/{work_order_id}/window")
async def set_window(
    request: Request,
    asset: str,
    work_order_id: str,
    body: WindowRequest,
    identity: Identity = require("workorders:write", scope_from=path_param("asset")),
) -> dict[str, Any]:
    """Give a job not yet started its window (or move it); a scheduled one is replanned."""
    platform = platform_of(request)
    service = platform.maintenance.service
    now = platform.clock.now_ns()
    window = Window(_time(body.start, "start", now), _time(body.end, "end", now))

    def work() -> WorkOrder:
        def change(uow: MaintenanceUnitOfWork) -> WorkOrder:
            order = uow.work_orders.get(work_order_id)
            _on_asset(order, asset)
            order.propose_window(window, by=identity.subject, at_ns=now)
            return order

        return service.change(change)[0]

    order = await audited(request, identity, "workorder.window", work_order_id, work)
    if order.state == "scheduled":
        replan_for(request, order)
    return work_order_view(order)


def _time(text: str, name: str, now_ns: int) -> int:
    try:
        return parse_time_ns(text, now_ns=now_ns)
    except (ValueError, QueryError) as exc:
        raise QueryError(f"{name}: {exc}") from None


@router.post("/assets/{asset:path}/workorders/{work_order_id}/labour")
async def book_labour(
    request: Request,
    asset: str,
    work_order_id: str,
    body: LabourRequest,
    identity: Identity = require("workorders:write", scope_from=path_param("asset")),
) -> dict[str, Any]:
    """Hours someone worked on a started or finished job."""
    service = platform_of(request).maintenance.service
    order = await _change_on_asset(
        request, identity, asset, work_order_id, "workorder.labour",
        lambda: service.record_labour(
            work_order_id, person=body.person, hours=body.hours, by=identity.subject
        ),
    )  # fmt: skip
    return work_order_view(order)


@router.post("/assets/{asset:path}/workorders/{work_order_id}/parts")
async def book_part(
    request: Request,
    asset: str,
    work_order_id: str,
    body: PartRequest,
    identity: Identity = require("workorders:write", scope_from=path_param("asset")),
) -> dict[str, Any]:
    """A spare part used on a started or finished job."""
    service = platform_of(request).maintenance.service
    order = await _change_on_asset(
        request, identity, asset, work_order_id, "workorder.part",
        lambda: service.record_part(
            work_order_id, part=body.part, quantity=body.quantity, by=identity.subject
        ),
    )  # fmt: skip
    return work_order_view(order)


async def _change_on_asset(
    request: Request,
    identity: Identity,
    asset: str,
    work_order_id: str,
    action: str,
    change: Callable[[], tuple[WorkOrder, Any]],
) -> WorkOrder:
    """Run ``change`` on a work order reached through ``asset``'s path (the grant that
    was checked), audited as ``action`` whether it succeeds or is refused."""
    service = platform_of(request).maintenance.service

    def work() -> WorkOrder:
        _on_asset(service.get(work_order_id), asset)
        return change()[0]

    return await audited(request, identity, action, work_order_id, work)


def _on_asset(order: WorkOrder, asset: str) -> None:
    """Refuse a work order reached through another asset's path (the grant checked)."""
    if order.asset != asset:
        raise UnknownWorkOrderError(f"no work order {order.id!r} on {asset}")


def replan_for(request: Request, order: WorkOrder) -> None:
    """A work order with a window was approved, scheduled, dropped or closed: the plan
    must block (or free) that window, so the planner is asked for a new one."""
    if order.window is not None:
        platform_of(request).mom.trigger(TRIGGER, order.asset)


@router.get("/stations/{path:path}/notifications")
async def station_notifications(
    request: Request,
    path: str,
    open_only: bool = Query(True, description="Only those waiting for an acknowledgement"),
    identity: Identity = require("plant:read", scope_from=path_param("path")),
) -> dict[str, Any]:
    """The notifications of the station of line ``path``, newest first."""
    engine = platform_of(request).maintenance.service.engine
    states = ("open",) if open_only else None
    found = await asyncio.to_thread(store.listing, engine, station=path.strip("/"), states=states)
    return {"station": path.strip("/"), "notifications": [notification_view(n) for n in found]}


@router.post("/stations/{path:path}/notifications/{notification_id}/acknowledge")
async def acknowledge_notification(
    request: Request,
    path: str,
    notification_id: str,
    identity: Identity = require("alarms:ack", scope_from=path_param("path")),
) -> dict[str, Any]:
    """A person at the station confirms they saw it; refused when acknowledged already."""
    platform = platform_of(request)
    engine = platform.maintenance.service.engine
    try:
        key = uuid.UUID(notification_id)
    except ValueError:
        raise QueryError(f"not a notification id: {notification_id!r}") from None

    def work() -> Notification:
        mine = store.listing(engine, station=path.strip("/"), limit=10_000)
        if key not in {n.id for n in mine}:
            raise NotificationError(f"no notification {notification_id} on station {path}")
        at = datetime.fromtimestamp(platform.clock.now_ns() / 1e9, tz=UTC)
        return store.acknowledge(engine, key, by=identity.subject, at=at)

    done = await audited(request, identity, "notification.acknowledge", notification_id, work)
    return notification_view(done)


@router.get("/stations/{path:path}/stream")
async def station_stream(
    request: Request,
    path: str,
    interval_ms: int = Query(1000, ge=100, le=60_000),
    identity: Identity = require("plant:read", scope_from=path_param("path")),
) -> EventSourceResponse:
    """Server-sent events named ``notifications``: the station's open notifications, first
    at once, then whenever they change (a new one, one folded in, one acknowledged)."""
    engine = platform_of(request).maintenance.service.engine
    station = path.strip("/")

    async def events() -> AsyncIterator[dict[str, str]]:
        sent = ""
        while True:
            found = await asyncio.to_thread(
                store.listing, engine, station=station, states=("open",)
            )
            data = json.dumps([notification_view(n) for n in found])
            if data != sent:
                sent = data
                yield {"event": "notifications", "data": data}
            await asyncio.sleep(interval_ms / 1000)
            if await request.is_disconnected():
                return

    return EventSourceResponse(events(), ping=15)
