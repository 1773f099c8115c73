"""OEE of any node of the plant (enterprise, site, area, line or asset): the current shift
from the live stage, or any range recomputed from the historian (the same figures for the
same period); the children's OEE, the six big losses and downtime reasons as Paretos."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from plantos.analytics.oee import (
    MAX_REASON_CHARS,
    OeeReport,
    OeeTotals,
    Reason,
    current_shift,
    historical_report,
    loss_pareto,
    reason_pareto,
)
from plantos.api.auth import FILTERED, platform_of, query_param, require
from plantos.api.ports import PlatformPort
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import iso, parse_time_ns
from plantos.model.plant import Node
from plantos.security import Identity, authorize

router = APIRouter(tags=["oee"])

MAX_RANGE_NS = 31 * 24 * 3600 * 1_000_000_000


class ReasonRequest(BaseModel):
    asset: str
    start: str = Field(
        description="Start of the stop: its ``start_ns`` from ``/oee/stops`` (exact), or ISO 8601"
    )
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


def _node(platform: PlatformPort, path: str) -> Node:
    wanted = path.strip("/") or platform.plant.root.path
    for node in platform.plant.iter_nodes():
        if node.path == wanted:
            return node
    raise UnknownTagError(f"no site, area, line or asset {wanted!r} in the plant model")


def _totals(report: OeeReport, path: str) -> OeeTotals | None:
    return report.nodes.get(path) or report.assets.get(path)


def _entry(path: str, totals: OeeTotals | None) -> dict[str, Any]:
    if totals is None:
        return {"path": path, "totals": None, "losses_s": [], "reasons_s": []}
    return {
        "path": path,
        "totals": totals.to_dict(),
        "losses_s": [[k, ns / 1e9] for k, ns in loss_pareto(totals)],
        "reasons_s": [[k, ns / 1e9] for k, ns in reason_pareto(totals)],
    }


@router.get("/oee")
async def oee(
    request: Request,
    path: str = Query("", description="A site, area, line or asset; the enterprise if empty"),
    start: str | None = Query(None, alias="from", description="ISO 8601, or '-8h'"),
    end: str | None = Query(None, alias="to", description="ISO 8601, 'now' or '-1h'"),
    _: object = require("oee:read", scope_from=query_param("path")),
) -> dict[str, Any]:
    """Without ``from``: each asset's current shift, live. With ``from`` (and ``to``,
    default now): recomputed from the historian."""
    return await oee_answer(platform_of(request), path, start, end)


async def oee_answer(
    platform: PlatformPort, path: str, start: str | None, end: str | None
) -> dict[str, Any]:
    """The OEE answer for a node and period, as the API and the OEE page show it. The
    current shift is read on the event loop (which updates it); a recompute from the
    historian (up to a month, thousands of queries) runs off it, so the connectors and
    the live stream go on meanwhile."""
    node = _node(platform, path)
    now = platform.clock.now_ns()
    if start is None:
        _shifts, report = platform.analytics.oee.current(now)
        period = {"current_shift": True, "from": iso(report.start_ns), "to": iso(now)}
    else:
        try:
            start_ns = parse_time_ns(start, now_ns=now)
            end_ns = parse_time_ns(end, now_ns=now) if end else now
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if not 0 < end_ns - start_ns <= MAX_RANGE_NS:
            raise QueryError("'from' must be before 'to', at most 31 days apart")
        report = await asyncio.to_thread(
            historical_report,
            platform.historian,
            platform.plant,
            platform.analytics.oee_config,
            start_ns,
            end_ns,
            reasons=platform.analytics.oee.reasons,
        )
        period = {"current_shift": False, "from": iso(start_ns), "to": iso(end_ns)}
    return {
        **period,
        **_entry(node.path, _totals(report, node.path)),
        "level": node.level,
        "name": node.name,
        "children": [
            _entry(c.path, _totals(report, c.path)) | {"name": c.name, "level": c.level}
            for c in node.children
        ],
    }


@router.get("/oee/stops")
async def oee_stops(
    request: Request,
    asset: str = Query(..., description="The asset's path"),
    start: str | None = Query(None, alias="from", description="Default: its current shift"),
    end: str | None = Query(None, alias="to", description="Default: now"),
    _: object = require("oee:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """An asset's downtime, newest first, with the reason given or ``unassigned``: what an
    operator explains with ``POST /oee/reasons`` (using the stop's ``start_ns``)."""
    return stops_answer(platform_of(request), asset, start, end)


def stops_answer(
    platform: PlatformPort, asset: str, start: str | None, end: str | None
) -> dict[str, Any]:
    """The stops answer, as the API and the OEE page show it."""
    if asset not in platform.plant.assets:
        raise UnknownTagError(f"no asset {asset!r} in the plant model")
    now = platform.clock.now_ns()
    try:
        end_ns = parse_time_ns(end, now_ns=now) if end else now
        if start is None:
            start_ns = current_shift(platform.plant.calendar_for(asset), end_ns).start_ns
        else:
            start_ns = parse_time_ns(start, now_ns=now)
        found = platform.analytics.oee.stops(asset, start_ns, end_ns)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    book = platform.analytics.oee.reasons
    return {
        "asset": asset,
        "from": iso(start_ns),
        "to": iso(end_ns),
        "stops": [
            {
                "start": iso(s.start_ns),
                "start_ns": s.start_ns,
                "end": iso(s.end_ns),
                "state": s.state,
                "planned_s": s.planned_s,
                "micro": s.micro,
                "reason": s.reason,
                **_given(book.given(asset, s.start_ns)),
            }
            for s in found
        ],
    }


def _given(reason: Reason | None) -> dict[str, str | None]:
    """Who gave a stop's reason, when, and their note; ``None`` while it has none."""
    if reason is None:
        return {"by": None, "at": None, "note": None}
    return {"by": reason.by, "at": iso(reason.at_ns), "note": reason.note}


@router.post("/oee/reasons")
async def assign_reason(
    request: Request,
    body: ReasonRequest,
    identity: Identity = require("oee:reason", scope_from=FILTERED),
) -> dict[str, Any]:
    """Give a stop its reason code (the operator's explanation of a downtime) in the
    caller's name; it replaces the stop's reason, the earlier ones stay in its history."""
    authorize(identity, "oee:reason", body.asset)
    platform = platform_of(request)
    try:
        start_ns = parse_time_ns(body.start, now_ns=platform.clock.now_ns())
        # A disk write under the book's lock: off the event loop, which serves the stream.
        given = await run_in_threadpool(
            platform.analytics.oee.assign_reason,
            body.asset,
            start_ns,
            body.reason,
            by=identity.subject,
        )
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    platform.audit.append(
        identity.subject, "stop.reason", body.asset, start_ns=start_ns, reason=given.code
    )
    return {
        "asset": body.asset,
        "start": iso(start_ns),
        "start_ns": start_ns,
        "reason": given.code,
        **_given(given),
    }


@router.get("/oee/reasons")
async def reason_history(
    request: Request,
    asset: str = Query(..., description="The asset's path"),
    start: str = Query(..., description="The stop's ``start_ns`` (exact), or ISO 8601"),
    _: object = require("oee:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """Every reason a stop was given, newest (its current reason) first: the audit trail."""
    platform = platform_of(request)
    if asset not in platform.plant.assets:
        raise UnknownTagError(f"no asset {asset!r} in the plant model")
    try:
        start_ns = parse_time_ns(start, now_ns=platform.clock.now_ns())
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    given = await asyncio.to_thread(platform.reasons.history, asset, start_ns)  # SQLite
    return {
        "asset": asset,
        "start": iso(start_ns),
        "start_ns": start_ns,
        "history": [{"reason": r.code, **_given(r)} for r in given],
    }
