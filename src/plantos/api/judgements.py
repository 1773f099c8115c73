"""What the analytics stage judged: SPC characteristics with their charts, and the health of
every watched spindle.

Answers read the running monitors (the plotted points with the lines each was judged
against, the recent scores) and the platform's recent judgements (violations, anomalies),
so the charts show what the stage decided, never a recomputation that could disagree.
Routes are ``async``: they read state that the analytics stage changes on the event
loop, so reading on the loop sees each batch's effects whole, without a lock.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from plantos.analytics.anomaly.events import Evidence, episodes
from plantos.analytics.config import analytics_spec
from plantos.analytics.spc import ChartKind, SpcCharacteristicSpec, SpcMonitor, SpcViolation
from plantos.analytics.spc.capability import capability_summary
from plantos.analytics.spc.charts import Lines
from plantos.analytics.spc.events import StuckSignal
from plantos.analytics.spc.limits_summary import limits_summary
from plantos.analytics.spc.monitor import SHOWN_POINTS
from plantos.analytics.spc.plot import Plot
from plantos.analytics.spindles import SpindleWatch
from plantos.analytics.stage import anomaly_alarm_id
from plantos.api.auth import FILTERED, path_param, platform_of, require
from plantos.api.errors import register_status
from plantos.api.ports import PlatformPort
from plantos.core import quality
from plantos.core.errors import PlantOSError, UnknownTagError
from plantos.core.timeparse import iso
from plantos.core.timeunits import NS_PER_MS
from plantos.security import Identity

router = APIRouter(tags=["analytics"])

VIOLATIONS_SHOWN = 200
CAPABILITY_SAMPLES = 200_000
"""Raw samples read at most for Pp/Ppk: more than a chart of 500 subgroups holds."""

RULE_TEXT: dict[str, dict[int, str]] = {
    "nelson": {
        1: "a point beyond a control limit",
        2: "9 points in a row on one side of the centre line",
        3: "6 points in a row steadily rising or falling",
        4: "14 points in a row alternating up and down",
        5: "2 of 3 points beyond 2 sigma on one side",
        6: "4 of 5 points beyond 1 sigma on one side",
        7: "15 points in a row within 1 sigma (stratification)",
        8: "8 points in a row outside 1 sigma on both sides (mixture)",
    },
    "western-electric": {
        1: "a point beyond a control limit",
        2: "2 of 3 points beyond 2 sigma on one side",
        3: "4 of 5 points beyond 1 sigma on one side",
        4: "8 points in a row on one side of the centre line",
    },
}
"""What each rule looks for, in the words an operator reads on the chart page."""


class NotAnalysedError(PlantOSError):
    """The tag or asset exists but no SPC characteristic or spindle watch judges it."""


register_status(NotAnalysedError, 404, "Not analysed")


# ---- SPC ------------------------------------------------------------------------------------


def _floats(values: npt.NDArray[np.float64]) -> list[float | None]:
    """JSON numbers, None where NaN or infinite (a line not drawn yet)."""
    return [v if math.isfinite(v) else None for v in values.astype(np.float64).tolist()]


def characteristics(platform: PlatformPort) -> list[tuple[SpcCharacteristicSpec, SpcMonitor]]:
    """Each configured characteristic with its running monitor, in configuration order."""
    spec, _ = analytics_spec(platform.plant)
    return list(zip(spec.spc, (m for _, m in platform.analytics.spc), strict=True))


def _characteristic(
    platform: PlatformPort, tag: str
) -> tuple[SpcCharacteristicSpec, SpcMonitor, int]:
    path = tag.strip("/")
    if path not in platform.plant.tags:
        raise UnknownTagError(f"no tag {path!r} in the plant model")
    for spec, monitor in characteristics(platform):
        if spec.tag == path:
            return spec, monitor, platform.tag_ids[path]
    configured = ", ".join(repr(s.tag) for s, _ in characteristics(platform)) or "none"
    raise NotAnalysedError(
        f"tag {path!r} has no SPC characteristic in the analytics section "
        f"(configured: {configured})"
    )


def _findings(platform: PlatformPort, tag: str) -> tuple[list[SpcViolation], list[StuckSignal]]:
    violations = [e for e in platform.judgements if isinstance(e, SpcViolation)]
    stuck = [e for e in platform.judgements if isinstance(e, StuckSignal)]
    return [e for e in violations if e.subject == tag], [e for e in stuck if e.subject == tag]


def _summary(
    platform: PlatformPort, spec: SpcCharacteristicSpec, monitor: SpcMonitor
) -> dict[str, Any]:
    violations, stuck = _findings(platform, spec.tag)
    return {
        "tag": spec.tag,
        "chart": spec.chart.value,
        "statistic": spec.chart.location_name,
        "dispersion_statistic": spec.chart.dispersion_name,
        "subgroup_size": spec.subgroup_size,
        "window": spec.window,
        "rule_set": spec.rule_set,
        "rules": [
            {"rule": r, "text": RULE_TEXT[spec.rule_set][r], "statistic": "location"}
            for r in sorted(monitor.rules)
        ]
        + [
            {"rule": r, "text": RULE_TEXT[spec.rule_set][r], "statistic": "dispersion"}
            for r in sorted(monitor.dispersion_rules)
            if spec.chart.is_variables
        ],
        "limits": limits_summary(spec, monitor, platform.clock.now_ns()),
        "spec_limits": spec.spec_limits.model_dump() if spec.spec_limits else None,
        "counters": {
            "plotted": monitor.plotted,
            "violations": len(violations),
            "stuck_signals": len(stuck),
            "skipped_bad": monitor.skipped_bad,
            "skipped_invalid": monitor.skipped_invalid,
            "skipped_late": monitor.skipped_late,
            "dropped_subgroups": monitor.dropped_subgroups,
        },
    }


def _series(values: npt.NDArray[np.float64], lines: Lines) -> dict[str, list[float | None]]:
    return {
        "value": _floats(values),
        "center": _floats(lines.center),
        "lcl": _floats(lines.lcl),
        "ucl": _floats(lines.ucl),
    }


def _violation(e: SpcViolation) -> dict[str, Any]:
    return {
        "t_ms": e.ts_ns // NS_PER_MS,
        "time": iso(e.ts_ns),
        "rule": e.rule,
        "rule_set": e.rule_set,
        "text": RULE_TEXT.get(e.rule_set, {}).get(e.rule, ""),
        "statistic": e.statistic,
        "phase": e.phase,
        "points_t_ms": [t // NS_PER_MS for t in e.point_ts_ns],
        "points_value": list(e.point_values),
        "center": e.center,
        "lcl": e.lcl,
        "ucl": e.ucl,
    }


def _sigma_within(monitor: SpcMonitor, plot: Plot) -> float | None:
    """The chart's process sigma: the frozen one, else the newest rolling estimate
    (the plotted statistic's sigma scaled back to one sample)."""
    if monitor.limits is not None:
        return monitor.limits.sigma
    drawn = np.flatnonzero(np.isfinite(plot.loc.sigma))
    if not len(drawn):
        return None
    k = int(drawn[-1])
    size = plot.stats.sizes[k] if monitor.chart is not ChartKind.I_MR else 1.0
    return float(plot.loc.sigma[k] * math.sqrt(size))


async def _capability(
    platform: PlatformPort,
    spec: SpcCharacteristicSpec,
    monitor: SpcMonitor,
    tag_id: int,
    plot: Plot,
) -> dict[str, Any] | None:
    """Cp/Cpk with the chart's sigma, Pp/Ppk with the overall sigma of what the chart shows.

    An I-MR chart's individuals are its points (a window's mean, for time windows), so
    their spread is the overall one; for subgroup charts it is the spread of the raw
    samples of the plotted span, read from the historian.
    """
    limits = spec.spec_limits
    if limits is None or not spec.chart.is_variables or not len(plot):
        return None
    sigma_within = _sigma_within(monitor, plot)
    if monitor.chart is ChartKind.I_MR:
        values, basis = plot.stats.location, "plotted individuals"
    else:
        start, end = int(plot.ts[0]), int(plot.ts[-1]) + 1
        raw = await run_in_threadpool(
            platform.historian.query_raw,
            tag_id,
            start - (spec.window_ns or 0),
            end,
            limit=CAPABILITY_SAMPLES,
        )
        good = ~quality.is_bad(raw.quality)
        values, basis = raw.value[good], "raw samples"
    summary = capability_summary(
        values, sigma_within, lsl=limits.lsl, usl=limits.usl, target=limits.target
    )
    return {"basis": basis} | summary


@router.get("/spc")
async def spc_list(
    request: Request, identity: Identity = require("analytics:read", scope_from=FILTERED)
) -> dict[str, Any]:
    """The configured SPC characteristics in the caller's scope: chart, rules, where the
    limits come from, counters."""
    platform = platform_of(request)
    found = [(s, m) for s, m in characteristics(platform) if identity.sees(s.tag)]
    return {"characteristics": [_summary(platform, s, m) for s, m in found]}


@router.get("/spc/{tag:path}")
async def spc_chart(
    request: Request,
    tag: str,
    points: int = Query(200, ge=1, le=SHOWN_POINTS, description="Newest plotted points"),
    _: object = require("analytics:read", scope_from=path_param("tag")),
) -> dict[str, Any]:
    """One characteristic's chart: the newest plotted points with the centre line and limits
    each was judged against (null where not judged yet), its violations and, with
    specification limits, its capability."""
    platform = platform_of(request)
    spec, monitor, tag_id = _characteristic(platform, tag)
    plot = monitor.recent(points)
    violations, stuck = _findings(platform, spec.tag)
    dispersion = None
    if plot.disp is not None and plot.stats.dispersion is not None:
        dispersion = {"name": spec.chart.dispersion_name} | _series(
            plot.stats.dispersion, plot.disp
        )
    return _summary(platform, spec, monitor) | {
        "unit": platform.plant.tags[spec.tag].unit,
        "points": {
            "t_ms": (plot.ts // NS_PER_MS).tolist(),
            "size": plot.stats.sizes.astype(int).tolist(),
            "location": {"name": spec.chart.location_name} | _series(plot.stats.location, plot.loc),
            "dispersion": dispersion,
        },
        "violations": [_violation(e) for e in violations[-VIOLATIONS_SHOWN:]],
        "stuck_signals": [
            {
                "time": iso(e.ts_ns),
                "value": e.value,
                "points": e.points,
                "from": iso(e.from_ns),
                "to": iso(e.to_ns),
            }
            for e in stuck
        ],
        "capability": await _capability(platform, spec, monitor, tag_id, plot),
    }


# ---- asset health ----------------------------------------------------------------------------


def watch_of(platform: PlatformPort, asset: str) -> SpindleWatch:
    path = asset.strip("/")
    if path not in platform.plant.assets:
        raise UnknownTagError(f"no asset {path!r} in the plant model")
    for watch in platform.analytics.spindles:
        if watch.asset == path:
            return watch
    watched = ", ".join(repr(w.asset) for w in platform.analytics.spindles) or "none"
    raise NotAnalysedError(f"asset {path!r} has no spindle watch (watched: {watched})")


def _evidence(items: tuple[Evidence, ...]) -> list[dict[str, Any]]:
    return [
        {"feature": e.feature, "value": e.value, "expected": e.expected, "share": e.share}
        | ({"relation": e.relation} if e.relation else {})
        for e in items
    ]


def _anomaly(platform: PlatformPort, asset: str) -> dict[str, Any]:
    """The newest raise of this asset with its evidence, its newest escalation (the severity
    now, and a fresher time to threshold) and whether it has cleared since."""
    mine = [ep for ep in episodes(platform.judgements) if ep.raised.subject == asset]
    newest = mine[-1] if mine else None
    raised = newest.raised if newest else None
    escalated = newest.escalations[-1] if newest and newest.escalations else None
    cleared = newest.cleared if newest else None
    return {
        "active": raised is not None and cleared is None,
        "raised": None
        if raised is None
        else {
            "time": iso(raised.ts_ns),
            "t_ms": raised.ts_ns // NS_PER_MS,
            "score": raised.score,
            "severity": raised.severity,
            "time_to_threshold_s": raised.time_to_threshold_s,
            "time_to_threshold_low_s": raised.time_to_threshold_low_s,
            "time_to_threshold_high_s": raised.time_to_threshold_high_s,
            "priority": raised.priority,
            "detector": raised.detector,
            "evidence": _evidence(raised.evidence),
        },
        "escalated": None
        if escalated is None
        else {
            "time": iso(escalated.ts_ns),
            "t_ms": escalated.ts_ns // NS_PER_MS,
            "score": escalated.score,
            "severity": escalated.severity,
            "previous": escalated.previous,
            "time_to_threshold_s": escalated.time_to_threshold_s,
            "time_to_threshold_low_s": escalated.time_to_threshold_low_s,
            "time_to_threshold_high_s": escalated.time_to_threshold_high_s,
            "priority": escalated.priority,
        },
        "cleared": None
        if cleared is None
        else {
            "time": iso(cleared.ts_ns),
            "t_ms": cleared.ts_ns // NS_PER_MS,
            "score": cleared.score,
            "duration_s": cleared.duration_s,
        },
    }


@router.get("/assets/{asset:path}/health")
async def asset_health(
    request: Request,
    asset: str,
    points: int = Query(288, ge=1, le=10_000, description="Newest scores"),
    _: object = require("analytics:read", scope_from=path_param("asset")),
) -> dict[str, Any]:
    """A watched spindle: learning or trained, the newest scores against the raise and clear
    thresholds, its alarm and the evidence of its newest anomaly."""
    platform = platform_of(request)
    watch = watch_of(platform, asset)
    policy = watch.monitor.policy
    zones = watch.severity.zones
    scores = list(watch.scores)[-points:]
    alarm_id = anomaly_alarm_id(watch.asset)
    status = platform.analytics.alarms.status(alarm_id)
    latest = next((s for s in reversed(scores) if math.isfinite(s[1])), None)
    return {
        "asset": watch.asset,
        "name": platform.plant.assets[watch.asset].name,
        "status": "trained" if watch.trained else "learning",
        "rows_seen": watch.rows_seen,
        "rows_at_speed": watch.rows_at_speed,
        "standstill_rows": watch.standstill_rows,
        "training_rows": watch.training_rows,
        "features": list(watch.features.names),
        "thresholds": {
            "raise_at": policy.raise_at,
            "clear_at": policy.clear_at,
            "min_duration_s": policy.min_duration_ns / 1e9,
            "velocity_zones_mm_s": {"a_b": zones.a_b, "b_c": zones.b_c, "c_d": zones.c_d},
        },
        "scores": {
            "t_ms": [t // NS_PER_MS for t, _, _ in scores],
            "score": [v if math.isfinite(v) else None for _, v, _ in scores],
            "flag": [f for _, _, f in scores],
        },
        "latest": None
        if latest is None
        else {
            "time": iso(latest[0]),
            "score": latest[1],
            "flag": latest[2],
            "severity": watch.severity.graded if latest[1] >= policy.raise_at else "normal",
            "velocity_mm_s": watch.severity.level,
            "zone": watch.severity.zone,
        },
        "alarm": {
            "alarm_id": alarm_id,
            "state": status.state.value,
            "active": status.active,
            "acknowledged": status.acknowledged,
            "activated": iso(status.activated_ns) if status.activated_ns is not None else None,
            "shelved_until": (
                iso(status.shelved_until_ns) if status.shelved_until_ns is not None else None
            ),
        },
        "anomaly": _anomaly(platform, watch.asset),
    }
