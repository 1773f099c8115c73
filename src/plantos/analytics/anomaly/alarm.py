"""From a score to an alarm: hysteresis, minimum duration, severity and time to threshold.

One spike is not a work order: the score must stay above ``raise_at`` for
``min_duration_ns`` before an alarm is raised, and it clears only below the
lower ``clear_at`` so that a score hovering at the threshold does not chatter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.timeunits import NS_PER_S as NS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CONFIRMING_ROWS = 2
"""Judged rows in a row above ``clear_at`` an excursion needs before unjudged rows may
complete its minimum duration. One damaged snapshot can lift a capped, smoothed score from
health to just over ``raise_at`` in one row; a fault that grows passes ``clear_at`` first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmPolicy:
    """When to raise and clear, and how severity grows with the score.

    ``severities`` are (name, multiple of ``raise_at``) in rising order; the
    last one is the threshold that time-to-threshold counts towards.
    """

    raise_at: float = 6.0
    clear_at: float = 3.0
    min_duration_ns: int = 0
    severities: tuple[tuple[str, float], ...] = (
        ("warning", 1.0),
        ("alarm", 2.0),
        ("critical", 4.0),
    )
    top_features: int = 3
    trend_points: int = 24

    def __post_init__(self) -> None:
        if not 0 <= self.clear_at <= self.raise_at:
            raise ValueError(
                f"need 0 <= clear_at <= raise_at, got {self.clear_at} and {self.raise_at}"
            )
        if self.min_duration_ns < 0:
            raise ValueError(f"min_duration_ns must be >= 0, got {self.min_duration_ns}")
        if not self.severities:
            raise ValueError("severities must name at least one level")

    @property
    def threshold(self) -> float:
        """The score at the top severity: what time-to-threshold estimates."""
        return self.raise_at * self.severities[-1][1]

    def severity(self, score: float) -> str:
        level = self.severities[0][0]
        for name, multiple in self.severities:
            if score >= self.raise_at * multiple:
                level = name
        return level


@dataclass(frozen=True, slots=True)
class Transitions:
    """Per row the alarm flag, and the rows where an alarm was raised and cleared."""

    flags: npt.NDArray[np.bool_]
    raised: list[int]
    cleared: list[int]


class Hysteresis:
    """The alarm state machine, carried across batches.

    A NaN score (a row that cannot be judged) holds the current state and the score
    before it: time passes, so a score above ``raise_at`` raises once ``min_duration_ns``
    has passed even if the rows after it cannot be judged, provided the newest
    :data:`CONFIRMING_ROWS` judged rows were all above ``clear_at``. Otherwise a machine
    whose wear began in one operating state and that then runs only states it cannot be
    judged in (not learned, and not learnable while it drifts) would never be alarmed.
    """

    def __init__(self, policy: AlarmPolicy) -> None:
        self.policy = policy
        self.active = False
        self._above_since: int | None = None
        self._hot_rows = 0
        """Judged rows in a row above ``clear_at``, up to the newest."""

    def update(self, ts_ns: IntArray, scores: FloatArray) -> Transitions:
        p = self.policy
        flags = np.zeros(len(scores), dtype=bool)
        raised: list[int] = []
        cleared: list[int] = []
        for i, (t, s) in enumerate(zip(ts_ns.tolist(), scores.tolist(), strict=True)):
            if s != s:  # NaN: no judgement, the score before it holds
                if self._due(t) and self._hot_rows >= CONFIRMING_ROWS:
                    self.active = True
                    raised.append(i)
                flags[i] = self.active
                continue
            self._hot_rows = self._hot_rows + 1 if s > p.clear_at else 0
            if not self.active:
                if s >= p.raise_at:
                    self._above_since = t if self._above_since is None else self._above_since
                    if self._due(t):
                        self.active = True
                        raised.append(i)
                else:
                    self._above_since = None
            elif s < p.clear_at:
                self.active, self._above_since = False, None
                cleared.append(i)
            flags[i] = self.active
        return Transitions(flags, raised, cleared)

    def _due(self, t: int) -> bool:
        """Not active, and above ``raise_at`` since at least ``min_duration_ns`` before ``t``."""
        since = self._above_since
        return not self.active and since is not None and t - since >= self.policy.min_duration_ns


def theil_sen_slope(x: FloatArray, y: FloatArray) -> float:
    """Median of the pairwise slopes: a trend that one outlier cannot tilt. NaN if undefined."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    keep = dx != 0
    if not keep.any():
        return float("nan")
    return float(np.median((y[j] - y[i])[keep] / dx[keep]))


def time_to_threshold_s(ts_ns: IntArray, scores: FloatArray, threshold: float) -> float | None:
    """Seconds until the robust linear trend of ``scores`` reaches ``threshold``.

    0 if the last score is already there; ``None`` when the trend is flat or
    falling (no estimate is better than an infinite one).
    """
    ok = np.isfinite(scores)
    if not ok.any():
        return None
    last = float(scores[ok][-1])
    if last >= threshold:
        return 0.0
    t_s = (ts_ns - ts_ns[-1]).astype(np.float64) / NS
    slope = theil_sen_slope(t_s, scores)
    if not slope > 0:
        return None
    return (threshold - last) / slope
