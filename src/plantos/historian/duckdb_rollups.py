"""Keeping the DuckDB historian's rollup tiers up to date, compact and within retention.

Each tier covers closed buckets up to its ``rolled_until`` mark and is built from the
next finer tier (the finest from raw samples). A pass recomputes buckets made dirty by
late samples, rolls newly closed buckets forward (a gap in the data costs one statement,
not one per span), rewrites a tier ordered by tag once its unordered tail has grown, and
every ten minutes applies retention, never deleting what a coarser tier has not rolled up.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from plantos.core.batch import SampleBatch
from plantos.historian import sql
from plantos.historian.duckdb_state import Cursors, TierState, floor, table, transaction
from plantos.historian.recent import RecentSamples

CATCH_UP_SPAN_NS = 6 * 3600 * 1_000_000_000
COMPACT_FRACTION = 0.1
RETENTION_EVERY_NS = 600 * 1_000_000_000


class RollupMaintainer:
    """Runs maintenance passes; the caller holds the historian's write lock."""

    def __init__(
        self,
        state: TierState,
        cursors: Cursors,
        *,
        raw_retention_ns: int | None,
        compact_min_rows: int,
    ) -> None:
        self.state = state
        self.cursors = cursors
        self.raw_retention_ns = raw_retention_ns
        self.compact_min_rows = compact_min_rows
        self.roll_statements = 0
        """How many roll-up statements ran (a gap in the data costs one, not one per span)."""
        self._next_retention_ns = 0

    def maintain(self, now_ns: int) -> dict[str, Any]:
        """Recompute dirty buckets, roll up newly closed buckets, apply retention."""
        done: dict[str, Any] = {"recomputed": 0, "rolled": {}, "deleted": {}}
        newest = self.state.newest_ts
        if newest is None:
            return done
        cur = self.cursors.get()
        finer: int | None = None
        for tier in self.state.tiers:
            width = tier.width_ns
            done["recomputed"] += self._recompute_dirty(cur, width, finer)
            done["rolled"][table(width)] = self._roll_forward(cur, width, finer, newest)
            if self._compact(cur, width):
                done.setdefault("compacted", []).append(table(width))
            finer = width
        self.follow_finest_tier()
        if now_ns >= self._next_retention_ns:
            done["deleted"] = self._apply_retention(cur, now_ns)
            self._next_retention_ns = now_ns + RETENTION_EVERY_NS
        return done

    def follow_finest_tier(self) -> None:
        """Keep the samples newer than the finest tier's rolled-up mark in memory."""
        state = self.state
        if not state.tiers:
            return
        rolled = state.rolled[state.tiers[0].width_ns]
        if rolled is None:
            return
        if state.recent is None:
            rows = (
                self.cursors.get()
                .execute(
                    "SELECT tag_id, ts, value, quality FROM samples WHERE ts >= ? ORDER BY rowid",
                    [rolled],
                )
                .fetchnumpy()
            )
            initial = SampleBatch.of(rows["tag_id"], rows["ts"], rows["value"], rows["quality"])
            state.recent = RecentSamples(rolled, initial)
        else:
            state.recent.advance(rolled)

    @staticmethod
    def _parts_from(finer: int | None, width: int, where: str) -> str:
        if finer is None:
            return sql.raw_parts(width, where)
        return sql.compose_parts(
            f"SELECT tag_id, bucket, {sql.PART_COLUMNS} FROM {table(finer)} WHERE {where}",
            width,
        )

    def _insert_parts(
        self, cur: duckdb.DuckDBPyConnection, width: int, finer: int | None, where: str
    ) -> list[tuple[Any, ...]]:
        """Add the parts of ``width`` computed from the finer tier (or raw) rows in ``where``."""
        parts = self._parts_from(finer, width, where)
        return cur.execute(
            f"INSERT INTO {table(width)} SELECT tag_id, bucket, {sql.PART_COLUMNS} FROM ({parts})"
        ).fetchall()

    @staticmethod
    def _source_bounds(cur: duckdb.DuckDBPyConnection, finer: int | None) -> int | None:
        if finer is None:
            row = cur.execute("SELECT min(ts) FROM samples").fetchall()
        else:
            row = cur.execute(f"SELECT min(bucket) FROM {table(finer)}").fetchall()
        return row[0][0] if row else None

    def _roll_forward(
        self, cur: duckdb.DuckDBPyConnection, width: int, finer: int | None, newest: int
    ) -> int:
        """Roll up every bucket that closed before the bucket of the newest sample."""
        rolled = self.state.rolled
        target = floor(newest, width)
        if finer is not None:
            finer_rolled = rolled[finer]
            if finer_rolled is None:
                return 0
            target = min(target, floor(finer_rolled, width))
        start = rolled[width]
        if start is None:
            first = self._source_bounds(cur, finer)
            if first is None:
                return 0
            start = floor(first, width)
        rows = 0
        column = "ts" if finer is None else "bucket"
        source = "samples" if finer is None else table(finer)
        while start < target:
            stop = min(target, start + max(CATCH_UP_SPAN_NS // width, 1) * width)
            where = f"{column} >= {start} AND {column} < {stop}"
            with transaction(cur):
                result = self._insert_parts(cur, width, finer, where)
                cur.execute(
                    "INSERT OR REPLACE INTO rollup_state VALUES (?, ?)", [width, stop]
                ).fetchall()
            added = int(result[0][0]) if result else 0
            rows += added
            self.roll_statements += 1
            rolled[width] = stop
            start = stop
            if not added:  # a gap in the data: jump to where it goes on
                after = cur.execute(
                    f"SELECT min({column}) FROM {source} WHERE {column} >= ?", [stop]
                ).fetchall()
                resume = after[0][0] if after else None
                if resume is not None and resume > start:
                    start = min(floor(resume, width), target)
        return rows

    def _recompute_dirty(
        self, cur: duckdb.DuckDBPyConnection, width: int, finer: int | None
    ) -> int:
        """Recompute the tier's buckets touched by late samples, all tags in one pass."""
        spans = cur.execute(
            "SELECT tag_id, min(start_ns) AS lo, max(end_ns) AS hi FROM rollup_dirty "
            "WHERE width_ns = ? GROUP BY tag_id",
            [width],
        ).fetchnumpy()
        if len(spans["tag_id"]) == 0:
            return 0
        lo = np.asarray(spans["lo"], dtype=np.int64)
        hi = np.asarray(spans["hi"], dtype=np.int64)
        ranges = pa.table(
            {
                "tag_id": np.asarray(spans["tag_id"], dtype=np.int32),
                "lo": lo - lo % width,
                "hi": hi - hi % width + width,
            }
        )
        tier_table = table(width)
        source, column = ("samples", "ts") if finer is None else (table(finer), "bucket")
        inside = (
            "EXISTS (SELECT 1 FROM dirty_ranges d WHERE d.tag_id = {t}.tag_id "
            "AND {t}.{c} >= d.lo AND {t}.{c} < d.hi)"
        )
        cur.register("dirty_ranges", ranges)
        try:
            with transaction(cur):
                cur.execute(
                    f"DELETE FROM {tier_table} WHERE " + inside.format(t=tier_table, c="bucket")
                ).fetchall()
                self._insert_parts(cur, width, finer, inside.format(t=source, c=column))
                cur.execute("DELETE FROM rollup_dirty WHERE width_ns = ?", [width]).fetchall()
        finally:
            cur.unregister("dirty_ranges")
        self.state.dirty = {d for d in self.state.dirty if d[0] != width}
        return len(ranges)

    def _compact(self, cur: duckdb.DuckDBPyConnection, width: int) -> bool:
        """Rewrite the tier ordered by tag once its unordered tail has grown enough.

        Rows arrive in time order, all tags interleaved, so one tag's rows would be
        spread over every row group. Ordered by (tag, bucket), a tag's rows sit in one
        or two row groups and DuckDB's zone maps skip the rest: a month of one tag's
        minutes is read in milliseconds. Rewriting when the tail reaches a tenth of the
        ordered part keeps the total rewriting work proportional to the rows stored.
        """
        tier_table = table(width)
        total = int(cur.execute(f"SELECT count(*) FROM {tier_table}").fetchall()[0][0])
        ordered = min(self.state.sorted_rows[width] or 0, total)
        if total - ordered < max(self.compact_min_rows, COMPACT_FRACTION * ordered):
            return False
        with transaction(cur):
            cur.execute(sql.ROLLUP_DDL.format(table=f"{tier_table}__ordered")).fetchall()
            cur.execute(
                f"INSERT INTO {tier_table}__ordered SELECT * FROM {tier_table} "
                "ORDER BY tag_id, bucket"
            ).fetchall()
            cur.execute(f"DROP TABLE {tier_table}").fetchall()
            cur.execute(f"ALTER TABLE {tier_table}__ordered RENAME TO {tier_table}").fetchall()
            cur.execute(
                "INSERT OR REPLACE INTO rollup_layout VALUES (?, ?)", [width, total]
            ).fetchall()
        self.state.sorted_rows[width] = total
        return True

    def _apply_retention(self, cur: duckdb.DuckDBPyConnection, now_ns: int) -> dict[str, int]:
        """Delete what is older than each retention, but never what a tier has not yet rolled up."""
        state = self.state
        deleted: dict[str, int] = {}
        widths = [t.width_ns for t in state.tiers]
        if self.raw_retention_ns is not None:
            cutoff = now_ns - self.raw_retention_ns
            if widths:
                cutoff = min(cutoff, state.rolled[widths[0]] or cutoff)
            row = cur.execute("DELETE FROM samples WHERE ts < ?", [cutoff]).fetchall()
            deleted["samples"] = int(row[0][0]) if row else 0
            cur.execute("DELETE FROM exact_values WHERE ts < ?", [cutoff]).fetchall()
        for i, tier in enumerate(state.tiers):
            if tier.retention_ns is None:
                continue
            cutoff = now_ns - tier.retention_ns
            if i + 1 < len(widths):
                cutoff = min(cutoff, state.rolled[widths[i + 1]] or cutoff)
            row = cur.execute(
                f"DELETE FROM {table(tier.width_ns)} WHERE bucket < ?", [cutoff]
            ).fetchall()
            gone = int(row[0][0]) if row else 0
            deleted[table(tier.width_ns)] = gone
            # the oldest rows go first, and they are in the ordered part
            state.sorted_rows[tier.width_ns] = max(
                (state.sorted_rows[tier.width_ns] or 0) - gone, 0
            )
        return deleted
