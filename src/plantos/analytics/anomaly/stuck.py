"""Samples a detector must not trust: bad quality, NaN, infinities, flat lines and gaps.

A frozen sensor reports its last value forever, which a detector reads as the
healthiest machine in the plant. So a flat line is a finding of its own, and
unusable samples become NaN (no judgement) and are counted, never averaged
into a baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from plantos.core import quality

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class Cleaned:
    """Values with every unusable sample replaced by NaN, and how many of each kind."""

    values: FloatArray
    counts: dict[str, int] = field(default_factory=dict)


def clean(values: npt.ArrayLike, codes: npt.NDArray[np.uint32] | None = None) -> Cleaned:
    """NaN for bad-quality, NaN and infinite samples; counts under ``bad``, ``nan``, ``inf``.

    >>> c = clean([1.0, float("nan"), float("inf"), 4.0])
    >>> c.values.tolist()[2:], c.counts
    ([nan, 4.0], {'bad': 0, 'nan': 1, 'inf': 1})
    """
    v = np.array(values, dtype=np.float64)
    bad = quality.is_bad(codes) if codes is not None else np.zeros(len(v), bool)
    nan = np.isnan(v) & ~bad
    inf = np.isinf(v) & ~bad
    v[bad | inf] = np.nan
    return Cleaned(v, {"bad": int(bad.sum()), "nan": int(nan.sum()), "inf": int(inf.sum())})


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of samples: first and last timestamp and how many samples."""

    start_ns: int
    end_ns: int
    samples: int


class StuckWatch:
    """Finds flat lines in a stream: the same value (within ``tolerance``) for ``min_duration_ns``.

    Carries the open run across batches; :meth:`update` returns each run once,
    when it first reaches the minimum duration. NaN samples are ignored.
    """

    def __init__(self, *, min_duration_ns: int, tolerance: float = 0.0) -> None:
        if min_duration_ns <= 0:
            raise ValueError(f"min_duration_ns must be positive, got {min_duration_ns}")
        self.min_duration_ns = min_duration_ns
        self.tolerance = tolerance
        self._start_ns: int | None = None
        self._value = np.nan
        self._samples = 0
        self._reported = False

    @property
    def stuck(self) -> bool:
        """Whether the signal is flat right now."""
        return self._reported

    def update(self, ts_ns: npt.ArrayLike, values: npt.ArrayLike) -> list[Run]:
        ts, v = np.asarray(ts_ns, np.int64), np.asarray(values, np.float64)
        ok = np.isfinite(v)
        ts, v = ts[ok], v[ok]
        if not len(v):
            return []
        # A run starts where the value moves by more than the tolerance from the one before.
        prev = np.concatenate(([self._value], v[:-1]))
        starts = np.flatnonzero(~(np.abs(v - prev) <= self.tolerance))
        carried = self._start_ns
        goes_on = carried is not None and (not len(starts) or starts[0] != 0)
        if goes_on:
            starts = np.concatenate(([0], starts))
        ends = np.concatenate((starts[1:], [len(v)]))
        start_ns, end_ns, samples = ts[starts], ts[ends - 1], ends - starts
        if carried is not None and goes_on:
            start_ns[0] = carried
            samples[0] += self._samples
        long = end_ns - start_ns >= self.min_duration_ns
        new = long.copy()
        if goes_on and self._reported:
            new[0] = False
        self._start_ns, self._samples = int(start_ns[-1]), int(samples[-1])
        self._reported = bool(long[-1])
        self._value = float(v[-1])
        return [
            Run(int(s), int(e), int(n))
            for s, e, n in zip(start_ns[new], end_ns[new], samples[new], strict=True)
        ]


def gaps(ts_ns: npt.ArrayLike, *, max_gap_ns: int) -> list[Run]:
    """Stretches with no sample for longer than ``max_gap_ns`` (between the two samples around)."""
    ts = np.asarray(ts_ns, np.int64)
    step = np.diff(ts)
    idx = np.flatnonzero(step > max_gap_ns)
    return [Run(int(ts[i]), int(ts[i + 1]), 0) for i in idx.tolist()]
