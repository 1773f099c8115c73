"""Appending sample batches to the DuckDB historian, late samples included.

A batch goes in with one append of its numbers; the text and exact integers some samples
carry go to ``exact_values`` in the same transaction. A sample older than a tier's
rolled-up mark (a late or replayed one) is stored like any other and marks its tier's
buckets dirty in the same transaction, so the rollup maintainer recomputes them and
queries never serve them from the tier meanwhile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from plantos.core.batch import SampleBatch
from plantos.historian.duckdb_state import Cursors, TierState, transaction


class SampleWriter:
    """Writes batches; the caller holds the historian's write lock."""

    def __init__(self, state: TierState, cursors: Cursors) -> None:
        self.state = state
        self.cursors = cursors

    def write(self, batch: SampleBatch) -> None:
        if len(batch) == 0:
            return
        state = self.state
        cur = self.cursors.get()
        late = self._late_ranges(batch, int(batch.ts.min()))
        incoming = cur.from_arrow(batch.numbers_arrow())
        exact = batch.exact_arrow()
        if late is None and exact is None:
            incoming.insert_into("samples")
        else:
            with transaction(cur):
                incoming.insert_into("samples")
                if exact is not None:
                    cur.from_arrow(exact).insert_into("exact_values")
                if late is not None:
                    cur.from_arrow(late).insert_into("rollup_dirty")
            if late is not None:
                widths, tags = late["width_ns"].to_pylist(), late["tag_id"].to_pylist()
                state.dirty.update(zip(widths, tags, strict=True))
        if state.recent is not None:
            state.recent.add(batch)
        batch_max = int(batch.ts.max())
        if state.newest_ts is None or batch_max > state.newest_ts:
            state.newest_ts = batch_max

    def _late_ranges(self, batch: SampleBatch, batch_min: int) -> pa.Table | None:
        """Rows for ``rollup_dirty``: per tier and tag, the span of samples that fall into
        buckets the tier already rolled up; ``None`` when the batch holds no such sample."""
        parts = []
        for tier in self.state.tiers:
            rolled = self.state.rolled[tier.width_ns]
            if rolled is None or batch_min >= rolled:
                continue
            mask = batch.ts < rolled
            tags, ts = batch.tag_id[mask], batch.ts[mask]
            order = np.argsort(tags, kind="stable")
            tags, ts = tags[order], ts[order]
            starts = np.flatnonzero(np.r_[True, tags[1:] != tags[:-1]])
            parts.append(
                pa.table(
                    {
                        "width_ns": np.full(len(starts), tier.width_ns, dtype=np.int64),
                        "tag_id": tags[starts],
                        "start_ns": np.minimum.reduceat(ts, starts),
                        "end_ns": np.maximum.reduceat(ts, starts),
                    }
                )
            )
        return pa.concat_tables(parts) if parts else None
