"""The plant model as configured: hierarchy, assets and tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from plantos.api.auth import FILTERED, platform_of, require
from plantos.api.serialise import live_entry
from plantos.model.plant import Node
from plantos.security import Identity

router = APIRouter(tags=["plant"])


def visible_tree(node: Node, identity: Identity, *, root: bool = True) -> dict[str, Any] | None:
    """``node`` as a dict with only what the caller's scope reaches: the nodes above its
    scope (names only, for orientation) and everything inside it."""
    inside = not root and identity.sees(node.path)
    children = [visible_tree(c, identity, root=False) for c in node.children]
    kept = [c for c in children if c is not None]
    if not (root or inside or kept):
        return None
    return node.to_dict() | {"children": kept}


@router.get("/plant")
def get_plant(
    request: Request, identity: Identity = require("plant:read", scope_from=FILTERED)
) -> dict[str, Any]:
    """The ISA-95 hierarchy (enterprise, sites, areas, lines, assets) with asset details,
    as far as the caller's scope reaches."""
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
        if identity.sees(path)
    }
    tag_count = sum(1 for p in plant.tags if identity.sees(p))
    tree = visible_tree(plant.root, identity)
    return {"enterprise": tree, "assets": assets, "tag_count": tag_count}


@router.get("/tags")
async def list_tags(
    request: Request,
    path: str = Query("", description="Path prefix, e.g. plant-a/machining/line-1"),
    live: bool = Query(True, description="Include each tag's live value"),
    identity: Identity = require("plant:read", scope_from=FILTERED),
) -> dict[str, Any]:
    """Tags whose path starts with ``path`` (at a ``/`` boundary), with metadata; live values
    are read on the event loop that updates them."""
    platform = platform_of(request)
    prefix = path.strip("/")
    out = []
    for tag_path, tag in platform.plant.tags.items():
        if prefix and not (tag_path == prefix or tag_path.startswith(prefix + "/")):
            continue
        if not identity.sees(tag_path):
            continue
        entry = tag.to_dict() | {"id": platform.tag_ids[tag_path]}
        if live:
            entry["live"] = live_entry(tag, platform.tag_ids[tag_path], platform.live)
        out.append(entry)
    return {"prefix": prefix, "count": len(out), "tags": out}
