"""Robust trends and the time until they reach a limit, with an honest interval.

A time to failure without its uncertainty invites the wrong decision: "96 h"
for a bearing that fails in 11 h. The trend is a Theil-Sen line (the median of
the pairwise slopes, which one knock cannot tilt) and its interval is Sen's
distribution-free confidence interval of that slope (ranks of the pairwise
slopes, from the variance of Kendall's S): a steeper slope gives the early end
of the time interval, a shallower one the late end, and a slope that may be
zero leaves the late end open (``None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DEFAULT_CONFIDENCE = 0.9


def _normal_quantile(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True, slots=True)
class Slope:
    """Theil-Sen slope with Sen's confidence interval, and the line's level at ``x = 0``."""

    slope: float
    low: float
    high: float
    level: float


def sen_slope(
    x: FloatArray, y: FloatArray, *, confidence: float = DEFAULT_CONFIDENCE
) -> Slope | None:
    """The robust line through finite points, or None with fewer than two distinct x.

    >>> s = sen_slope(np.arange(10.0), 2 * np.arange(10.0) + 1)
    >>> (s.slope, s.low, s.high, s.level)
    (2.0, 2.0, 2.0, 1.0)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    keep = dx != 0
    if not keep.any():
        return None
    slopes = np.sort((y[j] - y[i])[keep] / dx[keep])
    n, m = len(x), len(slopes)
    c = _normal_quantile(0.5 + confidence / 2) * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lo_rank = max(0, math.floor((m - c) / 2))
    hi_rank = min(m - 1, math.ceil((m + c) / 2))
    slope = float(np.median(slopes))
    level = float(np.median(y - slope * x))
    return Slope(slope, float(slopes[lo_rank]), float(slopes[hi_rank]), level)


@dataclass(frozen=True, slots=True)
class TimeEstimate:
    """Seconds until a limit is reached: the central estimate and its interval.

    ``low_s`` is the earliest plausible time, ``high_s`` the latest (None: the
    trend may not be rising, so it may never come). ``time_s`` None: no rising
    trend at all.
    """

    time_s: float | None
    low_s: float | None
    high_s: float | None

    @classmethod
    def reached(cls) -> TimeEstimate:
        return cls(0.0, 0.0, 0.0)


NONE = TimeEstimate(None, None, None)


def time_to_limit(
    x_s: FloatArray, y: FloatArray, limit: float, *, confidence: float = DEFAULT_CONFIDENCE
) -> TimeEstimate:
    """Time from ``x_s = 0`` (the newest point) until the robust line of ``y`` reaches ``limit``."""
    fit = sen_slope(x_s, y, confidence=confidence)
    if fit is None:
        return NONE
    if fit.level >= limit:
        return TimeEstimate.reached()
    gap = limit - fit.level

    def at(slope: float) -> float | None:
        return gap / slope if slope > 0 else None

    if not fit.high > 0:
        return NONE
    return TimeEstimate(at(fit.slope), at(fit.high), at(fit.low))
