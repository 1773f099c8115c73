"""Cutting a tag's sample stream into subgroups, by count or by time window.

Samples of an unfinished subgroup wait for the next batch, so subgroups do not
depend on how the stream was cut into batches. A count subgroup is stamped with
its last sample's time, a window subgroup with its window's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
TsArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Closed:
    """Closed subgroups: ``values[starts[k]:starts[k+1]]`` is subgroup ``k``, stamped ``ts[k]``."""

    ts: TsArray
    values: FloatArray
    starts: IntArray


class Subgrouper:
    """Forms subgroups of ``size`` samples or of ``window_ns`` windows (exactly one is given)."""

    def __init__(self, *, size: int | None = None, window_ns: int | None = None) -> None:
        if (size is None) == (window_ns is None):
            raise ValueError(f"give exactly one of size and window_ns, got {size}, {window_ns}")
        if (size is not None and size < 1) or (window_ns is not None and window_ns <= 0):
            raise ValueError(f"subgroup size and window must be positive: {size}, {window_ns}")
        self.size, self.window_ns = size, window_ns
        self._ts: TsArray = np.empty(0, dtype=np.int64)
        self._values: FloatArray = np.empty(0)

    def add(self, ts: TsArray, values: FloatArray) -> Closed:
        """Add clean, time-ordered samples; return the subgroups they close."""
        if len(self._ts):
            ts, values = np.concatenate((self._ts, ts)), np.concatenate((self._values, values))
        if self.size is not None:
            full = len(ts) // self.size * self.size
            starts = np.arange(0, full, self.size, dtype=np.intp)
            stamps = ts[starts + self.size - 1] if full else np.empty(0, dtype=np.int64)
            return self._keep(ts, values, full, starts, stamps)
        assert self.window_ns is not None  # narrowed by the constructor's check
        if not len(ts):
            return self._keep(ts, values, 0, np.empty(0, dtype=np.intp), ts)
        ids = ts // self.window_ns
        full = int(np.searchsorted(ids, ids[-1], side="left"))
        change = np.flatnonzero(np.diff(ids[:full])) + 1
        starts = np.concatenate(([0], change)).astype(np.intp) if full else change
        return self._keep(ts, values, full, starts, (ids[starts] + 1) * self.window_ns)

    def close(self, now_ns: int) -> Closed:
        """Close the open window if ``now_ns`` is past its end (time moved on without samples)."""
        if self.window_ns is None or not len(self._ts):
            return Closed(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.intp))
        end = (int(self._ts[-1]) // self.window_ns + 1) * self.window_ns
        if now_ns < end:
            return Closed(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.intp))
        ts, values = self._ts, self._values
        self._ts, self._values = ts[:0], values[:0]
        return Closed(np.array([end], dtype=np.int64), values, np.zeros(1, dtype=np.intp))

    def _keep(
        self, ts: TsArray, values: FloatArray, full: int, starts: IntArray, stamps: TsArray
    ) -> Closed:
        self._ts, self._values = ts[full:].copy(), values[full:].copy()
        return Closed(stamps.astype(np.int64), values[:full], starts)
