"""Health of the data pipeline, and its dead letters.

``GET /api/v1/health`` tells an operator each bus consumer's state, lag (queue depth and
the age of its oldest message), restarts and last error. ``GET /healthz`` tells a
service manager or load balancer only whether the platform is ready: 200 or 503, no
credentials needed and nothing disclosed. Dead letters (batches the historian refused)
are listed and re-ingested under ``/api/v1/deadletters``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, public, require
from plantos.core.timeparse import iso
from plantos.historian.deadletter import DeadLetter

router = APIRouter(tags=["system"])
"""Authenticated routes, mounted under ``/api/v1``."""

probe = APIRouter(include_in_schema=False)
"""The readiness probe, mounted at the root without authentication."""


@probe.get("/healthz", response_class=PlainTextResponse)
async def healthz(
    request: Request,
    _: None = public("a service manager asks for readiness without credentials"),
) -> PlainTextResponse:
    """200 ``ready`` while every bus consumer runs, else 503 ``not ready``."""
    if platform_of(request).ready:
        return PlainTextResponse("ready\n")
    return PlainTextResponse("not ready\n", status_code=503)


@router.get("/health")
async def health(
    request: Request, _: object = require("system:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Per stage: state (running, restarting, failed, stopped), lag, restarts, last error;
    and the dead letters kept (batches the historian refused)."""
    platform = platform_of(request)
    answer = platform.health()  # on the event loop, which is what changes it
    letters, samples = await asyncio.to_thread(platform.dead_letters.count)
    return answer | {"dead_letters": {"letters": letters, "samples": samples}}


def _letter(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "at": iso(letter.at_ns),
        "stage": letter.stage,
        "reason": letter.reason,
        "samples": letter.samples,
        "first": iso(letter.first_ts) if letter.first_ts is not None else None,
        "last": iso(letter.last_ts) if letter.last_ts is not None else None,
        "replay_attempts": letter.replay_attempts,
    }


@router.get("/deadletters")
async def dead_letters(
    request: Request, _: object = require("system:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Every batch the historian refused, oldest first, with the reason."""
    letters = await asyncio.to_thread(platform_of(request).dead_letters.list)
    return {"dead_letters": [_letter(x) for x in letters]}


@router.post("/deadletters/replay")
async def replay(
    request: Request, _: object = require("system:write", scope_from=ENTERPRISE_WIDE)
) -> dict[str, int]:
    """Write every dead letter to the historian again (after its cause is fixed): those
    written are removed, those refused again stay with the new reason."""
    platform = platform_of(request)
    return await asyncio.to_thread(platform.dead_letters.replay, platform.historian.write)
