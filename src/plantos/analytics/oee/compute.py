"""OEE per ISO 22400 over any time range, as additive totals of times and counts.

:class:`OeeTotals` keeps times (ns) and counts, never percentages, so totals
of assets, lines or shifts are plain sums and every ratio is computed from the
sums: a rollup is weighted by time and counts by construction.

- availability = run time / planned production time (APT / PBT)
- performance = ideal cycle time x total count / run time
- quality = good count / total count
- OEE = availability x performance x quality

The six big losses, in time, partition planned time minus fully productive
time: breakdowns (stops at least ``micro_stop`` long), setup and adjustments
(setup states), small stops (stops shorter than ``micro_stop``, counted),
reduced speed (run time minus the ideal time of the parts made), start-up
rejects (ideal time of scrap within ``startup_window`` after a setup or the
start of planned time) and production rejects (the other scrap). Time in the
``unknown`` state (no usable data) is shown beside them, not hidden in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from plantos.analytics.oee.binding import CATEGORIES
from plantos.analytics.oee.planned import planned_overlap, planned_windows
from plantos.analytics.oee.records import UNASSIGNED, AssetHistory, ReasonBook
from plantos.model.calendar import ShiftCalendar

LOSSES = (
    "breakdowns",
    "setup_adjustments",
    "small_stops",
    "reduced_speed",
    "startup_rejects",
    "production_rejects",
)
(_UNKNOWN, _PRODUCING, _SETUP, _UNPLANNED, _DELAY, _PLANNED_DOWN) = range(len(CATEGORIES))


@dataclass(frozen=True, slots=True)
class OeeTotals:
    """Times (ns) and counts of one asset or a group over a range; ratios derive from them."""

    planned_ns: int = 0
    run_ns: int = 0
    ideal_ns: int = 0
    total: int = 0
    good: int = 0
    unknown_ns: int = 0
    planned_downtime_ns: int = 0
    micro_stops: int = 0
    unknown_ideal: int = 0
    losses: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(LOSSES, 0))
    reasons: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: OeeTotals) -> OeeTotals:
        summed: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            summed[f.name] = _add_maps(a, b) if isinstance(a, Mapping) else a + b
        return OeeTotals(**summed)

    @property
    def availability(self) -> float | None:
        return self.run_ns / self.planned_ns if self.planned_ns else None

    @property
    def performance(self) -> float | None:
        return self.ideal_ns / self.run_ns if self.run_ns else None

    @property
    def quality(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def oee(self) -> float | None:
        a, p, qu = self.availability, self.performance, self.quality
        if a is None:
            return None
        if a == 0 or p == 0:
            return 0.0
        return a * p * qu if p is not None and qu is not None else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: seconds and counts, the four ratios, losses and reasons in seconds."""
        return {
            "availability": self.availability,
            "performance": self.performance,
            "quality": self.quality,
            "oee": self.oee,
            "planned_s": self.planned_ns / 1e9,
            "run_s": self.run_ns / 1e9,
            "ideal_s": self.ideal_ns / 1e9,
            "total": self.total,
            "good": self.good,
            "scrap": self.total - self.good,
            "unknown_s": self.unknown_ns / 1e9,
            "planned_downtime_s": self.planned_downtime_ns / 1e9,
            "micro_stops": self.micro_stops,
            "parts_without_ideal_cycle": self.unknown_ideal,
            "losses_s": {k: v / 1e9 for k, v in self.losses.items()},
            "reasons_s": {k: v / 1e9 for k, v in self.reasons.items()},
        }


