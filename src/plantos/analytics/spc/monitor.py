"""A streaming SPC monitor for one characteristic: samples in, rule violations out.

The monitor filters its tag's samples (Bad quality, NaN, infinities and
out-of-order samples are skipped and counted, never plotted), cuts subgroups,
plots their statistics, draws lines from frozen or rolling limits and judges
the points with the enabled rules. It carries the last points over from one
batch to the next, so a pattern spanning batches is found exactly as if the
whole series had been judged at once.

With a baseline, points are plotted but not judged until the first point after
the baseline period: then limits are estimated from the baseline's points,
frozen with who and when, and the baseline points are judged against them
(phase ``baseline``, like qcc's phase I) before monitoring goes on.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from plantos.analytics.spc.charts import ChartKind, Lines, Statistics, statistics_from_samples
from plantos.analytics.spc.config import SpcCharacteristicSpec
from plantos.analytics.spc.events import StuckSignal
from plantos.analytics.spc.limits import (
    BaselineError,
    ControlLimits,
    FlatBaselineError,
    fit_limits,
)
from plantos.analytics.spc.plot import Plot, judge, rolling_lines
from plantos.analytics.spc.rules import HISTORY, NELSON_ALL, RuleSet, check_rules
from plantos.analytics.spc.subgroups import Subgrouper
from plantos.core import quality
from plantos.core.clock import Clock
from plantos.core.events import Event

FloatArray = npt.NDArray[np.float64]

SHOWN_POINTS = 500
"""Points kept for display (the chart page): far more than the rules need to carry over."""


class SpcMonitor:
    """Judges one tag on one chart. Give exactly one of ``limits`` (already frozen),
    ``baseline`` (``(from_ns, to_ns, frozen_by)``) or ``rolling`` (subgroups)."""

    def __init__(
        self,
        *,
        tag: str,
        chart: ChartKind,
        clock: Clock,
        subgroup_size: int | None = None,
        window_ns: int | None = None,
        rules: Iterable[int] = NELSON_ALL,
        rule_set: RuleSet = "nelson",
        dispersion_rules: Iterable[int] = (1,),
        nsigmas: float = 3.0,
        limits: ControlLimits | None = None,
        baseline: tuple[int, int, str] | None = None,
        rolling: int | None = None,
    ) -> None:
        if sum(x is not None for x in (limits, baseline, rolling)) != 1:
            raise ValueError("give exactly one of limits, baseline and rolling")
        if limits is not None and limits.chart is not chart:
            raise ValueError(f"limits are for a {limits.chart} chart, not {chart}")
        if rolling is not None and rolling < 2:
            raise ValueError(f"rolling limits need 2 or more subgroups, got {rolling}")
        self.tag, self.chart, self._clock = tag, chart, clock
        self._groups = Subgrouper(size=subgroup_size, window_ns=window_ns)
        self.rules = check_rules(rules, rule_set)
        self.dispersion_rules = check_rules(dispersion_rules, rule_set)
        self.rule_set, self.nsigmas = rule_set, nsigmas
        self.limits, self._baseline, self._rolling = limits, baseline, rolling
        self._plot = Plot.empty(chart)
        self._shown = Plot.empty(chart)
        self._last_ts = np.iinfo(np.int64).min
        self._flat = False
        self.skipped_bad = self.skipped_invalid = self.skipped_late = 0
        self.dropped_subgroups = 0
        self.plotted = 0
        self.baseline_refused = False

    @classmethod
    def from_spec(
        cls, spec: SpcCharacteristicSpec, *, clock: Clock, limits: ControlLimits | None = None
    ) -> SpcMonitor:
        """A monitor for a configured characteristic; ``limits`` resumes limits frozen earlier."""
        base = spec.limits.baseline
        return cls(
            tag=spec.tag,
            chart=spec.chart,
            clock=clock,
            subgroup_size=spec.subgroup_size,
            window_ns=spec.window_ns,
            rules=spec.rules,
            rule_set=spec.rule_set,
            dispersion_rules=spec.dispersion_rules,
            nsigmas=spec.nsigmas,
            limits=limits,
            baseline=(base.from_ns, base.to_ns, base.frozen_by) if base and not limits else None,
            rolling=spec.limits.rolling if limits is None else None,
        )

    # ---- input ----------------------------------------------------------------------------

    def update(
        self,
        ts: npt.NDArray[np.int64],
        value: FloatArray,
        quality_codes: npt.NDArray[np.uint32],
    ) -> list[Event]:
        """Take this tag's samples from a batch (time order); return the events they cause."""
        ts, value = self._clean(ts, value, quality_codes)
        closed = self._groups.add(ts, value)
        return self._plot_subgroups(closed.ts, closed.values, closed.starts)

    def flush(self, now_ns: int) -> list[Event]:
        """Tell the monitor time has reached ``now_ns``: closes a finished window and,
        past the baseline's end, freezes limits even if no later sample came."""
        closed = self._groups.close(now_ns)
        events = self._plot_subgroups(closed.ts, closed.values, closed.starts)
        if self.limits is None and self._baseline is not None and now_ns >= self._baseline[1]:
            events += self._freeze(len(self._plot))
        return events

    def _clean(
        self, ts: npt.NDArray[np.int64], value: FloatArray, codes: npt.NDArray[np.uint32]
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        late = ts < np.maximum.accumulate(np.append(self._last_ts, ts))[:-1]
        bad = quality.is_bad(codes) & ~late
        invalid = ~np.isfinite(value)
        if not self.chart.is_variables:
            invalid |= value < 0  # a count of nonconformities cannot be negative
        invalid &= ~(late | bad)
        keep = ~(late | bad | invalid)
        self.skipped_late += int(late.sum())
        self.skipped_bad += int(bad.sum())
        self.skipped_invalid += int(invalid.sum())
        if len(ts):
            self._last_ts = max(self._last_ts, int(ts.max()))
        return ts[keep], value[keep]

    # ---- plotting and judging ---------------------------------------------------------------

    def _plot_subgroups(
        self, ts: npt.NDArray[np.int64], values: FloatArray, starts: npt.NDArray[np.intp]
    ) -> list[Event]:
        if not len(starts):
            return []
        stats = statistics_from_samples(self.chart, values, starts, previous=self._plot.last_x)
        keep = self._plot.fits(stats)
        self.dropped_subgroups += int(len(keep) - keep.sum())
        self.plotted += int(keep.sum())
        if self.limits is not None:
            return self._plot_frozen(ts, stats, keep, self.limits)
        old = len(self._plot)
        self._plot = self._plot.extend(ts, stats, keep)
        self._shown = self._shown.extend(ts, stats, keep).tail(SHOWN_POINTS)
        if self._rolling is not None:
            return self._judge_rolling(old)
        if self._baseline is None:  # the baseline was refused: plot, never judge
            self._plot = self._plot.tail(HISTORY)
            return []
        after = np.flatnonzero(self._plot.ts[old:] >= self._baseline[1])
        if len(after):
            return self._freeze(old + int(after[0]))
        before = int(np.searchsorted(self._plot.ts, self._baseline[0]))
        self._plot = self._plot.tail(len(self._plot) - before)  # points before it never count
        return []

    def _plot_frozen(
        self,
        ts: npt.NDArray[np.int64],
        stats: Statistics,
        keep: npt.NDArray[np.bool_],
        limits: ControlLimits,
    ) -> list[Event]:
        """Plot and judge new points against frozen limits. Their lines are known before
        they are plotted, so the judged plot and the display get them as the points are
        added: drawing undrawn points in a second pass costs more than a small batch's
        statistics."""
        sizes = stats.sizes[keep]
        loc = limits.location(sizes)
        disp = limits.dispersion(sizes) if self.chart.is_variables else None
        old = len(self._plot)
        self._plot = self._plot.extend(ts, stats, keep, loc, disp)
        self._shown = self._shown.extend(ts, stats, keep, loc, disp).tail(SHOWN_POINTS)
        return self._judge(old, self._plot)

    def _drawn(self, start: int, limits: ControlLimits) -> Plot:
        sizes = self._plot.stats.sizes[start:]
        disp = limits.dispersion(sizes) if self.chart.is_variables else None
        return self._plot.drawn(start, limits.location(sizes), disp)

    def _freeze(self, end: int) -> list[Event]:
        """Estimate limits from the baseline points before ``end``, freeze them, judge all."""
        assert self._baseline is not None
        first, last, who = self._baseline
        ts = self._plot.ts[:end]
        inside = np.flatnonzero((ts >= first) & (ts < last))
        begin = int(inside[0]) if len(inside) else end
        now = self._clock.now_ns()
        try:
            limits = fit_limits(
                self._plot.statistics(begin, end),
                nsigmas=self.nsigmas,
                baseline_from_ns=first,
                baseline_to_ns=last,
            )
        except FlatBaselineError as exc:
            self._baseline = None  # the period is fixed, and so is its verdict
            return [self._stuck(exc.value, exc.points, first, last, now)]
        except BaselineError:
            self._baseline = None
            self.baseline_refused = True
            return []
        self.limits = limits.freeze(by=who, at_ns=now)
        self._plot = self._plot.tail(len(self._plot) - begin)
        plot = self._drawn(0, self.limits)
        self._show_lines(plot, 0)
        return self._judge(0, plot, baseline_end_ns=last)

    def _judge_rolling(self, start: int) -> list[Event]:
        assert self._rolling is not None
        loc, disp, flat = rolling_lines(self._plot, self._rolling, self.nsigmas, start)
        events: list[Event] = []
        began = flat & ~np.concatenate(([self._flat], flat[:-1]))
        for k in np.flatnonzero(began):
            at = start + int(k)
            first = int(self._plot.ts[at - self._rolling])
            value = float(self._plot.stats.location[at - 1])
            events.append(self._stuck(value, self._rolling, first, int(self._plot.ts[at]), now=-1))
        if len(flat):
            self._flat = bool(flat[-1])
        plot = self._plot.drawn(start, loc, disp)
        self._show_lines(plot, start)
        return events + self._judge(start, plot)

    def _judge(self, start: int, plot: Plot, baseline_end_ns: int | None = None) -> list[Event]:
        events = judge(
            plot,
            start,
            rules=self.rules,
            dispersion_rules=self.dispersion_rules,
            rule_set=self.rule_set,
            nsigmas=self.nsigmas,
            subject=self.tag,
            baseline_end_ns=baseline_end_ns,
        )
        self._plot = plot.tail(max(HISTORY, self._rolling or 0))
        return list(events)

    def _show_lines(self, plot: Plot, start: int) -> None:
        """Copy the lines just drawn for ``plot``'s points ``start:`` to the display.

        The judged plot is always a suffix of every point plotted, as the display is
        (up to its length), so its last points are the display's last points.
        """
        m = min(len(plot) - start, len(self._shown))
        if m <= 0:
            return
        tail = slice(len(plot) - m, None)

        def cut(lines: Lines) -> Lines:
            return Lines(lines.center[tail], lines.sigma[tail], lines.lcl[tail], lines.ucl[tail])

        disp = cut(plot.disp) if plot.disp is not None else None
        self._shown = self._shown.drawn(len(self._shown) - m, cut(plot.loc), disp)

    # ---- reading ----------------------------------------------------------------------------

    def recent(self, n: int = SHOWN_POINTS) -> Plot:
        """The last ``n`` (at most :data:`SHOWN_POINTS`) plotted points with the lines each
        was judged against; NaN lines where a point was not judged (yet), e.g. while the
        baseline runs. Read-only: the plot is immutable and replaced, never changed."""
        return self._shown.tail(n) if n > 0 else Plot.empty(self.chart)

    def _stuck(self, value: float, points: int, first: int, last: int, now: int) -> StuckSignal:
        """A flat-line finding, stamped ``now`` or, for rolling limits (``now`` < 0), ``last``."""
        return StuckSignal(
            ts_ns=now if now >= 0 else last,
            subject=self.tag,
            chart=self.chart.value,
            statistic=self.chart.location_name,
            value=value,
            points=points,
            from_ns=first,
            to_ns=last,
        )
