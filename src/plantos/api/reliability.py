"""An asset's MTBF, MTTR and availability over any range, from the machine states the
historian holds (not from when work orders were requested), per failure mode."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request

from plantos.analytics.reliability import asset_reliability, reliability_answer
from plantos.api.auth import platform_of, query_param, require
from plantos.api.ports import PlatformPort
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import parse_time_ns

router = APIRouter(tags=["maintenance"])

MAX_RANGE_NS = 366 * 24 * 3600 * 1_000_000_000
"""A year: reliability wants long ranges (few failures a month), the replay stays bounded."""


@router.get("/reliability")
async def reliability(
    request: Request,
    asset: str = Query(..., description="The asset's path"),
    start: str = Query(..., alias="from", description="ISO 8601, or '-30d'"),
    end: str | None = Query(None, alias="to", description="ISO 8601, 'now' or '-1h'"),
    _: object = require("plant:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """MTBF, MTTR, availability and uptime share of ``asset`` over ``[from, to)``; each
    failure with the failure mode of the work order that covered it. Undefined figures
    (no failure, no finished repair) are ``null``."""
    return await reliability_of(platform_of(request), asset, start, end)


async def reliability_of(
    platform: PlatformPort, asset: str, start: str, end: str | None
) -> dict[str, Any]:
    """The answer as the API and the maintenance page give it; the historian replay and
    the work-order read run off the event loop."""
    if asset not in platform.plant.assets:
        raise UnknownTagError(f"no asset {asset!r} in the plant model")
    now = platform.clock.now_ns()
    try:
        start_ns = parse_time_ns(start, now_ns=now)
        end_ns = parse_time_ns(end, now_ns=now) if end else now
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    if not 0 < end_ns - start_ns <= MAX_RANGE_NS:
        raise QueryError("'from' must be before 'to', at most 366 days apart")
    orders = await asyncio.to_thread(platform.maintenance.service.list, asset=asset)
    figures = await asyncio.to_thread(
        asset_reliability,
        platform.historian,
        platform.plant,
        platform.analytics.oee_config,
        asset,
        start_ns,
        end_ns,
        orders=orders,
    )
    return reliability_answer(asset, figures)
