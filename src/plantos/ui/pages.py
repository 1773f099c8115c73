"""The operator pages: the plant tree with live values, and the trend of one tag.

Pages render the plant model in the same shapes the API answers with
(``Node.to_dict``, ``TagDef.to_dict``); the browser then reads live values and
history from ``/api/v1`` with the session cookie.
"""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from plantos.api.auth import ENTERPRISE_WIDE, FILTERED, platform_of, query_param
from plantos.api.plant import visible_tree
from plantos.core.timeparse import iso
from plantos.model import Plant, TagDef
from plantos.security import Identity
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)


def _expected_every_ms(tag: TagDef) -> float:
    """How often a new value should arrive: a waveform comes in snapshots, not samples."""
    every_ns = tag.waveform.every_ns if tag.waveform else tag.sampling_ns
    return every_ns / 1e6


def asset_views(plant: Plant, identity: Identity) -> dict[str, dict[str, Any]]:
    """Per asset path: what the tree shows about the asset and each of its tags."""
    return {
        path: {
            "name": asset.name,
            "type": asset.type,
            "criticality": asset.criticality,
            "tags": [tag.to_dict() | {"expect_ms": _expected_every_ms(tag)} for tag in asset.tags],
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
    plant = platform_of(request).plant
    return page(
        request,
        "plant.html",
        {
            "tree": visible_tree(plant.root, identity),
            "assets": asset_views(plant, identity),
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
    """Each connector's link state, rate, errors and protocol counters."""
    rows = []
    for m in platform_of(request).metrics()["connectors"]:
        newest = m["last_good_sample_ns"]
        rows.append(
            {k: m[k] for k in _SUPERVISOR_KEYS}
            | {
                "last_good": iso(newest) if newest is not None else None,
                "extra": {k: v for k, v in m.items() if k not in _SUPERVISOR_KEYS},
            }
        )
    return page(request, "connectors.html", {"connectors": rows})
