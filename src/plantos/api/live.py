"""Live values: a snapshot, and a server-sent event stream of changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse

from plantos.api.auth import FILTERED, platform_of, require
from plantos.api.ports import PlatformPort
from plantos.api.serialise import live_entry
from plantos.security import Identity

router = APIRouter(tags=["live"])


def _matching(platform: PlatformPort, prefix: str, identity: Identity) -> list[tuple[str, int]]:
    """Tags under ``prefix`` that the caller's scope reaches."""
    prefix = prefix.strip("/")
    return [
        (path, tag_id)
        for path, tag_id in platform.tag_ids.items()
        if (not prefix or path == prefix or path.startswith(prefix + "/")) and identity.sees(path)
    ]


@router.get("/live")
async def live_snapshot(
    request: Request,
    prefix: str = Query(""),
    identity: Identity = require("live:read", scope_from=FILTERED),
) -> dict[str, Any]:
    """The newest value of every tag under ``prefix`` in the caller's scope."""
    platform = platform_of(request)
    rows = [
        live_entry(platform.plant.tags[path], tag_id, platform.live)
        for path, tag_id in _matching(platform, prefix, identity)
    ]
    return {
        "prefix": prefix.strip("/"),
        "now_ms": platform.clock.now_ns() // 1_000_000,
        "values": rows,
    }


@router.get("/live/stream")
async def live_stream(
    request: Request,
    prefix: str = Query(""),
    interval_ms: int = Query(1000, ge=100, le=60_000),
    identity: Identity = require("live:read", scope_from=FILTERED),
) -> EventSourceResponse:
    """Server-sent events named ``live``: first every value under ``prefix``, then every
    ``interval_ms`` the values that changed."""
    platform = platform_of(request)
    matched = _matching(platform, prefix, identity)
    ids = np.array([tag_id for _, tag_id in matched], dtype=np.int64)
    paths = {tag_id: path for path, tag_id in matched}

    async def events() -> AsyncIterator[dict[str, str]]:
        sent_ts = platform.live.ts[ids].copy()
        fresh = np.arange(len(ids))  # the first message carries every value
        while True:
            if len(fresh):
                rows = [
                    live_entry(platform.plant.tags[paths[int(i)]], int(i), platform.live)
                    for i in ids[fresh]
                ]
                data = {"now_ms": platform.clock.now_ns() // 1_000_000, "values": rows}
                yield {"event": "live", "data": json.dumps(data)}
            await asyncio.sleep(interval_ms / 1000)
            if await request.is_disconnected():
                return
            current = platform.live.ts[ids]
            fresh = np.flatnonzero(current != sent_ts)
            sent_ts[fresh] = current[fresh]

    return EventSourceResponse(events(), ping=15)
