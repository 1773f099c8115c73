"""Machine state of one asset from its tag samples, a whole batch at a time.

Each batch is evaluated at every distinct sample time with the last value of
every signal carried forward (also across batches). A signal whose last sample
was bad, NaN or infinite, or that has been silent for ``stale_after``, makes
the state ``unknown``: the asset is not guessed to be running. When the whole
asset falls silent, the state turns ``unknown`` exactly ``stale_after`` after
its last sample. The result does not depend on how the samples were cut into
batches, which is what lets a recomputation from the historian equal the live
figures.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from plantos.analytics.oee.binding import BoundSpec
from plantos.analytics.oee.counters import counter_deltas
from plantos.analytics.oee.records import AssetHistory, Counts, Intervals
from plantos.core import quality as q
from plantos.core.events import MachineStateChanged

Int64 = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
_NEVER = np.iinfo(np.int64).min // 4


class StateTracker:
    """Turns one asset's samples into state intervals, counted parts and state-change events.

    ``inputs`` lists the signals the caller routes here; ``feed`` takes the
    index into it for every sample. Samples not newer than the last evaluated
    time arrive too late to change the past: they are dropped and counted.
    """

    def __init__(self, spec: BoundSpec) -> None:
        self.spec = spec
        counted = [spec.good, spec.scrap, spec.total, spec.inspection, spec.ideal.signal]
        self.inputs: tuple[str, ...] = tuple(
            dict.fromkeys([*spec.signals, *(s for s in counted if s)])
        )
        n = len(self.inputs)
        self._value = np.full(n, np.nan)
        self._ok = np.zeros(n, dtype=np.bool_)
        self._seen = np.full(n, _NEVER, dtype=np.int64)
        self._counter_last = dict.fromkeys(self.inputs, np.nan)
        self._hold_last = np.full(len(spec.rules), _NEVER, dtype=np.int64)
        self._last_eval: int | None = None
        self._state = 0
        self._start: int | None = None
        self._intervals: list[Intervals] = []
        self._counts: list[Counts] = []
        self.bad_samples = 0
        self.late_samples = 0

    @property
    def last_eval_ns(self) -> int | None:
        """The newest time the state was evaluated at."""
        return self._last_eval

    def feed(
        self, ts: Int64, signal: npt.NDArray[np.intp], value: Float, quality: npt.NDArray[np.uint32]
    ) -> list[MachineStateChanged]:
        """Take one batch of this asset's samples; return the state changes in it."""
        if self._last_eval is not None:
            fresh = ts > self._last_eval
            if not fresh.all():
                self.late_samples += int((~fresh).sum())
                ts, signal, value, quality = ts[fresh], signal[fresh], value[fresh], quality[fresh]
        if len(ts) == 0:
            return []
        if (np.diff(ts) < 0).any():
            order = np.argsort(ts, kind="stable")
            ts, signal, value, quality = ts[order], signal[order], value[order], quality[order]
        ok = np.isfinite(value) & ~q.is_bad(quality)
        self.bad_samples += int(len(ok) - ok.sum())
        by_signal = [np.flatnonzero(signal == i) for i in range(len(self.inputs))]
        self._count(ts, value, ok, by_signal)
        at = self._eval_times(ts)
        env, valid = self._signals_at(at, ts, value, ok, by_signal)
        return self._advance(at, self._classify(at, env, valid))

    def intervals(self, until_ns: int | None = None) -> Intervals:
        """Closed intervals, plus the open one up to ``until_ns`` (``unknown`` once stale)."""
        if len(self._intervals) > 1:
            self._intervals = [Intervals.concat(self._intervals)]
        parts = list(self._intervals)
        if until_ns is None or self._start is None or self._last_eval is None:
            return Intervals.concat(parts)
        stale_at = self._last_eval + self.spec.stale_ns
        starts, ends, states = [self._start], [until_ns], [self._state]
        if until_ns > stale_at and self._state != 0:
            starts, ends, states = [self._start, stale_at], [stale_at, until_ns], [self._state, 0]
        tail = Intervals(
            np.array(starts, np.int64), np.array(ends, np.int64), np.array(states, np.int16)
        )
        keep = tail.end_ns > tail.start_ns
        parts.append(Intervals(tail.start_ns[keep], tail.end_ns[keep], tail.state[keep]))
        return Intervals.concat(parts)

    def counts(self) -> Counts:
        """Every counted part still kept, in time order."""
        if len(self._counts) > 1:
            self._counts = [Counts.concat(self._counts)]
        return Counts.concat(self._counts)

    def history(self, until_ns: int) -> AssetHistory:
        """Everything kept about this asset up to ``until_ns``, for :mod:`.compute`."""
        spec = self.spec
        return AssetHistory(
            asset=spec.asset,
            states=spec.states,
            category=spec.category,
            intervals=self.intervals(until_ns),
            counts=self.counts(),
            micro_stop_ns=spec.micro_stop_ns,
            startup_ns=spec.startup_ns,
        )

    def forget(self, before_ns: int) -> None:
        """Drop intervals that ended and counts made before ``before_ns`` (bounded memory)."""
        self._intervals = [self.intervals().since(before_ns)]
        self._counts = [self.counts().since(before_ns)]

    def _eval_times(self, ts: Int64) -> Int64:
        """Distinct sample times, plus the moments the asset went stale inside a silence."""
        first = np.empty(len(ts), dtype=np.bool_)
        first[0] = True
        np.not_equal(ts[1:], ts[:-1], out=first[1:])
        times = ts[first]
        before = times[0] if self._last_eval is None else self._last_eval
        prev = np.concatenate(([before], times[:-1]))
        gap = times - prev > self.spec.stale_ns
        if gap.any():
            times = np.sort(np.concatenate((times, prev[gap] + self.spec.stale_ns)))
        return times

    def _signals_at(
        self, at: Int64, ts: Int64, value: Float, ok: Bool, by_signal: list[npt.NDArray[np.intp]]
    ) -> tuple[dict[str, Float], Bool]:
        """Last value of each state signal at each time, and whether all of them are usable."""
        valid = np.ones(len(at), dtype=np.bool_)
        env: dict[str, Float] = {}
        for i, name in enumerate(self.spec.signals):
            rows = by_signal[i]
            v, good, seen = self._ffill(i, at, ts[rows], value[rows], ok[rows])
            env[name] = np.where(good, v, np.nan)
            valid &= good & (at - seen < self.spec.stale_ns)
        for i in range(len(self.spec.signals), len(self.inputs)):
            rows = by_signal[i]
            self._ffill(i, at, ts[rows], value[rows], ok[rows])
        return env, valid

    def _ffill(
        self, i: int, at: Int64, ts: Int64, value: Float, ok: Bool
    ) -> tuple[Float, Bool, Int64]:
        """Signal ``i`` carried forward to the times ``at``; updates its carried last sample."""
        if len(ts) == 0:
            n = len(at)
            return np.full(n, self._value[i]), np.full(n, self._ok[i]), np.full(n, self._seen[i])
        idx = np.searchsorted(ts, at, side="right") - 1
        has = idx >= 0
        j = np.maximum(idx, 0)
        v = np.where(has, value[j], self._value[i])
        good = np.where(has, ok[j], self._ok[i])
        seen = np.where(has, ts[j], self._seen[i])
        self._value[i], self._ok[i], self._seen[i] = value[-1], ok[-1], ts[-1]
        return v, good, seen

    def _classify(self, at: Int64, env: dict[str, Float], valid: Bool) -> npt.NDArray[np.int16]:
        spec = self.spec
        if spec.enum_codes is not None and spec.enum_states is not None:
            raw = env[spec.signals[0]]
            k = np.clip(np.searchsorted(spec.enum_codes, raw), 0, len(spec.enum_codes) - 1)
            known = spec.enum_codes[k] == raw
            states = np.where(known, spec.enum_states[k], 0).astype(np.int16)
        else:
            states = np.full(len(at), spec.default_state, dtype=np.int16)
            for r in reversed(range(len(spec.rules))):
                rule = spec.rules[r]
                with np.errstate(invalid="ignore"):
                    hit = rule.rule.evaluate(env)
                if rule.hold_ns is not None:
                    last = np.maximum.accumulate(np.where(hit, at, _NEVER))
                    last = np.maximum(last, self._hold_last[r])
                    self._hold_last[r] = last[-1]
                    hit = at - last <= rule.hold_ns
                states[hit] = rule.state
        states[~valid] = 0
        return states

    def _advance(self, at: Int64, states: npt.NDArray[np.int16]) -> list[MachineStateChanged]:
        if self._start is None:
            self._start = int(at[0])
        prev = np.concatenate(([self._state], states[:-1])).astype(np.int16)
        change = np.flatnonzero(states != prev)
        starts = np.concatenate(([self._start], at[change])).astype(np.int64)
        kinds = np.concatenate(([self._state], states[change])).astype(np.int16)
        ends = starts[1:]
        keep = ends > starts[:-1]
        self._intervals.append(Intervals(starts[:-1][keep], ends[keep], kinds[:-1][keep]))
        names = self.spec.states
        events = [
            MachineStateChanged(
                ts_ns=int(at[c]),
                subject=self.spec.asset,
                previous=names[int(prev[c])],
                state=names[int(states[c])],
            )
            for c in change
        ]
        self._start, self._state = int(starts[-1]), int(kinds[-1])
        self._last_eval = int(at[-1])
        return events

    def _count(
        self, ts: Int64, value: Float, ok: Bool, by_signal: list[npt.NDArray[np.intp]]
    ) -> None:
        """Parts counted in this batch, with their ideal time, appended to the counts."""
        spec = self.spec
        stamps: list[Int64] = []
        totals: list[Int64] = []
        scraps: list[Int64] = []
        for name, role in ((spec.good, "good"), (spec.scrap, "scrap"), (spec.total, "total")):
            if name is None:
                continue
            rows = by_signal[self.inputs.index(name)]
            deltas, self._counter_last[name] = counter_deltas(
                value[rows], last=self._counter_last[name], valid=ok[rows], rollover=spec.rollover
            )
            stamps.append(ts[rows])
            totals.append(deltas)
            scraps.append(deltas if role == "scrap" else np.zeros_like(deltas))
        if spec.inspection is not None:
            rows = by_signal[self.inputs.index(spec.inspection)]
            failed = (ok[rows] & (value[rows] < 0.5)).astype(np.int64)
            inspected = ok[rows].astype(np.int64)
            stamps.append(ts[rows])
            counted = spec.total is None and spec.good is None
            totals.append(inspected if counted else np.zeros_like(failed))
            scraps.append(failed)
        if not stamps:
            return
        at = np.concatenate(stamps)
        total, scrap = np.concatenate(totals), np.concatenate(scraps)
        keep = (total != 0) | (scrap != 0)
        if not keep.any():
            return
        at, total, scrap = at[keep], total[keep], scrap[keep]
        order = np.argsort(at, kind="stable")
        at, total, scrap = at[order], total[order], scrap[order]
        self._counts.append(Counts(at, total, scrap, self._ideal_at(at, ts, value, ok, by_signal)))

    def _ideal_at(
        self, at: Int64, ts: Int64, value: Float, ok: Bool, by_signal: list[npt.NDArray[np.intp]]
    ) -> Int64:
        """Ideal cycle (ns) at each count time, from the program running then; -1 if unknown."""
        ideal = self.spec.ideal
        if ideal.signal is None or ideal.codes is None or ideal.by_code_ns is None:
            return np.full(len(at), ideal.fixed_ns, dtype=np.int64)
        i = self.inputs.index(ideal.signal)
        rows = by_signal[i]
        carry = self._value[i] if self._ok[i] else np.nan
        if len(rows) == 0:
            code = np.full(len(at), carry)
        else:
            idx = np.searchsorted(ts[rows], at, side="right") - 1
            j = np.maximum(idx, 0)
            latest = np.where(ok[rows][j], value[rows][j], np.nan)
            code = np.where(idx >= 0, latest, carry)
        k = np.clip(np.searchsorted(ideal.codes, code), 0, len(ideal.codes) - 1)
        return np.where(ideal.codes[k] == code, ideal.by_code_ns[k], ideal.fixed_ns)
