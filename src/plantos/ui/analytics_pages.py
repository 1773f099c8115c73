"""The analytics pages: an SPC chart per characteristic and the health of each watched spindle.

Each page without a choice lists what can be chosen, so an operator never lands on an
empty chart. The handlers are ``async``: they read the analytics state on the event loop
that changes it, never from a worker thread in the middle of an update. The chart and
the health view are drawn in the browser from the same ``/api/v1`` answers an
integration reads, with the session cookie.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from plantos.analytics.stage import anomaly_alarm_id
from plantos.api.auth import FILTERED, platform_of
from plantos.api.judgements import characteristics
from plantos.security import Identity
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)


@router.get("/spc", response_class=HTMLResponse)
async def spc_page(
    request: Request,
    tag: str = "",
    identity: Identity = page_require("analytics:read", scope_from=FILTERED),
) -> HTMLResponse:
    """The control chart of one characteristic; the list of characteristics without ``tag``."""
    platform = platform_of(request)
    configured = characteristics(platform)
    path = tag.strip().strip("/")
    listing = [
        {
            "tag": spec.tag,
            "chart": spec.chart.value,
            "limits": "rolling" if spec.limits.rolling is not None else "baseline",
            "plotted": monitor.plotted,
            "frozen": monitor.limits is not None,
        }
        for spec, monitor in configured
        if identity.sees(spec.tag)
    ]
    if not path:
        return page(request, "spc.html", {"path": "", "characteristics": listing, "error": None})
    chosen = next((s for s, _ in configured if s.tag == path and identity.sees(path)), None)
    if chosen is None:
        known = path in platform.plant.tags
        error = (
            f"Tag {path!r} has no SPC characteristic: add it to the analytics section."
            if known
            else f"Unknown tag {path!r}: no tag with this path in the plant model."
        )
        return page(
            request,
            "spc.html",
            {"path": path, "characteristics": listing, "error": error},
            status_code=404,
        )
    return page(
        request,
        "spc.html",
        {"path": path, "chart": chosen.chart.value, "characteristics": listing, "error": None},
    )


@router.get("/health", response_class=HTMLResponse)
async def health_page(
    request: Request,
    asset: str = "",
    identity: Identity = page_require("analytics:read", scope_from=FILTERED),
) -> HTMLResponse:
    """The anomaly score, evidence and alarm of one watched spindle; the list without ``asset``."""
    platform = platform_of(request)
    plant = platform.plant
    alarms = platform.analytics.alarms
    watched = [
        {
            "asset": w.asset,
            "name": plant.assets[w.asset].name,
            "trained": w.trained,
            "rows_seen": w.rows_seen,
            "standstill_rows": w.standstill_rows,
            "velocity_mm_s": w.severity.level,
            "zone": w.severity.zone,
            "alarm": alarms.status(anomaly_alarm_id(w.asset)).state.value,
        }
        for w in platform.analytics.spindles
        if identity.sees(w.asset)
    ]
    path = asset.strip().strip("/")
    if not path:
        return page(request, "health.html", {"path": "", "watched": watched, "error": None})
    chosen = next((w for w in watched if w["asset"] == path), None)
    if chosen is None:
        error = (
            f"Asset {path!r} has no spindle watch: only watched spindles have a health view."
            if path in plant.assets
            else f"Unknown asset {path!r}: no asset with this path in the plant model."
        )
        return page(
            request,
            "health.html",
            {"path": path, "watched": watched, "error": error},
            status_code=404,
        )
    return page(
        request,
        "health.html",
        {"path": path, "asset_name": chosen["name"], "watched": watched, "error": None},
    )
