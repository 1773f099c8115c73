"""Thousands of characteristics judged in one pass: the SPC monitor vectorised across tags.

A large plant charts thousands of characteristics at once; one :class:`SpcMonitor`
each costs a Python call per tag per batch, which dominates long before numpy
does any work. A :class:`SpcBank` holds every characteristic of one chart kind
with frozen limits and count subgroups, and judges a batch of all of them with
whole-array operations: samples are sorted by characteristic once, cleaned
(late, Bad and invalid samples skipped and counted per characteristic), cut into
subgroups, and the rules run over all characteristics laid end to end, each
starting a new series (:func:`~plantos.analytics.spc.rules.evaluate_rules` with
``positions``). It gives exactly the events one monitor per characteristic gives.

A characteristic whose limits are still being learned (a baseline, or rolling
limits) belongs in an :class:`SpcMonitor` until they are frozen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from plantos.analytics.spc.charts import (
    ChartKind,
    Lines,
    dispersion_lines,
    location_lines,
    statistics_from_samples,
)
from plantos.analytics.spc.constants import MAX_RANGE_SUBGROUP
from plantos.analytics.spc.events import SpcViolation
from plantos.analytics.spc.limits import ControlLimits
from plantos.analytics.spc.rules import (
    HISTORY,
    NELSON_ALL,
    RuleHits,
    RuleSet,
    check_rules,
    evaluate_rules,
)
from plantos.core import quality

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
TsArray = npt.NDArray[np.int64]


def _positions(groups: IntArray) -> IntArray:
    """Each element's index within its run of equal (sorted) group numbers."""
    if not len(groups):
        return np.zeros(0, np.intp)
    first = np.flatnonzero(np.diff(groups, prepend=groups[0] - 1))
    starts = np.repeat(first, np.diff(np.append(first, len(groups))))
    out: IntArray = np.arange(len(groups), dtype=np.intp) - starts
    return out


