"""The plant model as configured: hierarchy, assets and tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from plantos.api.auth import platform_of
from plantos.api.serialise import live_entry

router = APIRouter(tags=["plant"])


@router.get("/plant")
def get_plant(request: Request) -> dict[str, Any]:
    """The ISA-95 hierarchy (enterprise, sites, areas, lines, assets) with asset details."""
    platform = platform_of(request)
    plant = platform.plant
    assets = {
        path: {
            "type": a.type,
            "criticality": a.criticality,
            "calendar": a.calendar,
            "tags": [t.signal for t in a.tags],
        }
        for path, a in plant.assets.items()
    }
    return {"enterprise": plant.root.to_dict(), "assets": assets, "tag_count": len(plant.tags)}


@router.get("/tags")
async def list_tags(
    request: Request,
    path: str = Query("", description="Path prefix, e.g. plant-a/machining/line-1"),
    live: bool = Query(True, description="Include each tag's live value"),
) -> dict[str, Any]:
    """Tags whose path starts with ``path`` (at a ``/`` boundary), with metadata; live values
    are read on the event loop that updates them."""
    platform = platform_of(request)
    prefix = path.strip("/")
    out = []
    for tag_path, tag in platform.plant.tags.items():
        if prefix and not (tag_path == prefix or tag_path.startswith(prefix + "/")):
            continue
        entry = tag.to_dict() | {"id": platform.tag_ids[tag_path]}
        if live:
            entry["live"] = live_entry(tag, platform.tag_ids[tag_path], platform.live)
        out.append(entry)
    return {"prefix": prefix, "count": len(out), "tags": out}
