"""Health and metrics of the running platform: bus queues, ingest rejections, historian."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from plantos.api.auth import platform_of
from plantos.core.timeparse import iso

router = APIRouter(tags=["system"])


@router.get("/status")
async def status(request: Request) -> dict[str, Any]:
    """The platform's counters, read on the event loop that changes them; the historian's
    statistics, a database query, off it."""
    platform = platform_of(request)
    now = platform.clock.now_ns()
    metrics = platform.metrics()
    return {
        "now": iso(now),
        "now_ms": now // 1_000_000,
        "identity": request.state.identity.subject,
        "plant": {"assets": len(platform.plant.assets), "tags": len(platform.plant.tags)},
        "historian": await asyncio.to_thread(platform.historian.stats),
        **metrics,
    }


@router.get("/connectors")
async def connectors(request: Request) -> dict[str, Any]:
    """Per connector: link state, newest good sample, rate, errors, reconnects and the
    protocol's own counters."""
    return {"connectors": platform_of(request).metrics()["connectors"]}