class SpcBank:
    """Characteristics ``tags`` on one ``chart`` with frozen ``limits`` (one each), subgroups
    of ``subgroup_size`` samples, the same rules for all."""

    def __init__(
        self,
        *,
        tags: Sequence[str],
        chart: ChartKind,
        limits: Sequence[ControlLimits],
        subgroup_size: int,
        rules: Iterable[int] = NELSON_ALL,
        rule_set: RuleSet = "nelson",
        dispersion_rules: Iterable[int] = (1,),
        nsigmas: float = 3.0,
    ) -> None:
        if len(tags) != len(limits):
            raise ValueError(f"one limit per tag: {len(tags)} tags, {len(limits)} limits")
        if any(lim.chart is not chart for lim in limits):
            raise ValueError(f"every limit must be for a {chart} chart")
        if len({lim.nsigmas for lim in limits}) > 1:
            raise ValueError("all limits of a bank must have the same nsigmas")
        low = 2 if chart in (ChartKind.XBAR_R, ChartKind.XBAR_S) else 1
        high = MAX_RANGE_SUBGROUP if chart is ChartKind.XBAR_R else None
        if subgroup_size < low or (high is not None and subgroup_size > high):
            raise ValueError(f"a {chart} chart cannot plot subgroups of {subgroup_size}")
        self.tags, self.chart, self.size = list(tags), chart, subgroup_size
        self.rules = check_rules(rules, rule_set)
        self.dispersion_rules = check_rules(dispersion_rules, rule_set)
        self.rule_set, self.nsigmas = rule_set, nsigmas
        self._center = np.array([lim.center for lim in limits])
        self._sigma = np.array([lim.sigma for lim in limits])
        self._line_nsigmas = limits[0].nsigmas if limits else nsigmas
        n = len(tags)
        self._last_ts = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        self.skipped_bad = np.zeros(n, np.int64)
        self.skipped_invalid = np.zeros(n, np.int64)
        self.skipped_late = np.zeros(n, np.int64)
        self.plotted = np.zeros(n, np.int64)
        empty_i, empty_f = np.zeros(0, np.intp), np.zeros(0)
        self._open = (empty_i, np.zeros(0, np.int64), empty_f)  # samples of unfinished subgroups
        self._hist = (empty_i, np.zeros(0, np.int64), empty_f, empty_f)  # char, ts, loc, disp

    def update(
        self,
        index: npt.ArrayLike,
        ts: TsArray,
        value: FloatArray,
        quality_codes: npt.NDArray[np.uint32],
    ) -> list[SpcViolation]:
        """Take a batch's samples (``index``: the characteristic of each, in time order per
        characteristic); return the violations they cause, by characteristic, each in the
        order its monitor would give them."""
        idx = np.asarray(index, dtype=np.intp)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self.tags)):
            raise ValueError(f"characteristic index out of range 0..{len(self.tags) - 1}")
        order = np.argsort(idx, kind="stable")
        c, t, v = idx[order], ts[order], value[order]
        keep = self._clean(c, t, v, quality_codes[order])
        return self._plot(*self._subgroups(c[keep], t[keep], v[keep]))

    def _clean(
        self, c: IntArray, t: TsArray, v: FloatArray, codes: npt.NDArray[np.uint32]
    ) -> npt.NDArray[np.bool_]:
        """Which samples count: not late for their characteristic, not Bad, finite."""
        n = len(self.tags)
        late = self._late(c, t)
        bad = quality.is_bad(codes) & ~late
        invalid = ~np.isfinite(v)
        if not self.chart.is_variables:
            invalid |= v < 0
        invalid &= ~(late | bad)
        self.skipped_late += np.bincount(c[late], minlength=n)
        self.skipped_bad += np.bincount(c[bad], minlength=n)
        self.skipped_invalid += np.bincount(c[invalid], minlength=n)
        if len(c):
            newest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(newest, c, t)
            self._last_ts = np.maximum(self._last_ts, newest)
        out: npt.NDArray[np.bool_] = ~(late | bad | invalid)
        return out

    def _late(self, c: IntArray, t: TsArray) -> npt.NDArray[np.bool_]:
        """Samples older than one already seen of their characteristic (``c`` sorted)."""
        if not len(c):
            return np.zeros(0, dtype=bool)
        starts = np.flatnonzero(np.diff(c, prepend=c[0] - 1))
        steps_ok = (c[1:] != c[:-1]) | (t[1:] >= t[:-1])
        if steps_ok.all() and (t[starts] >= self._last_ts[c[starts]]).all():
            return np.zeros(len(c), dtype=bool)  # the usual case: every stream in order
        # The newest timestamp seen before each sample of its characteristic, by a running
        # maximum over (characteristic, rank of time) keys: earlier characteristics' keys
        # are all smaller, so the maximum never leaks from one characteristic into the next.
        present = c[starts]
        allc = np.concatenate((present, c))
        allt = np.concatenate((self._last_ts[present], t))
        first = np.argsort(allc, kind="stable")
        _, rank = np.unique(allt, return_inverse=True)
        key = allc[first].astype(np.int64) * (len(allt) + 1) + rank[first]
        seen = np.maximum.accumulate(key)
        is_sample = first >= len(present)
        before = np.concatenate((key[:1], seen[:-1]))  # the running maximum before each
        late = np.empty(len(c), dtype=bool)
        late[first[is_sample] - len(present)] = (key < before)[is_sample]
        return late

    def _subgroups(
        self, c: IntArray, t: TsArray, v: FloatArray
    ) -> tuple[IntArray, TsArray, FloatArray, IntArray]:
        """Closed subgroups: their characteristic, stamp, samples and starts; the rest waits."""
        oc, ot, ov = self._open
        order = np.argsort(np.concatenate((oc, c)), kind="stable")
        c = np.concatenate((oc, c))[order]
        t, v = np.concatenate((ot, t))[order], np.concatenate((ov, v))[order]
        pos = _positions(c)
        counts = np.bincount(c, minlength=len(self.tags))
        full = counts // self.size * self.size
        closed = pos < full[c]
        self._open = (c[~closed], t[~closed], v[~closed])
        c, t, v, pos = c[closed], t[closed], v[closed], pos[closed]
        starts = np.flatnonzero(pos % self.size == 0).astype(np.intp)
        return c[starts], t[starts + self.size - 1], v, starts

    def _plot(
        self, chars: IntArray, stamps: TsArray, values: FloatArray, starts: IntArray
    ) -> list[SpcViolation]:
        if not len(starts):
            return []
        stats = statistics_from_samples(self.chart, values, starts)
        self.plotted += np.bincount(chars, minlength=len(self.tags))
        hc, ht, hloc, hdisp = self._hist
        c = np.concatenate((hc, chars))
        order = np.argsort(c, kind="stable")
        c, ts = c[order], np.concatenate((ht, stamps))[order]
        loc = np.concatenate((hloc, stats.location))[order]
        new = np.concatenate((np.zeros(len(hc), bool), np.ones(len(chars), bool)))[order]
        pos = _positions(c)
        disp = None
        if stats.dispersion is not None:
            disp = np.concatenate((hdisp, stats.dispersion))[order]
            if self.chart is ChartKind.I_MR:  # a moving range reaches back into the history
                prev = np.concatenate(([np.nan], loc[:-1]))
                disp = np.where(new, np.abs(loc - np.where(pos > 0, prev, np.nan)), disp)
        events = self._judge(c, ts, loc, disp, pos, new)
        tail = pos >= np.bincount(c, minlength=len(self.tags))[c] - HISTORY
        self._hist = (c[tail], ts[tail], loc[tail], disp[tail] if disp is not None else loc[:0])
        return events

    def _judge(
        self,
        c: IntArray,
        ts: TsArray,
        loc: FloatArray,
        disp: FloatArray | None,
        pos: IntArray,
        new: npt.NDArray[np.bool_],
    ) -> list[SpcViolation]:
        sizes = np.full(len(c), float(self.size))
        center, sigma = self._center[c], self._sigma[c]
        lines = location_lines(self.chart, center, sigma, sizes, self._line_nsigmas)
        series = [(self.chart.location_name, loc, lines, self.rules)]
        if disp is not None:
            lines = dispersion_lines(self.chart, sigma, sizes, self._line_nsigmas)
            series.append((self.chart.dispersion_name or "", disp, lines, self.dispersion_rules))
        events: list[SpcViolation] = []
        keys: list[tuple[IntArray, TsArray, int, int]] = []  # characteristic, time, series, rule
        for order, (name, x, lines, chosen) in enumerate(series):
            if not chosen:
                continue
            hits = evaluate_rules(
                x,
                lines.center,
                lines.sigma,
                rules=chosen,
                rule_set=self.rule_set,
                nsigmas=self.nsigmas,
                positions=pos,
            )
            for rule, hit in hits.items():
                at = hit.points[new[hit.points]]
                if len(at):
                    events += self._events(name, rule, hit, at, c, ts, x, lines, new)
                    keys.append((c[at], ts[at], order, rule))
        if not events:
            return []
        rank = np.lexsort(
            (
                np.concatenate([np.full(len(k[0]), k[3]) for k in keys]),
                np.concatenate([np.full(len(k[0]), k[2]) for k in keys]),
                np.concatenate([k[1] for k in keys]),
                np.concatenate([k[0] for k in keys]),
            )
        )
        return [events[i] for i in rank.tolist()]

    def _events(
        self,
        name: str,
        rule: int,
        hit: RuleHits,
        at: IntArray,
        c: IntArray,
        ts: TsArray,
        x: FloatArray,
        lines: Lines,
        new: npt.NDArray[np.bool_],
    ) -> list[SpcViolation]:
        """The violations of one rule's hits on the new points ``at``. Everything
        per hit is gathered as whole arrays first: an out-of-control plant has many hits,
        and Python work per hit is what a bank exists to avoid."""
        members = hit.members[new[hit.points]]
        window = at[:, None] - hit.window + 1 + np.arange(hit.window)
        whole = np.asarray(members.all(axis=1), dtype=bool).tolist()  # runs: all points take part
        rows = zip(
            c[at].tolist(),
            ts[at].tolist(),
            ts[window].tolist(),
            x[window].tolist(),
            whole,
            lines.center[at].tolist(),
            lines.lcl[at].tolist(),
            lines.ucl[at].tolist(),
            strict=True,
        )
        out = []
        for k, (char, stamp, stamps, values, full, center, lcl, ucl) in enumerate(rows):
            if not full:
                take = members[k].tolist()
                stamps = [t for t, m in zip(stamps, take, strict=True) if m]
                values = [v for v, m in zip(values, take, strict=True) if m]
            event = SpcViolation(
                ts_ns=stamp,
                subject=self.tags[char],
                rule=rule,
                rule_set=self.rule_set,
                chart=self.chart.value,
                statistic=name,
                point_ts_ns=tuple(stamps),
                point_values=tuple(values),
                center=center,
                lcl=lcl,
                ucl=ucl,
            )
            out.append(event)
        return out
