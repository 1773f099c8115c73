"""Alarm thresholds from the training rows of the series itself, never from labels.

A fixed threshold on T-squared / k assumes Gaussian, independent features; real
windows overlap and real plants are not Gaussian, so the healthy score's range
differs from one signal to the next. The honest reference is the score the
detector gives healthy rows *it was not fitted on*: the training rows are
cut into consecutive blocks, each block is scored by a detector fitted on the
others (blocked cross-fitting keeps the time order within a block, so the EWMA
runs as it does in operation), and the raise threshold is a margin above a
high quantile of those scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.detector import Detector, FeatureFrame
from plantos.analytics.anomaly.presets import Calibration


@dataclass(frozen=True, slots=True)
class Calibrated:
    """The calibrated policy and what it came from: the held-out quantile and the floor."""

    policy: AlarmPolicy
    held_out_quantile: float | None
    floor: float
    held_out_rows: int

    def describe(self) -> str:
        """One line for notes and reports: the thresholds and how they were derived."""
        p = self.policy
        source = (
            f"held-out training score quantile {self.held_out_quantile:.3g} "
            f"over {self.held_out_rows} rows"
            if self.held_out_quantile is not None
            else "no held-out training score"
        )
        return (
            f"alarm thresholds from the training rows: raise at {p.raise_at:.3g}, clear below "
            f"{p.clear_at:.3g} ({source}; floor {self.floor:.3g})"
        )


def normal_quantile(p: float) -> float:
    """The standard normal quantile, by bisection on ``erf`` (no SciPy needed)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def chi2_per_dof_quantile(p: float, k: int) -> float:
    """The ``p`` quantile of chi-square(k) / k (Wilson-Hilferty, within 2% for k >= 2)."""
    z = normal_quantile(p)
    c = 2.0 / (9.0 * k)
    return max(0.0, (1 - c + z * math.sqrt(c)) ** 3)


def calibrate(
    make_detector: Callable[[], Detector],
    frame: FeatureFrame,
    base: AlarmPolicy,
    calibration: Calibration,
) -> Calibrated:
    """``base`` with its raise and clear thresholds derived from the training ``frame``."""
    block_of = np.repeat(
        np.arange(calibration.folds),
        [len(b) for b in np.array_split(np.arange(len(frame)), calibration.folds)],
    )
    held_out = []
    for b in range(calibration.folds):
        block = np.asarray(block_of == b, dtype=np.bool_)
        if block.all() or not block.any():
            continue
        detector = make_detector()
        detector.fit(frame.rows(~block))
        held_out.append(detector.score_batch(frame.rows(block)))
    scores = np.concatenate(held_out) if held_out else np.zeros(0)
    scores = scores[np.isfinite(scores)]
    floor = chi2_per_dof_quantile(calibration.floor_quantile, max(1, len(frame.names)))
    quantile = float(np.quantile(scores, calibration.quantile)) if len(scores) else None
    raise_at = max(floor, calibration.margin * quantile) if quantile is not None else floor
    policy = replace(base, raise_at=raise_at, clear_at=calibration.clear_fraction * raise_at)
    return Calibrated(policy, quantile, floor, len(scores))
