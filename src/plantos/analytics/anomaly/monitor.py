"""One asset watched by one detector: scores, alarm flags and the events they cause.

The same class runs in the stream (a batch at a time) and offline (the whole
file as one batch), which is why offline results say what the live platform
would have said: every decision (learning a state, raising, escalating,
clearing, a sensor finding) happens at a row, never at a batch boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.alarm import AlarmPolicy, Hysteresis
from plantos.analytics.anomaly.detector import Detector, FeatureFrame
from plantos.analytics.anomaly.events import (
    AnomalyCleared,
    AnomalyEscalated,
    AnomalyRaised,
    Evidence,
    SensorFinding,
    priority,
)
from plantos.analytics.anomaly.severity import ScoreSeverity, SeverityScale
from plantos.analytics.anomaly.stuck import StuckWatch
from plantos.core.events import Event
from plantos.core.timeunits import NS_PER_S as NS

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Strongest:
    """Per row of a batch, the row whose features explain its excursion: one of the batch's
    rows (``index``), or for -1 the one carried from an earlier batch (``before``)."""

    frame: FeatureFrame
    index: npt.NDArray[np.int64]
    before: FeatureFrame | None

    def row(self, i: int) -> FeatureFrame:
        j = int(self.index[i])
        if j < 0 and self.before is not None:
            return self.before
        return self.frame.rows(slice(j, j + 1))


@dataclass(frozen=True, slots=True)
class MonitorOutput:
    """Per row the (smoothed) score and the alarm flag; events raised by this batch."""

    scores: FloatArray
    flags: npt.NDArray[np.bool_]
    events: list[Event]


class AnomalyMonitor:
    """Detector plus alarm for one asset (``subject``), carried across batches.

    ``learn_rows`` > 0 makes the healthy baseline a healthy *operating* period
    rather than a span of wall-clock time: each operating state is learned
    from its first ``learn_rows`` complete rows, whenever they come (a machine
    on a two-shift calendar may not run at all in the first hours). Until then
    the state's rows are scored NaN and counted in :attr:`learning`, never
    silently dropped. When a state is learned the detector is refitted on every
    learned row (its score smoothing restarts); :attr:`learned_ns` says when.
    :meth:`fit` is then optional: it seeds states that already have enough rows.

    ``stuck_after_ns`` and ``missing_after_ns`` turn on :class:`SensorFinding`
    events: a feature that does not move for that long (a frozen sensor looks
    perfectly healthy), and no complete row for that long (a silent sensor).

    ``scale`` grades an active anomaly and estimates its time to the top
    severity; by default from the score (:class:`ScoreSeverity` of ``policy``).
    The score alone decides whether there is an alarm.

    ``neighbour_within`` judges the rows of a state not learned yet provisionally,
    against the learned state nearest to it, when the two state keys differ by at most
    that fraction of the row's key (states that are speeds: 12,250 rpm against 12,500).
    A state is not learned while the machine drifts toward an alarm, so without this a
    machine whose wear began in one program and that then runs a new one nearby would go
    unjudged until it ran a learned program again. Learning keeps the row's own state.
    None: such rows stay unjudged.
    """

    def __init__(
        self,
        detector: Detector,
        *,
        subject: str,
        policy: AlarmPolicy | None = None,
        learn_rows: int = 0,
        stuck_after_ns: int | None = None,
        missing_after_ns: int | None = None,
        scale: SeverityScale | None = None,
        neighbour_within: float | None = None,
    ):
        min_samples = int(getattr(detector, "min_samples", 1))
        if learn_rows < 0 or 0 < learn_rows < min_samples:
            raise ValueError(
                f"learn_rows must be 0 (off) or at least the detector's min_samples "
                f"({min_samples}), got {learn_rows}"
            )
        if neighbour_within is not None and not neighbour_within > 0:
            raise ValueError(f"neighbour_within must be positive, got {neighbour_within}")
        self.detector = detector
        self.subject = subject
        self.neighbour_within = neighbour_within
        self.policy = policy or AlarmPolicy()
        self.learn_rows = learn_rows
        self.stuck_after_ns = stuck_after_ns
        self.missing_after_ns = missing_after_ns
        self.scale: SeverityScale = scale or ScoreSeverity(self.policy)
        self.alarm = Hysteresis(self.policy)
        #: When each state learned while streaming got its baseline (ns).
        self.learned_ns: dict[int, int] = {}
        #: Rows kept to learn their state (scored NaN, or against a neighbouring state).
        self.learning_rows = 0
        #: Rows of a state not learned yet judged against a learned neighbouring state.
        self.provisional_rows = 0
        #: Rows of a state not yet learned that came while an alarm was active, or while
        #: the machine's last judged score was above ``clear_at`` (not learned).
        self.alarmed_rows_not_learned = 0
        self._trained: list[FeatureFrame] = []
        self._trained_states: set[int] = set()
        self._pending: dict[int, list[FeatureFrame]] = {}
        self._reset_watch()

    def _reset_watch(self) -> None:
        self.alarm = Hysteresis(self.policy)
        self._last_score = 0.0
        """The newest finite score: carried over the unjudged rows of unlearned states."""
        self._strongest: tuple[float, FeatureFrame] | None = None
        """The judged row with the highest raw score since the score was last at or below
        ``clear_at``, with that raw score: the evidence of the excursion."""
        self.scale.reset()
        self._open_ns: int | None = None
        self._severity = -1
        self._stuck: dict[str, StuckWatch] = {}
        self._last_ok_ns: int | None = None
        self._missing_rows = 0
        self._missing_reported = False

    @property
    def learning(self) -> dict[int, int]:
        """Per state still being learned, the complete rows collected so far."""
        return {s: sum(len(f) for f in parts) for s, parts in self._pending.items()}

    def fit(self, frame: FeatureFrame) -> None:
        """Learn the healthy baseline and start watching from a clean state.

        With ``learn_rows``, only states with at least that many complete rows
        are learned here; the rows of the others are kept and learning goes on.
        """
        self._pending, self._trained_states, self.learned_ns = {}, set(), {}
        if self.learn_rows:
            complete = frame.rows(np.asarray(np.isfinite(frame.values).all(axis=1), np.bool_))
            states, counts = np.unique(complete.state, return_counts=True)
            enough = {int(s) for s, n in zip(states, counts, strict=True) if n >= self.learn_rows}
            keep = np.isin(complete.state, list(enough))
            self._trained = [complete.rows(keep)]
            self._trained_states = enough
            for s in set(states.tolist()) - enough:
                self._pending[int(s)] = [complete.rows(np.asarray(complete.state == s, np.bool_))]
            self.detector.fit(self._trained[0])
        else:
            self.detector.fit(frame)
        self._reset_watch()

    def process(self, frame: FeatureFrame) -> MonitorOutput:
        """Score ``frame``'s rows in order, learning new states as they complete."""
        scores, flags, events = [], [], []
        start = 0
        while start < len(frame):
            done = self._completes(frame, start)
            stop = len(frame) if done is None else done + 1
            part = frame.rows(slice(start, stop))
            out, carried = self._watch(part)
            scores.append(out.scores)
            flags.append(out.flags)
            events += out.events
            self._learn(part, out.flags | self._unsettled(carried))
            start = stop
        if not len(frame):
            return MonitorOutput(np.zeros(0), np.zeros(0, bool), [])
        return MonitorOutput(np.concatenate(scores), np.concatenate(flags), events)

    def _unsettled(self, carried: FloatArray) -> npt.NDArray[np.bool_]:
        """Per row, whether the machine's newest judged score (``carried``, see
        :meth:`_carry`) is above ``clear_at``. A machine drifting toward an alarm that is
        not raised yet (its minimum duration still running) is no example of health
        either: a speed first run then would learn the beginning of the fault as normal,
        refit the baseline with it and clear the alarm to come."""
        return np.asarray(carried > self.policy.clear_at)

    def _carry(self, scores: FloatArray) -> FloatArray:
        """Per row the newest judged score up to it (from earlier batches where none);
        the last one is kept for the next batch."""
        judged = np.isfinite(scores)
        newest = np.maximum.accumulate(np.where(judged, np.arange(len(scores)), -1))
        carried = np.where(newest >= 0, scores[np.maximum(newest, 0)], self._last_score)
        if len(carried):
            self._last_score = float(carried[-1])
        return carried

    def _strongest_rows(self, frame: FeatureFrame, scores: FloatArray) -> Strongest:
        """Per row, the strongest judged row of the excursion so far (itself where none).

        An alarm's evidence comes from there, not from the row that raises it: the
        smoothed score is carried by the snapshots before, and the raising row may be a
        weak one (a lighter cut) or not judged at all. Its features would then explain
        nothing of the score the event reports.

        An excursion ends at a judged row at or below ``clear_at``; within one, a row
        above it takes over from every row before it that is not stronger (the later of
        equals). The excursion carried from earlier batches stands as a row before the
        first, so one pass of running maxima answers for every row of the batch.
        """
        hot = np.isfinite(scores) & (scores > self.policy.clear_at)
        ends = ~np.isnan(scores) & ~hot
        strength = np.full(len(frame), np.nan)
        if hot.any():
            strength[hot] = np.nansum(self.detector.contributions(frame.rows(hot)), axis=1)
        before = self._strongest
        hot = np.concatenate(([before is not None], hot))
        strength = np.concatenate(([np.nan if before is None else before[0]], strength))
        excursion = np.cumsum(np.concatenate(([False], ends)))
        # Strengths as ranks (equals share one), lifted by the excursion so that a running
        # maximum never reaches back into an excursion that has ended.
        _, rank = np.unique(strength[hot], return_inverse=True)
        key = excursion * (len(hot) + 1)
        key[hot] += rank.reshape(-1) + 1
        takes_over = hot & (key == np.maximum.accumulate(key))
        latest = np.maximum.accumulate(np.where(takes_over, np.arange(len(hot)), -1))
        found = (latest >= 0) & (excursion[np.maximum(latest, 0)] == excursion)
        index = np.where(found, latest, np.arange(len(hot))) - 1
        last = int(latest[-1])
        if not found[-1]:
            self._strongest = None
        elif last > 0:
            self._strongest = (float(strength[last]), frame.rows(slice(last - 1, last)))
        return Strongest(frame, index[1:], before[1] if before is not None else None)

    def _learning_mask(self, frame: FeatureFrame) -> npt.NDArray[np.bool_]:
        complete = np.isfinite(frame.values).all(axis=1)
        known = np.isin(frame.state, list(self._trained_states))
        return np.asarray(complete & ~known) if self.learn_rows else np.zeros(len(frame), bool)

    def _completes(self, frame: FeatureFrame, start: int) -> int | None:
        """The first row at or after ``start`` that may complete a state's learning, if any.

        It counts rows before knowing whether they come during an alarm (which
        :meth:`_learn` then keeps out), so it may stop early, never late: a part
        ends there and learning is checked again, which changes no answer.
        """
        counts = self.learning
        for i in (np.flatnonzero(self._learning_mask(frame)[start:]) + start).tolist():
            s = int(frame.state[i])
            counts[s] = counts.get(s, 0) + 1
            if counts[s] >= self.learn_rows:
                return i
        return None

    def _learn(self, part: FeatureFrame, alarmed: npt.NDArray[np.bool_]) -> None:
        """Keep ``part``'s rows of untrained states; refit when one has ``learn_rows``.

        Rows taken while an alarm is active, or while the score is above ``clear_at``
        (``alarmed``), are not kept: a machine in alarm or drifting toward one is no
        example of health, and a speed first run with a worn bearing would otherwise
        learn the wear as its normal and clear the alarm. Such rows stay unjudged
        (NaN), which holds the alarm where it is.
        """
        mask = self._learning_mask(part)
        self.alarmed_rows_not_learned += int((mask & alarmed).sum())
        mask &= ~alarmed
        if not mask.any():
            return
        self.learning_rows += int(mask.sum())
        rows = part.rows(mask)
        for s in np.unique(rows.state).tolist():
            self._pending.setdefault(s, []).append(rows.rows(np.asarray(rows.state == s, np.bool_)))
        for s, parts in list(self._pending.items()):
            if sum(len(f) for f in parts) >= self.learn_rows:
                self._trained += parts
                self._trained_states.add(s)
                del self._pending[s]
                self.learned_ns[s] = int(parts[-1].ts_ns[-1])
                self.detector.fit(FeatureFrame.concat(self._trained))

    def _judged_as(self, frame: FeatureFrame) -> FeatureFrame:
        """``frame`` with each state not learned yet replaced, for judging only, by the
        nearest learned state within ``neighbour_within`` of it (see the class doc)."""
        if self.neighbour_within is None or not self._trained_states:
            return frame
        known = np.array(sorted(self._trained_states), dtype=np.int64)
        new = np.flatnonzero(~np.isin(frame.state, known))
        if not len(new):
            return frame
        own = frame.state[new]
        nearest = known[np.argmin(np.abs(own[:, None] - known[None, :]), axis=1)]
        close = np.abs(nearest - own) <= self.neighbour_within * np.abs(own)
        if not close.any():
            return frame
        state = frame.state.copy()
        state[new[close]] = nearest[close]
        self.provisional_rows += int(close.sum())
        return FeatureFrame(frame.values, frame.names, frame.ts_ns, state)

    def _watch(self, frame: FeatureFrame) -> tuple[MonitorOutput, FloatArray]:
        """Judge one part of a batch: its output, and per row the score carried there."""
        frame = self._judged_as(frame)
        scores = self.detector.score_batch(frame)
        carried = self._carry(scores)
        strongest = self._strongest_rows(frame, scores)
        tr = self.alarm.update(frame.ts_ns, scores)
        at: list[tuple[int, int, Event]] = []
        # In row order: a batch may raise and clear twice, and a clear's duration counts
        # from the raise just before it.
        for i, raised in sorted([(i, True) for i in tr.raised] + [(i, False) for i in tr.cleared]):
            if raised:
                self._open_ns = int(frame.ts_ns[i])
                event = self._raised(frame, i, scores, float(carried[i]), strongest.row(i))
                at.append((i, 1, event))
            else:
                at.append((i, 3, self._cleared(int(frame.ts_ns[i]), float(scores[i]))))
        at += self._escalations(frame, scores, carried, tr.flags, set(tr.raised), strongest)
        at += self._findings(frame)
        self.scale.remember(frame, scores)
        events = [e for _, _, e in sorted(at, key=lambda x: (x[0], x[1]))]
        return MonitorOutput(scores, tr.flags, events), carried

    def _escalations(
        self,
        frame: FeatureFrame,
        scores: FloatArray,
        carried: FloatArray,
        flags: npt.NDArray[np.bool_],
        raised: set[int],
        strongest: Strongest,
    ) -> list[tuple[int, int, Event]]:
        """An event at each row where an active anomaly reaches a higher severity than before;
        at a row that cannot be judged with the score carried there (a severity graded by
        the vibration level still rises while the spindle runs a program not learned)."""
        out: list[tuple[int, int, Event]] = []
        for i, (score, active) in enumerate(zip(carried.tolist(), flags.tolist(), strict=True)):
            if not active:
                self._severity = -1
                continue
            severity = self.scale.severity(frame, i, score)
            rank = self.scale.levels.index(severity)
            if i in raised:
                self._severity = rank
            elif rank > self._severity:
                previous = self.scale.levels[max(self._severity, 0)]
                self._severity = rank
                estimate = self.scale.estimate(frame, i, scores)
                event = AnomalyEscalated(
                    ts_ns=int(frame.ts_ns[i]),
                    subject=self.subject,
                    score=score,
                    severity=severity,
                    previous=previous,
                    evidence=self.evidence(strongest.row(i), score),
                    time_to_threshold_s=estimate.time_s,
                    detector=self.detector.name,
                    time_to_threshold_low_s=estimate.low_s,
                    time_to_threshold_high_s=estimate.high_s,
                    severity_rank=rank,
                    priority=priority(rank, estimate.low_s),
                )
                out.append((i, 2, event))
        return out

    def _findings(self, frame: FeatureFrame) -> list[tuple[int, int, Event]]:
        """Stuck features and stretches without a complete row, as :class:`SensorFinding`."""
        out: list[tuple[int, int, Event]] = []
        if self.stuck_after_ns is not None:
            for j, name in enumerate(frame.names):
                watch = self._stuck.setdefault(
                    name, StuckWatch(min_duration_ns=self.stuck_after_ns)
                )
                column = frame.values[:, j]
                for run in watch.update(frame.ts_ns, column):
                    # The watch reports the run as far as this batch goes; the finding
                    # belongs to the row where it first lasted long enough, whatever the batch.
                    ok = np.isfinite(column)
                    reached = ok & (frame.ts_ns >= run.start_ns + self.stuck_after_ns)
                    i = int(np.flatnonzero(reached)[0])
                    later = ok & (frame.ts_ns > frame.ts_ns[i]) & (frame.ts_ns <= run.end_ns)
                    finding = SensorFinding(
                        ts_ns=int(frame.ts_ns[i]),
                        subject=f"{self.subject}/{name}",
                        finding="stuck",
                        since_ns=run.start_ns,
                        samples=run.samples - int(later.sum()),
                    )
                    out.append((i, 0, finding))
        if self.missing_after_ns is not None:
            complete = np.asarray(np.isfinite(frame.values).all(axis=1), np.bool_).tolist()
            for i, (t, ok) in enumerate(zip(frame.ts_ns.tolist(), complete, strict=True)):
                last = self._last_ok_ns if self._last_ok_ns is not None else t
                self._last_ok_ns = last
                gap = t - last > self.missing_after_ns
                if gap and not self._missing_reported:
                    self._missing_reported = True
                    finding = SensorFinding(
                        ts_ns=t,
                        subject=self.subject,
                        finding="missing",
                        since_ns=last,
                        samples=self._missing_rows + (not ok),
                    )
                    out.append((i, 0, finding))
                if ok:
                    self._last_ok_ns, self._missing_rows, self._missing_reported = t, 0, False
                else:
                    self._missing_rows += 1
        return out

    def _raised(
        self, frame: FeatureFrame, i: int, scores: FloatArray, score: float, strongest: FeatureFrame
    ) -> AnomalyRaised:
        """The event for an alarm raised at row ``i`` of ``frame``, with ``score`` carried
        there (the row itself may not be judged) and ``strongest``'s evidence."""
        severity = self.scale.severity(frame, i, score)
        rank = self.scale.levels.index(severity)
        estimate = self.scale.estimate(frame, i, scores)
        return AnomalyRaised(
            ts_ns=int(frame.ts_ns[i]),
            subject=self.subject,
            score=score,
            severity=severity,
            evidence=self.evidence(strongest, score),
            time_to_threshold_s=estimate.time_s,
            detector=self.detector.name,
            time_to_threshold_low_s=estimate.low_s,
            time_to_threshold_high_s=estimate.high_s,
            severity_rank=rank,
            priority=priority(rank, estimate.low_s),
        )

    def _cleared(self, ts_ns: int, score: float) -> AnomalyCleared:
        since = self._open_ns if self._open_ns is not None else ts_ns
        return AnomalyCleared(
            ts_ns=ts_ns,
            subject=self.subject,
            score=score,
            detector=self.detector.name,
            duration_s=(ts_ns - since) / NS,
        )

    def evidence(self, row: FeatureFrame, score: float | None = None) -> tuple[Evidence, ...]:
        """The features that contribute most to one row's score, with their expected values.

        The detector's contributions explain its raw (unsmoothed) score; they are scaled
        so that all features' shares sum to ``score`` (the event's smoothed score), so a
        share is a part of the score the event reports.
        """
        shares = self.detector.contributions(row)[0]
        total = float(np.nansum(shares))
        if score is not None and score == score and total > 0:
            shares = shares * (score / total)
        expected = self._expected(row)
        relations = self._relations(row, shares)
        order = np.argsort(-np.nan_to_num(shares, nan=-np.inf))[: self.policy.top_features]
        return tuple(
            Evidence(
                feature=row.names[j],
                value=float(row.values[0, j]),
                expected=None if expected[j] != expected[j] else float(expected[j]),
                share=float(shares[j]),
                relation=relations[j],
            )
            for j in order.tolist()
        )

    def _expected(self, row: FeatureFrame) -> FloatArray:
        """Per feature the expected value: the detector's prediction, else the healthy centre."""
        predict = getattr(self.detector, "expected", None)
        if predict is not None:
            return np.asarray(predict(row)[0], dtype=np.float64)
        baseline_for = getattr(self.detector, "baseline_for", None)
        base = baseline_for(int(row.state[0])) if baseline_for is not None else None
        if base is None:
            return np.full(len(row.names), np.nan)
        return np.asarray(base.center, dtype=np.float64)

    def _relations(self, row: FeatureFrame, shares: FloatArray) -> list[str]:
        """Per feature what broke, for a detector that models relations between channels."""
        dominant = getattr(self.detector, "dominant", None)
        partners = getattr(self.detector, "partners", None)
        if dominant is None or partners is None:
            return [""] * len(row.names)
        if dominant(row)[0] == "T2":
            return ["beyond its healthy range"] * len(row.names)
        out = []
        for j in range(len(row.names)):
            names = partners(j)
            out.append(f"off its relation with {', '.join(names)}" if names else "")
        return out
