"""Spindle severity the way a vibration analyst judges it: ISO evaluation zones of the
broadband velocity RMS, and the time until the level reaches zone D.

ISO 10816-3 (since 2022 ISO 20816-3), Annex A, grades the broadband velocity RMS
(mm/s, on the bearing housing) of industrial machines in four zones: A (new
machine), B (acceptable for unrestricted long-term operation), C (restricted
operation until a suitable opportunity for remedial action), D (severe enough to
cause damage). The boundaries depend on machine size and foundation; the default
here is group 2 (medium machines, 15 kW to 300 kW, which is where machining
spindles sit) on a rigid foundation: A/B 1.4, B/C 2.8, C/D 4.5 mm/s. The zones
are a starting point the standard itself says to adapt to experience with the
machine, hence configurable per spindle (``analytics.spindles`` in the plant file).

A bearing defect found by its band energies long before the broadband level moves
is anomalous but still acceptable: a ``warning`` (plan an inspection), not a
``critical`` (stop), however large the anomaly score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.features import STANDSTILL
from plantos.analytics.anomaly.trend import NONE, TimeEstimate, time_to_limit
from plantos.core.timeunits import NS_PER_S as NS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ZONE_SEVERITY = {"A": "warning", "B": "warning", "C": "alarm", "D": "critical"}
"""Zone of an active anomaly to its severity: in A or B the vibration is still acceptable
(plan an inspection), in C operation is restricted (plan maintenance), in D damage is likely."""


@dataclass(frozen=True, slots=True)
class VelocityZones:
    """The three zone boundaries in mm/s; a level on a boundary belongs to the higher zone."""

    a_b: float
    b_c: float
    c_d: float

    def __post_init__(self) -> None:
        if not 0 < self.a_b < self.b_c < self.c_d:
            raise ValueError(
                f"zone boundaries must be positive and increasing (A/B < B/C < C/D), "
                f"got {self.a_b}, {self.b_c}, {self.c_d}"
            )

    def zone(self, velocity_mm_s: float) -> str:
        """``A``, ``B``, ``C`` or ``D``."""
        if velocity_mm_s >= self.c_d:
            return "D"
        if velocity_mm_s >= self.b_c:
            return "C"
        return "B" if velocity_mm_s >= self.a_b else "A"


GROUP2_RIGID = VelocityZones(a_b=1.4, b_c=2.8, c_d=4.5)
"""ISO 10816-3 / 20816-3 group 2 (15-300 kW), rigid foundation."""


class ZoneSeverity:
    """Severity from the velocity zone; time until the velocity reaches zone D, with its interval.

    Only running snapshots count (state not :data:`STANDSTILL`): a stopped spindle reads
    ~0.2 mm/s whatever its bearing, so at a stopped row the newest running level
    stands. The level is the median of the newest ``level_points`` running
    snapshots, so one knock on the housing does not make a damaged bearing; the
    trend uses the newest ``trend_points`` (at one snapshot every 5 minutes, 24
    is two hours: recent enough to follow an accelerating defect).

    Time to zone D: the velocity is the spindle's healthy level plus what the
    defect adds, and early on the data cannot tell whether the defect's part
    grows exponentially on top of a steady healthy level (the *excess* model:
    log(v - healthy), healthy = the median of each speed band's first
    ``healthy_points`` running snapshots) or the whole level does (the *total*
    model: log(v)). The first grows faster and is the central estimate; the
    interval spans both models' Sen confidence intervals
    (:mod:`~plantos.analytics.anomaly.trend`), model and fit uncertainty together.
    """

    levels = ("warning", "alarm", "critical")

    def __init__(
        self,
        zones: VelocityZones = GROUP2_RIGID,
        *,
        feature: str = "velocity_rms",
        trend_points: int = 24,
        level_points: int = 3,
        healthy_points: int = 24,
    ) -> None:
        if trend_points < 2 or level_points < 1 or healthy_points < 1:
            raise ValueError("need trend_points >= 2, level_points >= 1 and healthy_points >= 1")
        self.zones = zones
        self.feature = feature
        self.trend_points = trend_points
        self.level_points = level_points
        self.healthy_points = healthy_points
        self.reset()

    def reset(self) -> None:
        self._ts = np.zeros(0, np.int64)
        self._velocity = np.zeros(0)
        self._state = np.zeros(0, np.int64)
        self._healthy: dict[int, list[float]] = {}

    def _running(self, frame: FeatureFrame, stop: int) -> tuple[IntArray, FloatArray, IntArray]:
        """The newest ``trend_points`` running velocities up to row ``stop`` (excluded)."""
        v = frame.values[:stop, frame.names.index(self.feature)]
        ok = (frame.state[:stop] != STANDSTILL) & np.isfinite(v)
        n = self.trend_points
        return (
            np.concatenate((self._ts, frame.ts_ns[:stop][ok]))[-n:],
            np.concatenate((self._velocity, v[ok]))[-n:],
            np.concatenate((self._state, frame.state[:stop][ok]))[-n:],
        )

    def level_at(self, frame: FeatureFrame, row: int) -> float | None:
        """The running velocity level (mm/s) at ``row``; ``None`` before any running row."""
        _, v, _ = self._running(frame, row + 1)
        return float(np.median(v[-self.level_points :])) if len(v) else None

    @property
    def level(self) -> float | None:
        """The newest running velocity level (mm/s) remembered, for a health page."""
        v = self._velocity[-self.level_points :]
        return float(np.median(v)) if len(v) else None

    @property
    def zone(self) -> str | None:
        """The zone of :attr:`level`; ``None`` before any running snapshot."""
        level = self.level
        return self.zones.zone(level) if level is not None else None

    @property
    def graded(self) -> str:
        """The severity an anomaly active now would have, from :attr:`zone`."""
        zone = self.zone
        return ZONE_SEVERITY[zone] if zone is not None else self.levels[0]

    def severity(self, frame: FeatureFrame, row: int, score: float) -> str:
        level = self.level_at(frame, row)
        return ZONE_SEVERITY[self.zones.zone(level)] if level is not None else self.levels[0]

    def time_to_threshold_s(
        self, frame: FeatureFrame, row: int, scores: FloatArray
    ) -> float | None:
        return self.estimate(frame, row, scores).time_s

    def estimate(self, frame: FeatureFrame, row: int, scores: FloatArray) -> TimeEstimate:
        """Time until the running velocity reaches C/D, with its interval (see the class)."""
        level = self.level_at(frame, row)
        if level is not None and level >= self.zones.c_d:
            return TimeEstimate.reached()
        ts, v, states = self._running(frame, row + 1)
        ok = v > 0
        if ok.sum() < 2:
            return NONE
        x = (ts - ts[-1]).astype(np.float64) / NS
        total = time_to_limit(x[ok], np.log(v[ok]), math.log(self.zones.c_d))
        healthy = self._healthy_levels(frame, row)
        base = np.array([healthy.get(int(s), math.nan) for s in states.tolist()])
        excess = v - base
        use = np.isfinite(excess) & (excess > 0)
        newest = base[-1]
        room = self.zones.c_d - newest
        extra = (
            time_to_limit(x[use], np.log(excess[use]), math.log(room))
            if use.sum() >= 2 and math.isfinite(newest) and room > 0
            else NONE
        )
        return span_of(extra, total)

    def _healthy_levels(self, frame: FeatureFrame, row: int) -> dict[int, float]:
        """Per speed band, the median of its first ``healthy_points`` running velocities."""
        seen = {s: list(v) for s, v in self._healthy.items()}
        self._collect(seen, frame, row + 1)
        return {s: float(np.median(v)) for s, v in seen.items() if v}

    def _collect(self, seen: dict[int, list[float]], frame: FeatureFrame, stop: int) -> None:
        v = frame.values[:stop, frame.names.index(self.feature)]
        for s, x in zip(frame.state[:stop].tolist(), v.tolist(), strict=True):
            if s != STANDSTILL and x == x:
                kept = seen.setdefault(int(s), [])
                if len(kept) < self.healthy_points:
                    kept.append(float(x))

    def remember(self, frame: FeatureFrame, scores: FloatArray) -> None:
        self._collect(self._healthy, frame, len(frame))
        self._ts, self._velocity, self._state = self._running(frame, len(frame))


def span_of(central: TimeEstimate, other: TimeEstimate) -> TimeEstimate:
    """``central``'s estimate (the other's when it has none) with an interval spanning both.

    A model whose slope may be zero or rising (no central estimate, an early end) still
    widens the interval: its early end counts, and the late end is open.
    """
    models = [e for e in (central, other) if e.time_s is not None or e.low_s is not None]
    if not models:
        return NONE
    time_s = central.time_s if central.time_s is not None else other.time_s
    lows = [e.low_s for e in models if e.low_s is not None]
    highs = [e.high_s for e in models]
    high = None if None in highs else max(h for h in highs if h is not None)
    return TimeEstimate(time_s, min(lows) if lows else None, high)
