"""How severe an active anomaly is, and how long until it reaches the top level.

The anomaly score decides *whether* there is an alarm; a :class:`SeverityScale`
decides *how severe* it is. They are separate because a score says how unlike
its baseline an asset is, not how close it is to damage: a bearing defect
multiplies band energies (and the score) long before the machine is in danger.
The default, :class:`ScoreSeverity`, grades by the score itself (right for slow
signals, where no physical limit is known); a spindle grades by its vibration
level (:class:`~plantos.analytics.anomaly.zones.ZoneSeverity`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.alarm import AlarmPolicy, time_to_threshold_s
from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.trend import NONE, TimeEstimate, sen_slope
from plantos.core.timeunits import NS_PER_S as NS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SeverityScale(Protocol):
    """Severity and time to the top severity at one row, carried across batches.

    ``row`` indexes ``frame``; what the scale remembered from earlier batches
    (:meth:`remember`) counts as history before ``frame``'s first row, and only
    rows up to ``row`` are looked at, so an event says what was known at its row.
    """

    @property
    def levels(self) -> tuple[str, ...]:
        """Severity names in rising order; escalation means moving up this list."""
        ...

    def severity(self, frame: FeatureFrame, row: int, score: float) -> str: ...

    def time_to_threshold_s(
        self, frame: FeatureFrame, row: int, scores: FloatArray
    ) -> float | None: ...

    def estimate(self, frame: FeatureFrame, row: int, scores: FloatArray) -> TimeEstimate:
        """The time to the top severity with its interval (``time_s`` as above)."""
        ...

    def remember(self, frame: FeatureFrame, scores: FloatArray) -> None:
        """Keep what later batches' trends need from this batch."""
        ...

    def reset(self) -> None:
        """Forget the history (the detector was refitted or the watch restarts)."""
        ...


class ScoreSeverity:
    """Severity as a multiple of the raise threshold; time until the score's robust linear
    trend over the last ``trend_points`` scores reaches the top severity's score."""

    def __init__(self, policy: AlarmPolicy) -> None:
        self.policy = policy
        self.levels = tuple(name for name, _ in policy.severities)
        self.reset()

    def reset(self) -> None:
        self._ts = np.zeros(0, np.int64)
        self._scores = np.zeros(0)

    def severity(self, frame: FeatureFrame, row: int, score: float) -> str:
        return self.policy.severity(score)

    def time_to_threshold_s(
        self, frame: FeatureFrame, row: int, scores: FloatArray
    ) -> float | None:
        ts, trend = self._with(frame.ts_ns[: row + 1], scores[: row + 1])
        return time_to_threshold_s(ts, trend, self.policy.threshold)

    def estimate(self, frame: FeatureFrame, row: int, scores: FloatArray) -> TimeEstimate:
        """The central estimate of :meth:`time_to_threshold_s`; the interval from Sen's
        confidence interval of the score's trend slope."""
        time_s = self.time_to_threshold_s(frame, row, scores)
        if time_s is None or time_s == 0.0:
            return NONE if time_s is None else TimeEstimate.reached()
        ts, trend = self._with(frame.ts_ns[: row + 1], scores[: row + 1])
        x = (ts - ts[-1]).astype(np.float64) / NS
        fit = sen_slope(x, trend)
        if fit is None:
            return TimeEstimate(time_s, None, None)
        gap = self.policy.threshold - float(trend[-1])
        return TimeEstimate(
            time_s,
            gap / fit.high if fit.high > 0 else None,
            gap / fit.low if fit.low > 0 else None,
        )

    def remember(self, frame: FeatureFrame, scores: FloatArray) -> None:
        self._ts, self._scores = self._with(frame.ts_ns, scores)

    def _with(self, ts: IntArray, scores: FloatArray) -> tuple[IntArray, FloatArray]:
        """The last ``trend_points`` finite scores, up to and including ``scores``."""
        ok = np.isfinite(scores)
        n = self.policy.trend_points
        return (
            np.concatenate((self._ts, ts[ok]))[-n:],
            np.concatenate((self._scores, scores[ok]))[-n:],
        )
