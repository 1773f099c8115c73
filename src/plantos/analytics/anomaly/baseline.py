"""A healthy baseline for one operating state: robust centre, scale and a never-singular precision.

Kept apart from the detector so that its numerics (what happens with one row,
a flat feature, two identical features) can be tested and reasoned about alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_MAD_TO_SIGMA = 1.4826
_Z_CLIP = 6.0  # a training row further out than this does not bend the correlations
_RIDGE = 1e-6
#: The least healthy spread of a feature, relative to its level (see :func:`robust_scale`).
DEFAULT_RELATIVE_FLOOR = 1e-3


@dataclass(frozen=True, slots=True)
class Baseline:
    """Healthy reference of one state. ``stuck`` names features that never moved in training."""

    names: tuple[str, ...]
    center: FloatArray
    scale: FloatArray
    precision: FloatArray
    stuck: tuple[str, ...]
    rows: int

    def z(self, x: FloatArray) -> FloatArray:
        """Standardised deviations from the healthy centre."""
        return np.asarray((x - self.center) / self.scale)

    def t2(self, x: FloatArray) -> FloatArray:
        """Hotelling T-squared of each row."""
        z = self.z(x)
        return np.asarray(np.einsum("ij,jk,ik->i", z, self.precision, z))

    def contributions(self, x: FloatArray) -> FloatArray:
        """Each feature's share ``z_j * (P z)_j`` of T-squared; rows sum to :meth:`t2`."""
        z = self.z(x)
        return np.asarray(z * (z @ self.precision))


def robust_scale(
    x: FloatArray, center: FloatArray, *, relative_floor: float = DEFAULT_RELATIVE_FLOOR
) -> FloatArray:
    """Per column, the larger of the MAD sigma and a 1%-99% range sigma, with a floor.

    The MAD alone would call every rare but normal transient (a tool change, a
    square wave's edge) an outlier; the central 98% range admits those without
    letting one glitch set the scale. The floor, ``relative_floor`` of the
    level, keeps a flat feature from dividing by zero while still noticing when
    it moves; a larger one says how closely the quantity can be measured again
    at all (a re-mounted vibration sensor, another workpiece): a baseline
    learned from a short run must not be tighter than that.
    """
    mad = _MAD_TO_SIGMA * np.median(np.abs(x - center), axis=0)
    lo, hi = np.percentile(x, [1.0, 99.0], axis=0)
    range_sigma = (hi - lo) / 4.65
    floor = relative_floor * np.maximum(np.abs(center), 1e-3)
    return np.asarray(np.maximum(np.maximum(mad, range_sigma), floor))


def ledoit_wolf(z: FloatArray) -> FloatArray:
    """Ledoit-Wolf shrinkage covariance of centred rows, plus a small ridge: always invertible."""
    n, k = z.shape
    s = z.T @ z / n
    mu = float(np.trace(s)) / k
    if mu <= 0:
        return np.eye(k)
    target = mu * np.eye(k)
    d2 = float(np.sum((s - target) ** 2))
    b2_sum = float(np.sum(np.sum(z**2, axis=1) ** 2)) - n * float(np.sum(s**2))
    b2 = min(max(b2_sum / n**2, 0.0), d2)
    shrink = 1.0 if n < 2 or d2 <= 0 else b2 / d2
    return np.asarray(shrink * target + (1 - shrink) * s + _RIDGE * mu * np.eye(k))


def fit_baseline(
    rows: FloatArray,
    names: tuple[str, ...],
    *,
    relative_floor: float = DEFAULT_RELATIVE_FLOOR,
) -> Baseline:
    """Baseline from finite training rows (at least one)."""
    if rows.ndim != 2 or len(rows) == 0 or rows.shape[1] != len(names):
        raise ValueError(f"need at least one row of {len(names)} features, got {rows.shape}")
    center = np.median(rows, axis=0)
    flat = np.ptp(rows, axis=0) == 0
    stuck = tuple(n for n, f in zip(names, flat, strict=True) if f) if len(rows) > 1 else ()
    scale = robust_scale(rows, center, relative_floor=relative_floor)
    z = np.clip((rows - center) / scale, -_Z_CLIP, _Z_CLIP)
    cov = ledoit_wolf(z - z.mean(axis=0))
    # Work in correlation form so that a stuck (all-zero) column keeps unit weight.
    d = np.sqrt(np.maximum(np.diag(cov), 1e-12))
    corr = cov / np.outer(d, d)
    precision = np.linalg.inv(corr)
    return Baseline(names, center, scale, np.asarray(precision), stuck, len(rows))
