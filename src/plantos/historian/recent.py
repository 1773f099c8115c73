"""The samples newer than the finest rollup tier, kept in memory beside the database.

A bucketed query reads closed buckets from a tier and the still-open end from raw
samples. On a large table even a one-minute raw read costs DuckDB milliseconds just to
skip thousands of row groups; these samples are few (about one bucket of the finest tier
plus what arrived since the last maintenance pass), so they are served from here.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from plantos.core.batch import SampleBatch


class RecentSamples:
    """Every written sample with a timestamp at or after ``since_ns``, in arrival order."""

    def __init__(self, since_ns: int, initial: SampleBatch) -> None:
        self._lock = threading.Lock()
        self.since_ns = since_ns
        self._batches: list[SampleBatch] = [initial] if len(initial) else []

    def add(self, batch: SampleBatch) -> None:
        keep = batch.ts >= self.since_ns
        if keep.any():
            with self._lock:
                self._batches.append(batch if keep.all() else batch.select(keep))

    def advance(self, since_ns: int) -> None:
        """Forget samples before ``since_ns``: the finest tier now covers them."""
        with self._lock:
            if since_ns <= self.since_ns:
                return
            kept = []
            for batch in self._batches:
                keep = batch.ts >= since_ns
                if keep.all():
                    kept.append(batch)
                elif keep.any():
                    kept.append(batch.select(keep))
            self._batches = [SampleBatch.concat(kept)] if kept else []
            self.since_ns = since_ns

    def of_tag(
        self, tag_id: int, start_ns: int, end_ns: int
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """One tag's samples in ``[start_ns, end_ns)``, in arrival order: ts, value, quality."""
        with self._lock:
            batches = list(self._batches)
        picked = [
            b.select((b.tag_id == tag_id) & (b.ts >= start_ns) & (b.ts < end_ns)) for b in batches
        ]
        joined = SampleBatch.concat(picked) if picked else SampleBatch.empty()
        return joined.ts, joined.value, joined.quality

    def __len__(self) -> int:
        return sum(len(b) for b in self._batches)
