"""The embedded historian: one DuckDB file holding raw samples, rollup tiers and tag ids.

Durability: :meth:`DuckDBHistorian.write` returns after DuckDB has committed the
batch, and DuckDB syncs its write-ahead log on commit, so a written batch
survives ``kill -9`` of the process. What is not yet written (samples still
queued on the bus or gathered by the writer stage) is the durability window;
see :mod:`plantos.historian.writer`.

Rollups are maintained incrementally: each tier covers closed buckets up to its
``rolled_until`` mark. A late sample for a bucket that is already rolled up is
stored like any other and marks that bucket dirty in the same transaction; the
next :meth:`maintain` recomputes it. Queries never serve a dirty bucket from a
tier.

This class is the port's face: it opens the file, keeps the tag ids and serialises
the writers; the work is done by three parts sharing one
:class:`~plantos.historian.duckdb_state.TierState`: the sample writer
(:mod:`~plantos.historian.duckdb_writer`), the rollup maintainer
(:mod:`~plantos.historian.duckdb_rollups`) and the query planner
(:mod:`~plantos.historian.duckdb_query`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from plantos.core.batch import SampleBatch
from plantos.core.errors import HistorianBusyError
from plantos.core.timeparse import format_duration
from plantos.historian import duckdb_state as state_
from plantos.historian import sql
from plantos.historian.duckdb_query import QueryPlanner
from plantos.historian.duckdb_rollups import RollupMaintainer
from plantos.historian.duckdb_state import Cursors, TierState
from plantos.historian.duckdb_writer import SampleWriter
from plantos.historian.protocol import BucketResult, RawResult, Tier
from plantos.model.plant import TagDef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY, path VARCHAR NOT NULL UNIQUE, unit VARCHAR, dtype VARCHAR
);
CREATE TABLE IF NOT EXISTS samples (
    tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE, quality UINTEGER NOT NULL
);
-- Text, and integers a DOUBLE cannot hold, beside their sample (which keeps the number's
-- nearest float, NaN for text): a column of samples would slow every plain number's write.
CREATE TABLE IF NOT EXISTS exact_values (
    tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, exact VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_state (width_ns BIGINT PRIMARY KEY, rolled_until BIGINT);
CREATE TABLE IF NOT EXISTS rollup_layout (width_ns BIGINT PRIMARY KEY, sorted_rows BIGINT);
CREATE TABLE IF NOT EXISTS rollup_dirty (
    width_ns BIGINT NOT NULL,
    tag_id INTEGER NOT NULL,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL
);
"""


def _check_tiers(tiers: list[Tier]) -> None:
    widths = [t.width_ns for t in tiers]
    if widths != sorted(set(widths)) or any(w <= 0 for w in widths):
        raise ValueError(f"rollup widths must be positive and increasing: {widths}")
    for finer, coarser in itertools.pairwise(widths):
        if coarser % finer:
            raise ValueError(
                f"rollup width {format_duration(coarser)} is not a multiple of "
                f"{format_duration(finer)}"
            )


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise HistorianBusyError(
                f"historian {path} is in use by another PlantOS process; "
                "query it through that process's API instead"
            ) from exc
        raise


