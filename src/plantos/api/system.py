"""Health and metrics of the running platform: bus queues, ingest rejections, historian."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from plantos.api.auth import ENTERPRISE_WIDE, FILTERED, platform_of, require
from plantos.core.timeparse import iso
from plantos.security import Identity

router = APIRouter(tags=["system"])


@router.get("/status")
async def status(
    request: Request, identity: Identity = require("plant:read", scope_from=FILTERED)
) -> dict[str, Any]:
    """Platform time and who is signed in for everyone; the platform's health (plant size,
    historian, queues) only for a caller who may read the system for the whole enterprise."""
    platform = platform_of(request)
    now = platform.clock.now_ns()
    mine = {"now": iso(now), "now_ms": now // 1_000_000, "identity": identity.subject}
    mine |= {"role": identity.role, "scope": identity.scope}
    if not (identity.may("system:read") and identity.scope == ""):
        return mine
    return mine | {
        "plant": {"assets": len(platform.plant.assets), "tags": len(platform.plant.tags)},
        "historian": await asyncio.to_thread(platform.historian.stats),
        **platform.metrics(),
    }


@router.get("/connectors")
async def connectors(
    request: Request, _: object = require("system:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Per connector: link state, newest good sample, rate, errors, reconnects and the
    protocol's own counters."""
    return {"connectors": platform_of(request).metrics()["connectors"]}
