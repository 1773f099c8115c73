"""The planner's pages: orders with live progress, one order in detail, and the schedule
of a line as a Gantt chart (the plan in force beside the one before it).

Forms post to these routes, which call the same service as the API in a worker thread
and redirect back with a message; ``/static/orders.js`` refreshes the progress from the
API every few seconds.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from plantos.api.auth import ENTERPRISE_WIDE, platform_of
from plantos.api.orders import changed
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import parse_time_ns
from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.csv_import import parse_orders_csv
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.views import order_view
from plantos.security import Identity
from plantos.ui.gantt import WIDTH_PX, Window, axis, chart
from plantos.ui.quality_pages import lots_shown
from plantos.ui.render import PlantTime, page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _back(url: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?message={quote(message)}", status_code=303)


@router.get("/orders", response_class=HTMLResponse)
async def orders_page(
    request: Request,
    message: str = "",
    identity: Identity = page_require("plant:read", scope_from=ENTERPRISE_WIDE),
) -> HTMLResponse:
    """Every order by due date with its live counts; forms to release and import."""
    mom = platform_of(request).mom.service
    orders = await asyncio.to_thread(mom.orders)
    products, routings = await asyncio.to_thread(mom.master)
    views = [order_view(o, routings.get(o.routing)) for o in orders]
    return page(
        request, "orders.html", {"orders": views, "products": sorted(products), "message": message}
    )


@router.post("/orders")
async def create_form(
    request: Request,
    order_id: Annotated[str, Form()],
    product: Annotated[str, Form()],
    quantity: Annotated[int, Form()],
    due: Annotated[str, Form()],
    priority: Annotated[int, Form()] = 1,
    identity: Identity = page_require("orders:write", scope_from=ENTERPRISE_WIDE),
) -> RedirectResponse:
    platform = platform_of(request)
    try:
        now = platform.clock.now_ns()
        new = NewOrder(
            order_id.strip(), product, quantity, parse_time_ns(due, now_ns=now), None, priority
        )
        await changed(platform, lambda: platform.mom.service.create_orders([new]))
    except (PlantOSError, ValueError) as exc:
        return _back("/orders", f"Not released: {exc}")
    return _back("/orders", f"Released {new.id}")


@router.post("/orders/import")
async def import_form(
    request: Request,
    file: UploadFile,
    identity: Identity = page_require("orders:write", scope_from=ENTERPRISE_WIDE),
) -> RedirectResponse:
    platform = platform_of(request)
    raw = await file.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(raw) > MAX_UPLOAD_BYTES:
            raise PlantOSError(f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
        new = parse_orders_csv(raw.decode("utf-8", errors="strict"), now_ns=platform.clock.now_ns())
        created = await changed(platform, lambda: platform.mom.service.create_orders(new))
    except (PlantOSError, UnicodeDecodeError) as exc:
        return _back("/orders", f"Nothing imported: {exc}")
    return _back("/orders", f"Imported {len(created)} orders")


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(
    request: Request,
    order_id: str,
    message: str = "",
    identity: Identity = page_require("plant:read", scope_from=ENTERPRISE_WIDE),
) -> HTMLResponse:
    """One order: counts per operation, where and when it ran, the moves it can make."""
    mom = platform_of(request).mom.service
    try:
        order = await asyncio.to_thread(mom.order, order_id)
    except PlantOSError as exc:
        return page(request, "order.html", {"order": None, "error": str(exc)}, status_code=404)
    _, routings = await asyncio.to_thread(mom.master)
    routing = routings.get(order.routing)
    assets = sorted({o.asset for s in routing.steps for o in s.options}) if routing else []
    plans = await asyncio.to_thread(mom.plans)
    context = {
        "order": order_view(order, routing, plans[0] if plans else None),
        "assets": assets,
        "lots": await lots_shown(request, identity, order=order.id),
        "back": f"/orders/{quote(order.id, safe='')}",
        "message": message,
        "error": None,
    }
    return page(request, "order.html", context)


@router.post("/orders/{order_id}/transition")
async def transition_form(
    request: Request,
    order_id: str,
    to: Annotated[str, Form()],
    asset: Annotated[str, Form()] = "",
    identity: Identity = page_require("orders:write", scope_from=ENTERPRISE_WIDE),
) -> RedirectResponse:
    platform = platform_of(request)
    mom = platform.mom.service
    try:
        await changed(platform, lambda: mom.transition(order_id, to, asset=asset or None))
    except PlantOSError as exc:
        return _back(f"/orders/{quote(order_id)}", str(exc))
    return _back(f"/orders/{quote(order_id)}", f"{order_id} is {to}")


@router.post("/orders/{order_id}/counts")
async def count_form(
    request: Request,
    order_id: str,
    asset: Annotated[str, Form()],
    good: Annotated[int, Form()] = 0,
    scrap: Annotated[int, Form()] = 0,
    identity: Identity = page_require("orders:count", scope_from=ENTERPRISE_WIDE),
) -> RedirectResponse:
    """Parts an operator counted, or scrap found among counted parts, booked to the order."""
    platform = platform_of(request)
    back = f"/orders/{quote(order_id)}"
    try:
        if asset not in platform.plant.assets:
            raise PlantOSError(f"unknown asset {asset!r}")
        count = Count("operator", asset, platform.clock.now_ns(), good, scrap)
        await changed(platform, lambda: platform.mom.service.book_for(order_id, count))
    except PlantOSError as exc:
        return _back(back, f"Not booked: {exc}")
    return _back(back, f"Booked {good} good, {scrap} scrap")


@router.get("/schedule", response_class=HTMLResponse)
async def schedule_page(
    request: Request,
    line: str = "",
    identity: Identity = page_require("plant:read", scope_from=ENTERPRISE_WIDE),
) -> HTMLResponse:
    """The plan of one line as a Gantt chart, beside the plan before the last recalculation."""
    platform = platform_of(request)
    plans = await asyncio.to_thread(platform.mom.service.plans)
    lines = _lines(platform.plant, plans)
    chosen = line if line in lines else next(iter(lines), "")
    assets = lines.get(chosen, [])
    windows = await asyncio.to_thread(_windows, platform)
    span = axis(plans, assets, windows)
    when = PlantTime(platform.plant, chosen)
    charts = []
    if plans:
        before = plans[1] if len(plans) > 1 else None
        charts.append(
            chart("Current plan", plans[0], assets, span, before, windows=windows, when=when)
        )
    if len(plans) > 1:
        charts.append(
            chart(
                "Before the last recalculation", plans[1], assets, span, None,
                windows=windows, when=when,
            )
        )  # fmt: skip
    changes = list(platform.mom.changes)[-10:]
    context: dict[str, Any] = {
        "lines": list(lines),
        "line": chosen,
        "zone_path": chosen,
        "assets": assets,
        "charts": charts,
        "width": WIDTH_PX,
        "span": (when(span[0] * NS), when(span[1] * NS)) if plans else None,
        "planner": platform.mom.planner is not None,
        "solver_names": SOLVER_NAMES,
        "changes": [
            {
                "at": when(c.at_ns),
                "trigger": c.trigger,
                "asset": c.asset,
                "solver": SOLVER_NAMES.get(c.solver, c.solver),
                "moved": len(c.moved),
                "late": ", ".join(c.late_orders),
                "solve": human_duration_ms(c.solve_ms),
            }
            for c in reversed(changes)
        ],
        "down": sorted(platform.mom.down),
    }
    return page(request, "schedule.html", context)


SOLVER_NAMES = {"repair": "repaired at once", "cp-sat": "CP-SAT", "dispatch": "dispatcher"}
"""How the schedule page names the way a plan was made."""


def human_duration_ms(ms: float) -> str:
    """``26 ms`` below a second, ``4.2 s`` above."""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _windows(platform: Any) -> list[Window]:
    """The maintenance windows of scheduled and running work orders."""
    orders = platform.maintenance.service.list(states=("scheduled", "in_progress"))
    return [
        Window(o.id, o.asset, o.window.start_ns // NS, -(-o.window.end_ns // NS))
        for o in orders
        if o.window is not None
    ]


def _lines(plant: Any, plans: list[Any]) -> dict[str, list[str]]:
    """Lines with planned work, each with its assets in plant order."""
    planned = {o.asset for p in plans for o in p.operations}
    out: dict[str, list[str]] = {}
    for path in plant.assets:
        if path in planned:
            out.setdefault(path.rsplit("/", 1)[0], [])
    for path in plant.assets:
        line = path.rsplit("/", 1)[0]
        if line in out:
            out[line].append(path)
    return out
