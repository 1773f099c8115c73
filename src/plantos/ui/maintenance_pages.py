"""The maintenance pages: the work-order board, the index of lines and machines, and the
operator station of a line with its notifications (pushed by server-sent events, see
``/static/station.js``) and a button to acknowledge each one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from plantos.api.auth import FILTERED, path_param, platform_of
from plantos.api.plans import PlanAction, change_plan
from plantos.api.workorders import notification_view, replan_for, work_order_view
from plantos.core.errors import PlantOSError
from plantos.integration.notify import store
from plantos.mom.maintenance.errors import UnknownWorkOrderError
from plantos.mom.maintenance.workorder import ALLOWED, STATES, WorkOrder
from plantos.security import Identity
from plantos.security.scope import covers
from plantos.ui.entry_pages import entry_context
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)


@router.get("/maintenance", response_class=HTMLResponse)
async def board_page(
    request: Request,
    message: str = "",
    identity: Identity = page_require("plant:read", scope_from=FILTERED),
) -> HTMLResponse:
    """Every work order in the caller's scope, one column per state, most urgent first;
    below them the preventive plans with their next due date or meter reading."""
    service = platform_of(request).maintenance.service
    orders = [o for o in await asyncio.to_thread(service.list) if covers(identity.scope, o.asset)]
    columns = {
        state: [work_order_view(o) for o in sorted(orders, key=lambda o: (o.priority, o.opened_ns))
                if o.state == state]
        for state in STATES
    }  # fmt: skip
    moves = {state: sorted(ALLOWED[state]) for state in STATES}
    views = await asyncio.to_thread(platform_of(request).maintenance.preventive.list)
    plans = [v.to_dict() for v in views if covers(identity.scope, v.plan.asset)]
    return page(
        request,
        "maintenance.html",
        {"columns": columns, "moves": moves, "message": message, "plans": plans},
    )


@router.post("/assets/{asset:path}/workorders/{work_order_id}/move")
async def move_form(
    request: Request,
    asset: str,
    work_order_id: str,
    to: Annotated[str, Form()],
    identity: Identity = page_require("workorders:write", scope_from=path_param("asset")),
) -> RedirectResponse:
    """The board's buttons: approve, schedule, start, finish or cancel a work order."""
    platform = platform_of(request)
    service = platform.maintenance.service

    def work() -> WorkOrder:
        if service.get(work_order_id).asset != asset:
            raise UnknownWorkOrderError(f"no work order {work_order_id!r} on {asset}")
        return service.transition(work_order_id, to, by=identity.subject)[0]

    try:
        order = await asyncio.to_thread(work)
    except PlantOSError as exc:
        await asyncio.to_thread(
            platform.audit.append, identity.subject, f"workorder.{to}", work_order_id,
            outcome="failed", reason=str(exc),
        )  # fmt: skip
        return RedirectResponse(f"/maintenance?message={quote(str(exc))}", status_code=303)
    await asyncio.to_thread(
        platform.audit.append, identity.subject, f"workorder.{to}", work_order_id
    )
    replan_for(request, order)
    message = f"{order.id} is {order.state.replace('_', ' ')}"
    return RedirectResponse(f"/maintenance?message={quote(message)}", status_code=303)


@router.post("/maintenance/plans/{plan_id}/{action}")
async def plan_form(
    request: Request,
    plan_id: str,
    action: PlanAction,
    identity: Identity = page_require("workorders:write", scope_from=FILTERED),
) -> RedirectResponse:
    """The plans table's buttons: disable, enable or delete a plan (checked on its asset
    and audited like the API's)."""
    try:
        await change_plan(request, identity, plan_id, action)
    except PlantOSError as exc:
        message = f"Plan {plan_id} not changed: {exc}"
    else:
        message = f"Plan {plan_id} {action}d"
    return RedirectResponse(f"/maintenance?message={quote(message)}#plans", status_code=303)


@router.get("/stations", response_class=HTMLResponse)
def stations_page(
    request: Request, identity: Identity = page_require("plant:read", scope_from=FILTERED)
) -> HTMLResponse:
    """Every line in the caller's scope with a link to its operator station, and its
    machines with a link to each one's maintenance history: neither page has another way
    in from the menus."""
    plant = platform_of(request).plant
    lines = []
    for node in plant.iter_nodes():
        if node.level != "line":
            continue
        machines = [a for a in node.children if identity.sees(a.path)]
        if machines or identity.sees(node.path):
            lines.append({"node": node, "station": identity.sees(node.path), "machines": machines})
    return page(request, "stations.html", {"lines": lines})


@router.get("/stations/{path:path}", response_class=HTMLResponse)
async def station_page(
    request: Request,
    path: str,
    message: str = "",
    identity: Identity = page_require("plant:read", scope_from=path_param("path")),
) -> HTMLResponse:
    """The operator station of line ``path``: its notifications waiting for a person."""
    engine = platform_of(request).maintenance.service.engine
    station = path.strip("/")
    found = await asyncio.to_thread(store.listing, engine, station=station, states=("open",))
    return page(
        request, "station.html",
        {"station": station, "notifications": [notification_view(n) for n in found],
         "message": message, "zone_path": station, **await entry_context(request, station)},
    )  # fmt: skip


@router.post("/stations/{path:path}/acknowledge")
async def acknowledge_form(
    request: Request,
    path: str,
    notification_id: Annotated[str, Form()],
    identity: Identity = page_require("alarms:ack", scope_from=path_param("path")),
) -> RedirectResponse:
    platform = platform_of(request)
    engine = platform.maintenance.service.engine
    station = path.strip("/")

    def work() -> None:
        key = uuid.UUID(notification_id)
        if key not in {n.id for n in store.listing(engine, station=station, limit=10_000)}:
            raise store.NotificationError(f"no notification {notification_id} on this station")
        at = datetime.fromtimestamp(platform.clock.now_ns() / 1e9, tz=UTC)
        store.acknowledge(engine, key, by=identity.subject, at=at)

    try:
        await asyncio.to_thread(work)
        message = "Acknowledged"
    except (PlantOSError, ValueError) as exc:
        await asyncio.to_thread(
            platform.audit.append, identity.subject, "notification.acknowledge",
            notification_id, outcome="failed", reason=str(exc),
        )  # fmt: skip
        message = f"Not acknowledged: {exc}"
    else:
        await asyncio.to_thread(
            platform.audit.append, identity.subject, "notification.acknowledge", notification_id
        )
    return RedirectResponse(f"/stations/{station}?message={quote(message)}", status_code=303)
