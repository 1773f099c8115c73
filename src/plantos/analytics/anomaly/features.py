"""Window features, vectorised: what a detector compares with its healthy baseline.

Two families. A vibration *snapshot* (a burst of raw acceleration) becomes one
row of RMS, peak, crest factor, kurtosis and FFT band energies: a bearing defect
shows first as impacts (peak, crest, kurtosis) and as energy in the housing's
resonance band, long before the overall RMS moves. A *slow signal* (temperature,
load, a 1 s RMS) becomes, per sample, the level, slope and spread over a
trailing window, and the residual of the newest value from that window: a drift
shows in level and slope, a sudden change in the residual.

Every slow-signal feature of a row uses that row and the rows before it only,
and each window is computed on its own (no running sums), so a stream fed in
batches gives bit-identical features to one pass over the whole series.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SNAPSHOT_FEATURES = ("rms", "peak", "crest", "kurtosis")
SLOW_FEATURES = ("level", "slope", "spread", "residual")
STANDSTILL = 0
"""The operating state :func:`speed_band` gives a spindle at or below its idle speed. A
standstill snapshot says nothing of a bearing (its defects ring only while it turns), so
whatever judges spindles sets these rows apart."""


def snapshot_features(
    snapshots: npt.ArrayLike, *, rate_hz: float, bands_hz: Sequence[tuple[float, float]]
) -> tuple[FloatArray, tuple[str, ...]]:
    """Features of each row of ``snapshots`` (one raw burst per row) and their names.

    Band energies are the mean-square value carried by each frequency band
    (Parseval: the bands of a full split sum to the mean square of the
    demeaned signal), so they are in the same unit squared as the signal.

    >>> tone = np.sin(2 * np.pi * 50 * np.arange(1000) / 1000.0)
    >>> x, names = snapshot_features([tone], rate_hz=1000, bands_hz=[(40, 60)])
    >>> [round(float(v), 3) for v in x[0]], names
    ([0.707, 1.0, 1.414, 1.5, 0.5], ('rms', 'peak', 'crest', 'kurtosis', 'band_40_60hz'))
    """
    x = np.atleast_2d(np.asarray(snapshots, dtype=np.float64))
    if rate_hz <= 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz}")
    n = x.shape[1]
    rms = np.sqrt(np.mean(x**2, axis=1))
    peak = np.max(np.abs(x), axis=1)
    centred = x - x.mean(axis=1, keepdims=True)
    var = np.mean(centred**2, axis=1)
    safe_var = np.where(var > 0, var, 1.0)
    kurtosis = np.where(var > 0, np.mean(centred**4, axis=1) / safe_var**2, 0.0)
    crest = np.where(rms > 0, peak / np.where(rms > 0, rms, 1.0), 0.0)
    power = np.abs(np.fft.rfft(centred, axis=1)) ** 2 / n**2
    power[:, 1 : (n + 1) // 2] *= 2.0  # one-sided: every bin but DC and Nyquist counts twice
    freqs = np.fft.rfftfreq(n, d=1.0 / rate_hz)
    bands = []
    names = list(SNAPSHOT_FEATURES)
    for lo, hi in bands_hz:
        if not 0 <= lo < hi:
            raise ValueError(f"a band needs 0 <= low < high, got ({lo}, {hi})")
        bands.append(power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1))
        names.append(f"band_{lo:g}_{hi:g}hz")
    out = np.column_stack([rms, peak, crest, kurtosis, *bands])
    out[~np.isfinite(x).all(axis=1)] = np.nan  # a snapshot with a gap is no snapshot
    return out, tuple(names)


def slow_features(values: npt.ArrayLike, *, window: int) -> FloatArray:
    """Level, slope (per sample, least squares), spread and residual over a trailing window.

    Row ``i`` describes ``values[i - window + 1 : i + 1]``; NaN marks a missing
    sample and is left out. A row whose window is less than half valid, or whose
    newest sample is missing, is all NaN: no judgement rather than a guess.
    The first ``window - 1`` rows are NaN (warm-up).

    >>> slow_features([1.0, 2.0, 3.0, 4.0], window=3)[-1].round(3).tolist()
    [3.0, 1.0, 0.816, 1.0]
    """
    y = np.asarray(values, dtype=np.float64)
    if window < 2:
        raise ValueError(f"window must be at least 2 samples, got {window}")
    out = np.full((len(y), len(SLOW_FEATURES)), np.nan)
    if len(y) < window:
        return out
    w = np.lib.stride_tricks.sliding_window_view(y, window)
    ok = np.isfinite(w)
    count = ok.sum(axis=1)
    usable = (count >= max(2, (window + 1) // 2)) & ok[:, -1]
    wz = np.where(ok, w, 0.0)
    t = np.broadcast_to(np.arange(window, dtype=np.float64), w.shape)
    tz = np.where(ok, t, 0.0)
    c = np.maximum(count, 1)
    level = wz.sum(axis=1) / c
    t_mean = tz.sum(axis=1) / c
    dt = np.where(ok, t - t_mean[:, None], 0.0)
    dy = np.where(ok, w - level[:, None], 0.0)
    sxx = (dt**2).sum(axis=1)
    slope = np.where(sxx > 0, (dt * dy).sum(axis=1) / np.where(sxx > 0, sxx, 1.0), 0.0)
    spread = np.sqrt((dy**2).sum(axis=1) / c)
    residual = w[:, -1] - level
    feats = np.column_stack([level, slope, spread, residual])
    feats[~usable] = np.nan
    out[window - 1 :] = feats
    return out


class SlowFeatureStream:
    """:func:`slow_features` fed in batches: keeps the last ``window - 1`` samples between calls."""

    def __init__(self, *, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2 samples, got {window}")
        self.window = window
        self._tail: FloatArray = np.zeros(0)

    def update(self, values: npt.ArrayLike) -> FloatArray:
        """Features of each new sample, exactly as one pass over the whole series gives them."""
        y = np.concatenate([self._tail, np.asarray(values, dtype=np.float64)])
        feats = slow_features(y, window=self.window)[len(self._tail) :]
        self._tail = y[-(self.window - 1) :]
        return feats


class StateExpectation:
    """The expected level of a signal per operating state, learned from a healthy period.

    A spindle's temperature at 12,000 rpm is not its temperature at 3,000 rpm;
    the residual from the state's median is what says "hotter than it should be".
    A state needs ``min_rows`` healthy samples: the median of a few is not an
    expectation, and a row's own value in it would make its residual too small.
    """

    def __init__(self, *, min_rows: int = 1) -> None:
        if min_rows < 1:
            raise ValueError(f"min_rows must be at least 1, got {min_rows}")
        self.min_rows = min_rows
        self.expected: dict[int, float] = {}

    def fit(self, values: npt.ArrayLike, states: npt.ArrayLike) -> None:
        """Learn the median of each state with at least ``min_rows`` finite values."""
        y, s = np.asarray(values, dtype=np.float64), np.asarray(states, dtype=np.int64)
        ok = np.isfinite(y)
        y, s = y[ok], s[ok]
        order = np.argsort(s, kind="stable")
        y, s = y[order], s[order]
        cuts = np.flatnonzero(np.diff(s)) + 1
        self.expected = {
            int(group[0]): float(np.median(v))
            for group, v in zip(np.split(s, cuts), np.split(y, cuts), strict=True)
            if len(v) >= self.min_rows
        }

    def residual(self, values: npt.ArrayLike, states: npt.ArrayLike) -> FloatArray:
        """``value - expected[state]``; NaN where the state has no expectation (never seen
        healthy, or with fewer than ``min_rows`` values)."""
        y, s = np.asarray(values, dtype=np.float64), np.asarray(states, dtype=np.int64)
        keys = np.array(sorted(self.expected), dtype=np.int64)
        if not len(keys):
            return np.full(len(y), np.nan)
        medians = np.array([self.expected[int(k)] for k in keys])
        pos = np.minimum(np.searchsorted(keys, s), len(keys) - 1)
        expected = np.where(keys[pos] == s, medians[pos], np.nan)
        return np.asarray(y - expected)


def speed_band(
    rpm: npt.ArrayLike, *, width_rpm: float = 2000.0, idle_rpm: float = 100.0
) -> npt.NDArray[np.int64]:
    """Operating-state key from spindle speed: :data:`STANDSTILL` when stopped, else the
    band's centre in rpm.

    >>> speed_band([0.0, 2900.0, 11800.0, 12400.0]).tolist()
    [0, 2000, 12000, 12000]
    """
    r = np.asarray(rpm, dtype=np.float64)
    band = (np.round(np.nan_to_num(r) / width_rpm) * width_rpm).astype(np.int64)
    return np.where(r > idle_rpm, band, STANDSTILL)
