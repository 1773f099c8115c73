"""Health and metrics of the running platform: bus queues, ingest rejections, historian."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from plantos.api.auth import platform_of
from plantos.core.timeparse import iso

router = APIRouter(tags=["system"])


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    platform = platform_of(request)
    now = platform.clock.now_ns()
    return {
        "now": iso(now),
        "now_ms": now // 1_000_000,
        "identity": request.state.identity.subject,
        "plant": {"assets": len(platform.plant.assets), "tags": len(platform.plant.tags)},
        "historian": platform.historian.stats(),
        **platform.metrics(),
    }


@router.get("/connectors")
def connectors(request: Request) -> dict[str, Any]:
    """Per connector: link state, newest good sample, rate, errors, reconnects and the
    protocol's own counters."""
    return {"connectors": platform_of(request).metrics()["connectors"]}
