"""The expected value of a slow signal at each time of day, learned from the training rows.

Many plant signals follow the day: hall temperature with the sun, load with the
shifts, a chiller with both. Judged on its raw level, such a signal either
alarms every afternoon or, with a window long enough to swallow the cycle, is
blind to a fault that keeps to the usual range but at the wrong hour (a machine
running through its night stop). The residual from its daily profile, value
minus the training median at that time of day, is what says "not as on other
days".

Whether a signal follows the day is decided from its training rows alone: a
profile learned from the first half of them must explain at least
``min_explained`` of the variance of the second half. A signal that does not
(a temperature that wanders from day to day) keeps its raw level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.timeunits import DAY_NS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_TRAINING_DAYS = 7
"""Days of training a profile needs. Each training day is judged against the profile of
the other days, so that a baseline learned from them is out-of-sample like every later
day; with fewer than three other days behind each, their medians are too noisy and the
baseline too small for the window features of a healthy day-following signal to stay
within it."""


@dataclass(frozen=True, slots=True)
class DailyProfile:
    """Median value per time-of-day bin (UTC), and how much held-out variance it explained."""

    medians: FloatArray
    explained: float

    @property
    def bins(self) -> int:
        return len(self.medians)

    def expected(self, ts_ns: IntArray) -> FloatArray:
        """The profile's value at each time; NaN in a bin the training never saw."""
        return np.asarray(self.medians[_phase(ts_ns, self.bins)])

    def residual(self, ts_ns: IntArray, values: FloatArray, *, train_rows: int = 0) -> FloatArray:
        """``values`` minus the profile: what a day-following signal does unlike other days.

        The first ``train_rows`` rows, the ones the profile was learned from, are
        cross-fitted: each training day's residual comes from a profile of the
        other training days. Their own values are part of the full profile's
        medians, so their residuals would be tighter than any later row's, and a
        baseline and thresholds learned from them would call every later day
        strange.
        """
        out = np.asarray(values - self.expected(ts_ns), dtype=np.float64)
        t, y = ts_ns[:train_rows], values[:train_rows]
        day = t // DAY_NS
        for d in np.unique(day).tolist():
            mine = day == d
            others = _fit(t[~mine], y[~mine], self.bins)
            out[:train_rows][mine] = y[mine] - others[_phase(t[mine], self.bins)]
        return out


def learn_daily_profile(
    ts_ns: IntArray, values: FloatArray, *, min_explained: float
) -> tuple[DailyProfile | None, str]:
    """The daily profile of the training rows if it explains enough, and why (or why not).

    One bin per sampling step (the median step between rows), so every row of a
    regular series has its own time of day. Needs :data:`MIN_TRAINING_DAYS` days
    of training; the check learns from the first half and judges the second.
    """
    ok = np.isfinite(values)
    ts, y = ts_ns[ok], values[ok]
    if len(ts) < 2:
        return None, "no daily profile: too few training samples"
    span = int(ts[-1] - ts[0])
    if span < MIN_TRAINING_DAYS * DAY_NS:
        return None, (
            f"no daily profile: {span / DAY_NS:.1f} days of training, {MIN_TRAINING_DAYS} needed"
        )
    steps = np.diff(ts)
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else float(DAY_NS)
    bins = max(1, round(DAY_NS / step))
    first = ts < ts[0] + span // 2
    check = _fit(ts[first], y[first], bins)
    held_out = y[~first] - check[_phase(ts[~first], bins)]
    known = np.isfinite(held_out)
    total = float(np.var(y[~first][known])) if known.sum() > 1 else 0.0
    if total <= 0:
        return None, "no daily profile: the held-out training day does not vary"
    explained = 1.0 - float(np.var(held_out[known])) / total
    if explained < min_explained:
        return None, (
            f"no daily profile: it explains {max(explained, 0.0):.0%} of the held-out "
            f"training variance, {min_explained:.0%} needed"
        )
    profile = DailyProfile(_fit(ts, y, bins), explained)
    return profile, (
        f"judged as the residual from its daily profile ({bins} bins), which explains "
        f"{explained:.0%} of the held-out training variance"
    )


def _phase(ts_ns: IntArray, bins: int) -> IntArray:
    """The time-of-day bin of each time (UTC)."""
    return np.asarray((ts_ns % DAY_NS) * bins // DAY_NS, dtype=np.int64)


def _fit(ts_ns: IntArray, values: FloatArray, bins: int) -> FloatArray:
    """Median per bin of the finite values; NaN for a bin without any.

    Sorted once by bin and value, each bin's median is its middle element (or the mean
    of the middle two): no Python step per bin, which matters for 1 s data (86,400 bins,
    fitted once per training day).
    """
    ok = np.isfinite(values)
    phase, values = _phase(ts_ns[ok], bins), values[ok]
    order = np.lexsort((values, phase))
    values = values[order]
    counts = np.bincount(phase, minlength=bins)
    starts = np.cumsum(counts) - counts
    seen = counts > 0
    low = starts[seen] + (counts[seen] - 1) // 2
    high = starts[seen] + counts[seen] // 2
    medians = np.full(bins, np.nan)
    medians[seen] = (values[low] + values[high]) / 2
    return medians