class DuckDBHistorian:
    """Historian on a DuckDB file; one writer, any number of concurrent readers."""

    def __init__(
        self,
        path: Path,
        *,
        tiers: list[Tier],
        raw_retention_ns: int | None = None,
        read_only: bool = False,
        memory_limit: str = "512MB",
        compact_min_rows: int = 100_000,
    ) -> None:
        _check_tiers(tiers)
        self.path = path
        self.tiers = tiers
        self.raw_retention_ns = raw_retention_ns
        self.read_only = read_only
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(path, read_only=read_only)
        # DuckDB's buffer cache would otherwise grow to most of the machine's memory.
        con.execute(f"SET memory_limit = '{memory_limit}'")
        if not read_only:
            con.execute(_SCHEMA)
            for tier in tiers:
                con.execute(sql.ROLLUP_DDL.format(table=self.table(tier.width_ns)))
        self._cursors = Cursors(con)
        self._write_lock = threading.Lock()
        newest = con.execute("SELECT max(ts) FROM samples").fetchall()
        self._state = TierState(
            tiers=tiers,
            rolled=self._load_state(con, "rollup_state", "rolled_until"),
            sorted_rows=self._load_state(con, "rollup_layout", "sorted_rows"),
            dirty=set(con.execute("SELECT DISTINCT width_ns, tag_id FROM rollup_dirty").fetchall()),
            newest_ts=newest[0][0] if newest else None,
        )
        self._writer = SampleWriter(self._state, self._cursors)
        self._rollups = RollupMaintainer(
            self._state,
            self._cursors,
            raw_retention_ns=raw_retention_ns,
            compact_min_rows=compact_min_rows,
        )
        self._planner = QueryPlanner(self._state, self._cursors)
        self._rollups.follow_finest_tier()

    @property
    def newest_ts(self) -> int | None:
        """Timestamp of the newest sample stored, ``None`` while empty."""
        return self._state.newest_ts

    @newest_ts.setter
    def newest_ts(self, value: int | None) -> None:
        self._state.newest_ts = value

    @property
    def roll_statements(self) -> int:
        """How many roll-up statements ran (a gap in the data costs one, not one per span)."""
        return self._rollups.roll_statements

    @staticmethod
    def table(width_ns: int) -> str:
        return state_.table(width_ns)

    def _load_state(
        self, con: duckdb.DuckDBPyConnection, table: str, column: str
    ) -> dict[int, int | None]:
        """Per tier, the value of ``column`` kept in ``table`` (``None`` where unset)."""
        known = dict(con.execute(f"SELECT width_ns, {column} FROM {table}").fetchall())
        return {t.width_ns: known.get(t.width_ns) for t in self.tiers}

    def register_tags(self, tags: Iterable[TagDef]) -> dict[str, int]:
        with self._write_lock:
            cur = self._cursors.get()
            rows = cur.execute("SELECT path, id, unit, dtype FROM tags").fetchall()
            existing = {path: tag_id for path, tag_id, _, _ in rows}
            described = {path: (unit, dtype) for path, _, unit, dtype in rows}
            next_id = max(existing.values(), default=0) + 1
            new_rows, changed = [], []
            for tag in tags:
                if tag.path not in existing:
                    existing[tag.path] = next_id
                    new_rows.append((next_id, tag.path, tag.unit, tag.dtype))
                    next_id += 1
                elif described[tag.path] != (tag.unit, tag.dtype):
                    changed.append((tag.unit, tag.dtype, tag.path))
            if new_rows:
                cur.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", new_rows).fetchall()
            if changed:  # the plant file now says otherwise: queries follow the file
                cur.executemany("UPDATE tags SET unit = ?, dtype = ? WHERE path = ?", changed)
            return existing

    def tag_ids(self) -> dict[str, int]:
        return dict(self._cursors.get().execute("SELECT path, id FROM tags").fetchall())

    def write(self, batch: SampleBatch) -> None:
        with self._write_lock:
            self._writer.write(batch)

    def maintain(self, now_ns: int) -> dict[str, Any]:
        """Recompute dirty buckets, roll up newly closed buckets, apply retention."""
        if self.read_only:
            return {"recomputed": 0, "rolled": {}, "deleted": {}}
        with self._write_lock:
            return self._rollups.maintain(now_ns)

    def query_raw(self, tag_id: int, start_ns: int, end_ns: int, *, limit: int) -> RawResult:
        return self._planner.query_raw(tag_id, start_ns, end_ns, limit=limit)

    def newest_samples(self, since_ns: int) -> SampleBatch:
        table = (
            self._cursors.get()
            .sql(
                "SELECT s.tag_id, s.ts, s.value, s.quality, e.exact FROM ("
                "  SELECT tag_id, ts, value, quality FROM samples "
                f"  WHERE ts >= {int(since_ns)} QUALIFY row_number() OVER "
                "  (PARTITION BY tag_id ORDER BY ts DESC, rowid DESC) = 1"
                f") s LEFT JOIN ({sql.exact_of(f'ts >= {int(since_ns)}')}) e "
                "USING (tag_id, ts)"
            )
            .to_arrow_table()
        )
        return SampleBatch.from_arrow(table)

    def query_buckets(
        self, tag_id: int, start_ns: int, end_ns: int, *, bucket_ns: int, aggs: Iterable[str]
    ) -> BucketResult:
        return self._planner.query_buckets(tag_id, start_ns, end_ns, bucket_ns=bucket_ns, aggs=aggs)

    def stats(self) -> dict[str, Any]:
        cur = self._cursors.get()
        state = self._state
        out: dict[str, Any] = {"backend": "duckdb", "path": str(self.path)}
        row = cur.execute("SELECT count(*) FROM samples").fetchall()
        out["samples"] = int(row[0][0]) if row else 0
        out["tiers"] = {}
        for tier in self.tiers:
            row = cur.execute(f"SELECT count(*) FROM {self.table(tier.width_ns)}").fetchall()
            out["tiers"][self.table(tier.width_ns)] = {
                "rows": int(row[0][0]) if row else 0,
                "rolled_until_ns": state.rolled[tier.width_ns],
                "ordered_rows": state.sorted_rows[tier.width_ns] or 0,
                "retention_ns": tier.retention_ns,
            }
        out["newest_ts_ns"] = state.newest_ts
        out["cache_bytes"] = self.cache_bytes()
        return out

    def cache_bytes(self) -> int:
        """Memory DuckDB holds now (buffer cache and working memory), bounded by its limit."""
        cur = self._cursors.get()
        row = cur.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
        return int(row[0][0] or 0) if row else 0

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (shorter restart, smaller WAL)."""
        with self._write_lock:
            self._cursors.get().execute("CHECKPOINT")

    def close(self) -> None:
        """Close every thread's cursor, then the database (its threads must not outlive it)."""
        with self._write_lock:
            self._cursors.close()
