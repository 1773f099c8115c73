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

from plantos.analytics.anomaly.alarm import theil_sen_slope
from plantos.analytics.anomaly.detector import FeatureFrame
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


def exponential_time_to_s(ts_ns: IntArray, values: FloatArray, limit: float) -> float | None:
    """Seconds until the robust exponential trend of positive ``values`` reaches ``limit``.

    Bearing wear grows roughly exponentially, so the trend is a Theil-Sen line
    through log(value): one knock or one load change cannot tilt it. It is
    extrapolated from its own level at the newest time, not from the newest
    (noisy) value. 0 if that level is already at the limit; ``None`` with fewer
    than two points or a flat or falling trend.
    """
    ok = np.isfinite(values) & (values > 0)
    ts_ns, values = ts_ns[ok], values[ok]
    if len(values) < 2:
        return None
    t_s = (ts_ns - ts_ns[-1]).astype(np.float64) / NS
    log_v = np.log(values)
    slope = theil_sen_slope(t_s, log_v)
    level = float(np.median(log_v - slope * t_s)) if math.isfinite(slope) else math.nan
    if level >= math.log(limit):
        return 0.0
    if not slope > 0:
        return None
    return (math.log(limit) - level) / slope


class ZoneSeverity:
    """Severity from the velocity zone; time until the velocity reaches zone D.

    Only running snapshots count (operating state != 0): a stopped spindle reads
    ~0.2 mm/s whatever its bearing, so at a stopped row the newest running level
    stands. The level is the median of the newest ``level_points`` running
    snapshots, so one knock on the housing does not make a damaged bearing; the
    trend uses the newest ``trend_points`` (at one snapshot every 5 minutes, 24
    is two hours: recent enough to follow an accelerating defect).
    """

    levels = ("warning", "alarm", "critical")

    def __init__(
        self,
        zones: VelocityZones = GROUP2_RIGID,
        *,
        feature: str = "velocity_rms",
        trend_points: int = 24,
        level_points: int = 3,
    ) -> None:
        if trend_points < 2 or level_points < 1:
            raise ValueError("need trend_points >= 2 and level_points >= 1")
        self.zones = zones
        self.feature = feature
        self.trend_points = trend_points
        self.level_points = level_points
        self.reset()

    def reset(self) -> None:
        self._ts = np.zeros(0, np.int64)
        self._velocity = np.zeros(0)

    def _running(self, frame: FeatureFrame, stop: int) -> tuple[IntArray, FloatArray]:
        """The newest ``trend_points`` running velocities up to row ``stop`` (excluded)."""
        v = frame.values[:stop, frame.names.index(self.feature)]
        ok = (frame.state[:stop] != 0) & np.isfinite(v)
        return (
            np.concatenate((self._ts, frame.ts_ns[:stop][ok]))[-self.trend_points :],
            np.concatenate((self._velocity, v[ok]))[-self.trend_points :],
        )

    def level_at(self, frame: FeatureFrame, row: int) -> float | None:
        """The running velocity level (mm/s) at ``row``; ``None`` before any running row."""
        _, v = self._running(frame, row + 1)
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
        level = self.level_at(frame, row)
        if level is not None and level >= self.zones.c_d:
            return 0.0
        ts, v = self._running(frame, row + 1)
        return exponential_time_to_s(ts, v, self.zones.c_d)

    def remember(self, frame: FeatureFrame, scores: FloatArray) -> None:
        self._ts, self._velocity = self._running(frame, len(frame))
