"""The maintenance history of one asset: its reliability over a range (MTBF, MTTR and
availability, per failure mode, from the historian's machine states) above its work
orders, newest first."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from plantos.api.auth import path_param, platform_of
from plantos.api.reliability import reliability_of
from plantos.api.workorders import work_order_view
from plantos.core.errors import QueryError
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)


@router.get("/assets/{asset:path}/maintenance", response_class=HTMLResponse)
async def asset_maintenance_page(
    request: Request,
    asset: str,
    start: str = Query("-30d", alias="from"),
    end: str = Query("now", alias="to"),
    _: object = page_require("plant:read", scope_from=path_param("asset")),
) -> HTMLResponse:
    """A bad range is shown on the page (400) with the work orders still listed."""
    platform = platform_of(request)
    orders = await asyncio.to_thread(platform.maintenance.service.list, asset=asset)
    context: dict[str, Any] = {
        "path": asset,
        "start": start,
        "end": end,
        "orders": [work_order_view(o) for o in sorted(orders, key=lambda o: -o.opened_ns)],
        "figures": None,
        "error": "",
    }
    try:
        figures = await reliability_of(platform, asset, start, end)
    except QueryError as exc:
        return page(
            request, "asset_maintenance.html", context | {"error": str(exc)}, status_code=400
        )
    rows = [("all failures", figures), *figures["failure_modes"].items()]
    context["figures"] = figures
    context["rows"] = [_row(name, f) for name, f in rows]
    context["uptime_share"] = _ratio(figures["uptime_share"])
    return page(request, "asset_maintenance.html", context)


def _row(name: str, f: dict[str, Any]) -> dict[str, str]:
    return {
        "mode": name,
        "failures": str(f["failures"]),
        "mtbf": _hours(f["mtbf_s"]),
        "mttr": _hours(f["mttr_s"]),
        "availability": _ratio(f["availability"]),
        "down": _hours(f["down_s"]),
    }


def _hours(seconds: float | None) -> str:
    """Hours with two decimals; an undefined figure (no failure) as a dash, never infinity."""
    return "-" if seconds is None else f"{seconds / 3600:.2f} h"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