def _add_maps(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def _downtime(
    cat: npt.NDArray[np.int8], stop: npt.NDArray[np.bool_], inside: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Intervals that cost planned time and want a reason: stops, setups, unknown time."""
    down: npt.NDArray[np.bool_] = (stop | (cat == _SETUP) | (cat == _UNKNOWN)) & (inside > 0)
    return down


def _reason(history: AssetHistory, reasons: ReasonBook | None, i: int) -> str:
    known = (
        reasons.reason_of(history.asset, int(history.intervals.start_ns[i])) if reasons else None
    )
    fallback = "unknown" if history.category[history.intervals.state[i]] == _UNKNOWN else UNASSIGNED
    return known or fallback


@dataclass(frozen=True, slots=True)
class Stop:
    """One downtime interval as an operator sees it, to give it a reason."""

    start_ns: int
    end_ns: int
    state: str
    planned_s: float
    """The planned production time it cost."""
    micro: bool
    reason: str


def stops(
    history: AssetHistory,
    calendar: ShiftCalendar | None,
    start_ns: int,
    end_ns: int,
    *,
    reasons: ReasonBook | None = None,
) -> list[Stop]:
    """The downtime intervals of one asset over ``[start_ns, end_ns)``, newest first, with
    the reason given or ``unassigned``: exactly those :func:`asset_totals` counts by reason."""
    iv = history.intervals
    s, e = np.clip(iv.start_ns, start_ns, end_ns), np.clip(iv.end_ns, start_ns, end_ns)
    cat = history.category[iv.state]
    inside = planned_overlap(s, e, planned_windows(calendar, start_ns, end_ns))
    stop = ((cat == _UNPLANNED) | (cat == _DELAY)) & (inside > 0)
    found = [
        Stop(
            start_ns=int(iv.start_ns[i]),
            end_ns=int(iv.end_ns[i]),
            state=history.states[int(iv.state[i])],
            planned_s=int(inside[i]) / 1e9,
            micro=bool(iv.end_ns[i] - iv.start_ns[i] < history.micro_stop_ns),
            reason=_reason(history, reasons, int(i)),
        )
        for i in np.flatnonzero(_downtime(cat, stop, inside))
    ]
    return found[::-1]


def asset_totals(
    history: AssetHistory,
    calendar: ShiftCalendar | None,
    start_ns: int,
    end_ns: int,
    *,
    reasons: ReasonBook | None = None,
) -> OeeTotals:
    """OEE totals of one asset over ``[start_ns, end_ns)``."""
    iv = history.intervals
    s, e = np.clip(iv.start_ns, start_ns, end_ns), np.clip(iv.end_ns, start_ns, end_ns)
    cat = history.category[iv.state]
    inside = planned_overlap(s, e, planned_windows(calendar, start_ns, end_ns))
    outside = (e - s) - inside
    producing = cat == _PRODUCING
    run_ns = int((e - s)[producing].sum())
    counted = cat != _PLANNED_DOWN
    planned_ns = int(inside[counted].sum() + outside[producing].sum())
    stop = ((cat == _UNPLANNED) | (cat == _DELAY)) & (inside > 0)
    micro = stop & (iv.end_ns - iv.start_ns < history.micro_stop_ns)
    losses = dict.fromkeys(LOSSES, 0)
    losses["breakdowns"] = int(inside[stop & ~micro].sum())
    losses["small_stops"] = int(inside[micro].sum())
    losses["setup_adjustments"] = int(inside[cat == _SETUP].sum())
    by_reason: dict[str, int] = {}
    for i in np.flatnonzero(_downtime(cat, stop, inside)).tolist():
        key = _reason(history, reasons, i)
        by_reason[key] = by_reason.get(key, 0) + int(inside[i])
    c = history.counts
    pick = (c.ts_ns >= start_ns) & (c.ts_ns < end_ns)
    total, scrap, cycle = c.total[pick], c.scrap[pick], c.cycle_ns[pick]
    known_cycle = np.maximum(cycle, 0)
    ideal_ns = int((known_cycle * total).sum())
    startup = _in_startup(history, calendar, c.ts_ns[pick], start_ns, end_ns)
    scrap_ideal = known_cycle * scrap
    losses["startup_rejects"] = int(scrap_ideal[startup].sum())
    losses["production_rejects"] = int(scrap_ideal[~startup].sum())
    losses["reduced_speed"] = run_ns - ideal_ns
    return OeeTotals(
        planned_ns=planned_ns,
        run_ns=run_ns,
        ideal_ns=ideal_ns,
        total=int(total.sum()),
        good=int(total.sum() - scrap.sum()),
        unknown_ns=int(inside[cat == _UNKNOWN].sum()),
        planned_downtime_ns=int(outside[~producing].sum() + inside[~counted].sum()),
        micro_stops=int(micro.sum()),
        unknown_ideal=int(total[cycle < 0].sum()),
        losses=losses,
        reasons=by_reason,
    )


def _in_startup(
    history: AssetHistory,
    calendar: ShiftCalendar | None,
    ts: npt.NDArray[np.int64],
    start_ns: int,
    end_ns: int,
) -> npt.NDArray[np.bool_]:
    """Which count times fall within ``startup_ns`` after a setup ends or planned time begins."""
    window = history.startup_ns
    iv = history.intervals
    cat = history.category[iv.state]
    after_setup = np.flatnonzero((cat[1:] == _PRODUCING) & (cat[:-1] == _SETUP)) + 1
    plan_starts, _ = planned_windows(calendar, start_ns - window, end_ns)
    starts = np.unique(
        np.concatenate((iv.start_ns[after_setup], plan_starts[plan_starts > start_ns - window]))
    )
    if len(starts) == 0:
        return np.zeros(len(ts), dtype=np.bool_)
    k = np.searchsorted(starts, ts, side="right") - 1
    return (k >= 0) & (ts - starts[np.maximum(k, 0)] < window)
