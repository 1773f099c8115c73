"""The plotted points of one monitored chart: statistics, lines and the rule verdicts.

:class:`Plot` holds the recent points with the lines each was judged against.
:func:`judge` runs the rules over the tail carried from earlier batches plus the
new points and turns the hits on new points into :class:`SpcViolation` events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from plantos.analytics.spc.charts import (
    ChartKind,
    Lines,
    Statistics,
    dispersion_lines,
    location_lines,
)
from plantos.analytics.spc.constants import MAX_RANGE_SUBGROUP
from plantos.analytics.spc.events import SpcViolation
from plantos.analytics.spc.limits import rolling_limits
from plantos.analytics.spc.rules import HISTORY, RuleSet, evaluate_rules

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TsArray = npt.NDArray[np.int64]


def _nan_lines(n: int) -> Lines:
    nan = np.full(n, np.nan)
    return Lines(nan, nan, nan, nan)


def _cat(a: Lines, b: Lines) -> Lines:
    cat = np.concatenate
    return Lines(
        cat((a.center, b.center)), cat((a.sigma, b.sigma)), cat((a.lcl, b.lcl)), cat((a.ucl, b.ucl))
    )


def _cut(a: Lines, sl: slice) -> Lines:
    return Lines(a.center[sl], a.sigma[sl], a.lcl[sl], a.ucl[sl])


@dataclass(frozen=True, slots=True)
class Plot:
    """Points in time order with their statistics and lines (NaN where not yet drawn)."""

    chart: ChartKind
    ts: TsArray
    stats: Statistics
    loc: Lines
    disp: Lines | None

    @classmethod
    def empty(cls, chart: ChartKind) -> Plot:
        e = np.empty(0)
        stats = Statistics(chart, e, e, e if chart.is_variables else None)
        disp = _nan_lines(0) if chart.is_variables else None
        return cls(chart, np.empty(0, dtype=np.int64), stats, _nan_lines(0), disp)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def last_x(self) -> float | None:
        """The last individual, from which the next moving range is taken."""
        if self.chart is not ChartKind.I_MR or not len(self.ts):
            return None
        return float(self.stats.location[-1])

    def fits(self, stats: Statistics) -> BoolArray:
        """Which new subgroups the chart can plot (a range needs 2..25 values, an S 2 or more)."""
        n = stats.sizes
        if self.chart is ChartKind.XBAR_R:
            ok: BoolArray = (n >= 2) & (n <= MAX_RANGE_SUBGROUP)
            return ok
        if self.chart is ChartKind.XBAR_S:
            return n >= 2
        return np.ones(len(n), dtype=bool)

    def extend(
        self,
        ts: TsArray,
        stats: Statistics,
        keep: BoolArray,
        loc: Lines | None = None,
        disp: Lines | None = None,
    ) -> Plot:
        """These points added; ``keep`` selects the subgroups that fit. ``loc`` and ``disp``
        are the kept points' lines when already known (frozen limits), so they need not be
        drawn in a second pass; without them the lines are undrawn (NaN)."""
        s = self.stats
        dispersion = None
        if s.dispersion is not None and stats.dispersion is not None:
            dispersion = np.concatenate((s.dispersion, stats.dispersion[keep]))
        joined = Statistics(
            self.chart,
            np.concatenate((s.sizes, stats.sizes[keep])),
            np.concatenate((s.location, stats.location[keep])),
            dispersion,
        )
        n = int(keep.sum())
        return Plot(
            self.chart,
            np.concatenate((self.ts, ts[keep])),
            joined,
            _cat(self.loc, _nan_lines(n) if loc is None else loc),
            None if self.disp is None else _cat(self.disp, _nan_lines(n) if disp is None else disp),
        )

    def drawn(self, start: int, loc: Lines, disp: Lines | None) -> Plot:
        """The plot with the lines of points ``start:`` replaced."""
        head = slice(0, start)
        new_disp = None
        if self.disp is not None and disp is not None:
            new_disp = _cat(_cut(self.disp, head), disp)
        return replace(self, loc=_cat(_cut(self.loc, head), loc), disp=new_disp)

    def statistics(self, start: int, end: int) -> Statistics:
        """Statistics of points ``start:end`` as a series of their own (a first moving range,
        which reaches outside it, is left out)."""
        s, sl = self.stats, slice(start, end)
        disp = None if s.dispersion is None else s.dispersion[sl].copy()
        if disp is not None and self.chart is ChartKind.I_MR and len(disp):
            disp[0] = np.nan
        return Statistics(self.chart, s.sizes[sl], s.location[sl], disp)

    def tail(self, keep: int) -> Plot:
        """Only the last ``keep`` points (at least one, for the next moving range)."""
        start = max(len(self.ts) - max(keep, 1), 0)
        if start == 0:
            return self
        sl = slice(start, None)
        s = self.stats
        stats = Statistics(
            self.chart,
            s.sizes[sl],
            s.location[sl],
            None if s.dispersion is None else s.dispersion[sl],
        )
        disp = None if self.disp is None else _cut(self.disp, sl)
        return Plot(self.chart, self.ts[sl], stats, _cut(self.loc, sl), disp)


def rolling_lines(
    plot: Plot, window: int, nsigmas: float, start: int
) -> tuple[Lines, Lines | None, BoolArray]:
    """Lines for points ``start:`` from the ``window`` points before each, and which were flat."""
    begin = max(start - window, 0)
    est = rolling_limits(_raw(plot, begin), window)
    k = start - begin
    center, sigma, flat = est.center[k:], est.sigma[k:], est.flat[k:]
    sizes = plot.stats.sizes[start:]
    loc = location_lines(plot.chart, center, sigma, sizes, nsigmas)
    disp = dispersion_lines(plot.chart, sigma, sizes, nsigmas) if plot.chart.is_variables else None
    return loc, disp, flat


def _raw(plot: Plot, begin: int) -> Statistics:
    s = plot.stats
    disp = None if s.dispersion is None else s.dispersion[begin:]
    return Statistics(plot.chart, s.sizes[begin:], s.location[begin:], disp)


def judge(
    plot: Plot,
    start: int,
    *,
    rules: frozenset[int],
    dispersion_rules: frozenset[int],
    rule_set: RuleSet,
    nsigmas: float,
    subject: str,
    baseline_end_ns: int | None = None,
) -> list[SpcViolation]:
    """Violations on points ``start:``, judged with the ``HISTORY`` points before them."""
    begin = max(start - HISTORY, 0)
    events: list[SpcViolation] = []
    series = [(plot.chart.location_name, plot.stats.location, plot.loc, rules)]
    if plot.disp is not None and plot.stats.dispersion is not None:
        name = plot.chart.dispersion_name or ""
        series.append((name, plot.stats.dispersion, plot.disp, dispersion_rules))
    for name, values, lines, chosen in series:
        if not chosen:
            continue
        x = values[begin:]
        c, s = lines.center[begin:], lines.sigma[begin:]
        hits = evaluate_rules(x, c, s, rules=chosen, rule_set=rule_set, nsigmas=nsigmas)
        for rule, hit in hits.items():
            if not len(hit.points):  # most rules find nothing: skip the per-hit work
                continue
            for k in (hit.points >= start - begin).nonzero()[0]:
                at = begin + int(hit.points[k])
                idx = begin + hit.involved(int(k))
                ts = int(plot.ts[at])
                phase = (
                    "baseline"
                    if baseline_end_ns is not None and ts < baseline_end_ns
                    else "monitoring"
                )
                events.append(
                    SpcViolation(
                        ts_ns=ts,
                        subject=subject,
                        rule=rule,
                        rule_set=rule_set,
                        chart=plot.chart.value,
                        statistic=name,
                        point_ts_ns=tuple(int(t) for t in plot.ts[idx]),
                        point_values=tuple(float(v) for v in values[idx]),
                        center=float(lines.center[at]),
                        lcl=float(lines.lcl[at]),
                        ucl=float(lines.ucl[at]),
                        phase=phase,
                    )
                )
    events.sort(key=lambda e: (e.ts_ns, e.statistic != plot.chart.location_name, e.rule))
    return events
