"""The operator pages: the plant tree with live values, and the trend of one tag.

Pages render the plant model in the same shapes the API answers with
(``Node.to_dict``, ``TagDef.to_dict``); the browser then reads live values and
history from ``/api/v1`` with the session cookie.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from plantos.api.auth import ENTERPRISE_WIDE, FILTERED, platform_of, query_param
from plantos.api.plant import visible_tree
from plantos.live import Reporting, tag_reporting
from plantos.live.reporting import sampled
from plantos.model import Plant
from plantos.security import Identity
from plantos.ui.counters import counter, number_text
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)


def _reporting_view(reporting: Reporting) -> dict[str, Any]:
    """What the browser needs to tell a late value: how the tag reports and how often."""
    return {"report": reporting.mode, "period_ms": reporting.period_ms or 0}


def asset_views(
    plant: Plant, identity: Identity, reporting: Mapping[str, Reporting] | None = None
) -> dict[str, dict[str, Any]]:
    """Per asset path in the caller's scope: what the tree shows about the asset and each
    of its tags; a tag missing from ``reporting`` reports at its sampling period."""
    how = reporting or {}
    return {
        path: {
            "name": asset.name,
            "type": asset.type,
            "criticality": asset.criticality,
            "tags": [
                tag.to_dict() | _reporting_view(how.get(tag.path) or sampled(tag))
                for tag in asset.tags
            ],
            "state_tag": next(
                (t.path for t in asset.tags if t.dtype == "enum" and t.signal == "state"),
                next((t.path for t in asset.tags if t.dtype == "enum"), None),
            ),
        }
        for path, asset in plant.assets.items()
        if identity.sees(path)
    }


@router.get("/", response_class=HTMLResponse)
def plant_page(
    request: Request, identity: Identity = page_require("plant:read", scope_from=FILTERED)
) -> HTMLResponse:
    """The ISA-95 tree in the caller's scope, each asset expandable to its tags with live
    values."""
    platform = platform_of(request)
    plant = platform.plant
    by_id = tag_reporting(platform.tags_by_id, [s.connector for s in platform.connectors])
    reporting = {platform.tags_by_id[i].path: r for i, r in by_id.items()}
    return page(
        request,
        "plant.html",
        {
            "tree": visible_tree(plant.root, identity),
            "assets": asset_views(plant, identity, reporting),
            "tag_count": sum(1 for p in plant.tags if identity.sees(p)),
        },
    )


@router.get("/trend", response_class=HTMLResponse)
def trend_page(
    request: Request,
    tag: str = "",
    identity: Identity = page_require("history:read", scope_from=query_param("tag")),
) -> HTMLResponse:
    """The history of one tag as a chart; a missing or unknown tag gets a message."""
    plant = platform_of(request).plant
    path = tag.strip().strip("/")
    found = plant.tags.get(path)
    if found is None:
        if not path:
            error = "No tag chosen: pick a tag on the plant page."
            status, suggestions = 400, []
        else:
            error = f"Unknown tag {path!r}: no tag with this path in the plant model."
            status = 404
            suggestions = difflib.get_close_matches(path, list(plant.tags), n=3, cutoff=0.75)
        return page(
            request,
            "trend.html",
            {"tag": None, "path": path, "error": error, "suggestions": suggestions},
            status_code=status,
        )
    asset = plant.assets[found.asset]
    return page(
        request,
        "trend.html",
        {"tag": found.to_dict(), "path": path, "asset_name": asset.name, "error": None},
    )


_SUPERVISOR_KEYS = (
    "connector",
    "connected",
    "last_good_sample_ns",
    "samples",
    "samples_per_s",
    "errors",
    "last_error",
    "reconnects",
)


@router.get("/connectors", response_class=HTMLResponse)
async def connectors_page(
    request: Request,
    identity: Identity = page_require("system:read", scope_from=ENTERPRISE_WIDE),
) -> HTMLResponse:
    """Each connector's link state, rate, errors and protocol counters, for people: counts
    with separators, rates and durations with their unit and three significant digits."""
    rows = []
    for m in platform_of(request).metrics()["connectors"]:
        rows.append(
            {k: m[k] for k in _SUPERVISOR_KEYS}
            | {
                "rate": number_text(m["samples_per_s"] or 0),
                "count": number_text(m["samples"] or 0),
                "extra": [counter(k, v) for k, v in m.items() if k not in _SUPERVISOR_KEYS],
            }
        )
    return page(request, "connectors.html", {"connectors": rows})
