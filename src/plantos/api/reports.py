"""The shift report and the daily production report of a site, as JSON, CSV or XLSX:
what an ERP loader fetches after each shift and a production manager opens each
morning (see docs/erp-integration.md, "Reports")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Query, Request, Response

from plantos.api.auth import platform_of, query_param, require
from plantos.api.ports import PlatformPort
from plantos.reports import (
    ReportFormat,
    ReportRange,
    ReportSources,
    build_report,
    day_range,
    filename,
    render,
    shift_range,
)

router = APIRouter(tags=["reports"])
FORMAT = Query(ReportFormat.json, alias="format", description="json, csv or xlsx")


@router.get("/reports/shift")
async def shift_report(
    request: Request,
    site: str = Query(..., description="The site's id, e.g. plant-a"),
    shift: str | None = Query(None, description="A shift of the site's calendar"),
    date: str | None = Query(None, description="The local day the shift starts on"),
    fmt: ReportFormat = FORMAT,
    _: object = require("plant:read", scope_from=query_param("site")),
) -> Response:
    """One shift of a site; without ``shift`` and ``date`` the last one that has ended."""
    platform = platform_of(request)
    return await _answer(
        platform, fmt, lambda now: shift_range(platform.plant, site, shift, date, now_ns=now)
    )


@router.get("/reports/daily")
async def daily_report(
    request: Request,
    site: str = Query(..., description="The site's id, e.g. plant-a"),
    date: str | None = Query(None, description="The local day; default yesterday"),
    fmt: ReportFormat = FORMAT,
    _: object = require("plant:read", scope_from=query_param("site")),
) -> Response:
    """One calendar day of a site in its time zone, with each of its shifts."""
    platform = platform_of(request)
    return await _answer(
        platform, fmt, lambda now: day_range(platform.plant, site, date, now_ns=now)
    )


async def _answer(
    platform: PlatformPort, fmt: ReportFormat, resolve: Callable[[int], ReportRange]
) -> Response:
    now = platform.clock.now_ns()
    rng = resolve(now)
    sources = ReportSources(
        plant=platform.plant,
        historian=platform.historian,
        oee_config=platform.analytics.oee_config,
        reasons=platform.analytics.oee.reasons,
        mom=platform.mom.service,
    )
    # Historian replay and database reads: off the event loop, which serves the stream.
    report = await asyncio.to_thread(build_report, sources, rng, now_ns=now)
    body = await asyncio.to_thread(render, report, fmt)
    disposition = f'attachment; filename="{filename(report, fmt)}"'
    return Response(body, media_type=fmt.media_type, headers={"Content-Disposition": disposition})
