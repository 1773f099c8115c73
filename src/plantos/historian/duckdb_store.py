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
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from plantos.core.batch import SampleBatch
from plantos.core.errors import HistorianBusyError, QueryError
from plantos.core.timeparse import format_duration
from plantos.historian import parts as np_parts
from plantos.historian import sql
from plantos.historian.buckets import finish_buckets
from plantos.historian.protocol import AGGREGATES, BucketResult, RawResult, Tier
from plantos.historian.recent import RecentSamples
from plantos.model.plant import TagDef

CATCH_UP_SPAN_NS = 6 * 3600 * 1_000_000_000
COMPACT_FRACTION = 0.1
RETENTION_EVERY_NS = 600 * 1_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY, path VARCHAR NOT NULL UNIQUE, unit VARCHAR, dtype VARCHAR
);
CREATE TABLE IF NOT EXISTS samples (
    tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE, quality UINTEGER NOT NULL
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


def _floor(ts: int, width: int) -> int:
    return ts - ts % width


@contextmanager
def _transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    # Every statement's result is consumed: DuckDB refuses new work on a cursor
    # that still holds an unfinished result.
    cur.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield
    except BaseException:
        cur.execute("ROLLBACK").fetchall()
        raise
    cur.execute("COMMIT").fetchall()


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
        widths = [t.width_ns for t in tiers]
        if widths != sorted(set(widths)) or any(w <= 0 for w in widths):
            raise ValueError(f"rollup widths must be positive and increasing: {widths}")
        for finer, coarser in itertools.pairwise(widths):
            if coarser % finer:
                raise ValueError(
                    f"rollup width {format_duration(coarser)} is not a multiple of "
                    f"{format_duration(finer)}"
                )
        self.path = path
        self.tiers = tiers
        self.raw_retention_ns = raw_retention_ns
        self.read_only = read_only
        self.compact_min_rows = compact_min_rows
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise HistorianBusyError(
                    f"historian {path} is in use by another PlantOS process; "
                    "query it through that process's API instead"
                ) from exc
            raise
        # DuckDB's buffer cache would otherwise grow to most of the machine's memory.
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._next_retention_ns = 0
        self.roll_statements = 0
        """How many roll-up statements ran (a gap in the data costs one, not one per span)."""
        if not read_only:
            self._con.execute(_SCHEMA)
            for tier in tiers:
                self._con.execute(sql.ROLLUP_DDL.format(table=self.table(tier.width_ns)))
        self._rolled = self._load_state("rollup_state", "rolled_until")
        self._sorted_rows = self._load_state("rollup_layout", "sorted_rows")
        self._dirty: set[tuple[int, int]] = set(
            self._con.execute("SELECT DISTINCT width_ns, tag_id FROM rollup_dirty").fetchall()
        )
        newest = self._con.execute("SELECT max(ts) FROM samples").fetchall()
        self.newest_ts: int | None = newest[0][0] if newest else None
        self._recent: RecentSamples | None = None
        self._follow_finest_tier()

    @staticmethod
    def table(width_ns: int) -> str:
        return f"rollup_{format_duration(width_ns)}"

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    def _follow_finest_tier(self) -> None:
        """Keep the samples newer than the finest tier's rolled-up mark in memory."""
        if not self.tiers:
            return
        rolled = self._rolled[self.tiers[0].width_ns]
        if rolled is None:
            return
        if self._recent is None:
            rows = (
                self._cursor()
                .execute(
                    "SELECT tag_id, ts, value, quality FROM samples WHERE ts >= ? ORDER BY rowid",
                    [rolled],
                )
                .fetchnumpy()
            )
            initial = SampleBatch.of(rows["tag_id"], rows["ts"], rows["value"], rows["quality"])
            self._recent = RecentSamples(rolled, initial)
        else:
            self._recent.advance(rolled)

    def _load_state(self, table: str, column: str) -> dict[int, int | None]:
        """Per tier, the value of ``column`` kept in ``table`` (``None`` where unset)."""
        known = dict(self._con.execute(f"SELECT width_ns, {column} FROM {table}").fetchall())
        return {t.width_ns: known.get(t.width_ns) for t in self.tiers}

    # ---- tags -------------------------------------------------------------------------

    def register_tags(self, tags: Iterable[TagDef]) -> dict[str, int]:
        with self._write_lock:
            cur = self._cursor()
            existing = dict(cur.execute("SELECT path, id FROM tags").fetchall())
            next_id = max(existing.values(), default=0) + 1
            new_rows = []
            for tag in tags:
                if tag.path not in existing:
                    existing[tag.path] = next_id
                    new_rows.append((next_id, tag.path, tag.unit, tag.dtype))
                    next_id += 1
            if new_rows:
                cur.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", new_rows).fetchall()
            return existing

    def tag_ids(self) -> dict[str, int]:
        return dict(self._cursor().execute("SELECT path, id FROM tags").fetchall())

    # ---- writing ----------------------------------------------------------------------

    def write(self, batch: SampleBatch) -> None:
        if len(batch) == 0:
            return
        batch_min = int(batch.ts.min())
        with self._write_lock:
            cur = self._cursor()
            late = self._late_ranges(batch, batch_min)
            incoming = cur.from_arrow(batch.to_arrow())
            if late is None:
                incoming.insert_into("samples")
            else:
                with _transaction(cur):
                    incoming.insert_into("samples")
                    cur.from_arrow(late).insert_into("rollup_dirty")
                widths, tags = late["width_ns"].to_pylist(), late["tag_id"].to_pylist()
                self._dirty.update(zip(widths, tags, strict=True))
            if self._recent is not None:
                self._recent.add(batch)
            batch_max = int(batch.ts.max())
            if self.newest_ts is None or batch_max > self.newest_ts:
                self.newest_ts = batch_max

    def _late_ranges(self, batch: SampleBatch, batch_min: int) -> pa.Table | None:
        """Rows for ``rollup_dirty``: per tier and tag, the span of samples that fall into
        buckets the tier already rolled up; ``None`` when the batch holds no such sample."""
        parts = []
        for tier in self.tiers:
            rolled = self._rolled[tier.width_ns]
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

    # ---- maintenance ------------------------------------------------------------------

    def maintain(self, now_ns: int) -> dict[str, Any]:
        """Recompute dirty buckets, roll up newly closed buckets, apply retention."""
        done: dict[str, Any] = {"recomputed": 0, "rolled": {}, "deleted": {}}
        if self.read_only or self.newest_ts is None:
            return done
        with self._write_lock:
            cur = self._cursor()
            finer: int | None = None
            for tier in self.tiers:
                done["recomputed"] += self._recompute_dirty(cur, tier.width_ns, finer)
                done["rolled"][self.table(tier.width_ns)] = self._roll_forward(
                    cur, tier.width_ns, finer, self.newest_ts
                )
                if self._compact(cur, tier.width_ns):
                    done.setdefault("compacted", []).append(self.table(tier.width_ns))
                finer = tier.width_ns
            self._follow_finest_tier()
            if now_ns >= self._next_retention_ns:
                done["deleted"] = self._apply_retention(cur, now_ns)
                self._next_retention_ns = now_ns + RETENTION_EVERY_NS
        return done

    def _parts_from(self, finer: int | None, width: int, where: str) -> str:
        if finer is None:
            return sql.raw_parts(width, where)
        return sql.compose_parts(
            f"SELECT tag_id, bucket, {sql.PART_COLUMNS} FROM {self.table(finer)} WHERE {where}",
            width,
        )

    def _insert_parts(
        self, cur: duckdb.DuckDBPyConnection, width: int, finer: int | None, where: str
    ) -> list[tuple[Any, ...]]:
        """Add the parts of ``width`` computed from the finer tier (or raw) rows in ``where``."""
        parts = self._parts_from(finer, width, where)
        return cur.execute(
            f"INSERT INTO {self.table(width)} "
            f"SELECT tag_id, bucket, {sql.PART_COLUMNS} FROM ({parts})"
        ).fetchall()

    def _source_bounds(self, cur: duckdb.DuckDBPyConnection, finer: int | None) -> int | None:
        if finer is None:
            row = cur.execute("SELECT min(ts) FROM samples").fetchall()
        else:
            row = cur.execute(f"SELECT min(bucket) FROM {self.table(finer)}").fetchall()
        return row[0][0] if row else None

    def _roll_forward(
        self, cur: duckdb.DuckDBPyConnection, width: int, finer: int | None, newest: int
    ) -> int:
        """Roll up every bucket that closed before the bucket of the newest sample."""
        target = _floor(newest, width)
        if finer is not None:
            finer_rolled = self._rolled[finer]
            if finer_rolled is None:
                return 0
            target = min(target, _floor(finer_rolled, width))
        start = self._rolled[width]
        if start is None:
            first = self._source_bounds(cur, finer)
            if first is None:
                return 0
            start = _floor(first, width)
        rows = 0
        column = "ts" if finer is None else "bucket"
        source = "samples" if finer is None else self.table(finer)
        while start < target:
            stop = min(target, start + max(CATCH_UP_SPAN_NS // width, 1) * width)
            where = f"{column} >= {start} AND {column} < {stop}"
            with _transaction(cur):
                result = self._insert_parts(cur, width, finer, where)
                cur.execute(
                    "INSERT OR REPLACE INTO rollup_state VALUES (?, ?)", [width, stop]
                ).fetchall()
            added = int(result[0][0]) if result else 0
            rows += added
            self.roll_statements += 1
            self._rolled[width] = stop
            start = stop
            if not added:  # a gap in the data: jump to where it goes on
                after = cur.execute(
                    f"SELECT min({column}) FROM {source} WHERE {column} >= ?", [stop]
                ).fetchall()
                resume = after[0][0] if after else None
                if resume is not None and resume > start:
                    start = min(_floor(resume, width), target)
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
        table = self.table(width)
        source, column = ("samples", "ts") if finer is None else (self.table(finer), "bucket")
        inside = (
            "EXISTS (SELECT 1 FROM dirty_ranges d WHERE d.tag_id = {t}.tag_id "
            "AND {t}.{c} >= d.lo AND {t}.{c} < d.hi)"
        )
        cur.register("dirty_ranges", ranges)
        try:
            with _transaction(cur):
                cur.execute(
                    f"DELETE FROM {table} WHERE " + inside.format(t=table, c="bucket")
                ).fetchall()
                self._insert_parts(cur, width, finer, inside.format(t=source, c=column))
                cur.execute("DELETE FROM rollup_dirty WHERE width_ns = ?", [width]).fetchall()
        finally:
            cur.unregister("dirty_ranges")
        self._dirty = {d for d in self._dirty if d[0] != width}
        return len(ranges)

    def _compact(self, cur: duckdb.DuckDBPyConnection, width: int) -> bool:
        """Rewrite the tier ordered by tag once its unordered tail has grown enough.

        Rows arrive in time order, all tags interleaved, so one tag's rows would be
        spread over every row group. Ordered by (tag, bucket), a tag's rows sit in one
        or two row groups and DuckDB's zone maps skip the rest: a month of one tag's
        minutes is read in milliseconds. Rewriting when the tail reaches a tenth of the
        ordered part keeps the total rewriting work proportional to the rows stored.
        """
        table = self.table(width)
        total = int(cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
        ordered = min(self._sorted_rows[width] or 0, total)
        if total - ordered < max(self.compact_min_rows, COMPACT_FRACTION * ordered):
            return False
        with _transaction(cur):
            cur.execute(sql.ROLLUP_DDL.format(table=f"{table}__ordered")).fetchall()
            cur.execute(
                f"INSERT INTO {table}__ordered SELECT * FROM {table} ORDER BY tag_id, bucket"
            ).fetchall()
            cur.execute(f"DROP TABLE {table}").fetchall()
            cur.execute(f"ALTER TABLE {table}__ordered RENAME TO {table}").fetchall()
            cur.execute(
                "INSERT OR REPLACE INTO rollup_layout VALUES (?, ?)", [width, total]
            ).fetchall()
        self._sorted_rows[width] = total
        return True

    def _apply_retention(self, cur: duckdb.DuckDBPyConnection, now_ns: int) -> dict[str, int]:
        """Delete what is older than each retention, but never what a tier has not yet rolled up."""
        deleted: dict[str, int] = {}
        widths = [t.width_ns for t in self.tiers]
        if self.raw_retention_ns is not None:
            cutoff = now_ns - self.raw_retention_ns
            if widths:
                cutoff = min(cutoff, self._rolled[widths[0]] or cutoff)
            row = cur.execute("DELETE FROM samples WHERE ts < ?", [cutoff]).fetchall()
            deleted["samples"] = int(row[0][0]) if row else 0
        for i, tier in enumerate(self.tiers):
            if tier.retention_ns is None:
                continue
            cutoff = now_ns - tier.retention_ns
            if i + 1 < len(widths):
                cutoff = min(cutoff, self._rolled[widths[i + 1]] or cutoff)
            row = cur.execute(
                f"DELETE FROM {self.table(tier.width_ns)} WHERE bucket < ?", [cutoff]
            ).fetchall()
            gone = int(row[0][0]) if row else 0
            deleted[self.table(tier.width_ns)] = gone
            # the oldest rows go first, and they are in the ordered part
            self._sorted_rows[tier.width_ns] = max(
                (self._sorted_rows[tier.width_ns] or 0) - gone, 0
            )
        return deleted

    # ---- queries ----------------------------------------------------------------------

    def query_raw(self, tag_id: int, start_ns: int, end_ns: int, *, limit: int) -> RawResult:
        _check_range(start_ns, end_ns)
        if limit < 1:
            raise QueryError(f"limit must be at least 1, got {limit}")
        rows = (
            self._cursor()
            .execute(
                "SELECT ts, value, quality FROM samples WHERE tag_id = ? AND ts >= ? AND ts < ? "
                "ORDER BY ts, rowid LIMIT ?",
                [tag_id, start_ns, end_ns, limit + 1],
            )
            .fetchnumpy()
        )
        n = min(len(rows["ts"]), limit)
        return RawResult(
            np.asarray(rows["ts"][:n], dtype=np.int64),
            np.asarray(rows["value"][:n], dtype=np.float64),
            np.asarray(rows["quality"][:n], dtype=np.uint32),
            truncated=len(rows["ts"]) > limit,
        )

    def query_buckets(
        self, tag_id: int, start_ns: int, end_ns: int, *, bucket_ns: int, aggs: Iterable[str]
    ) -> BucketResult:
        _check_range(start_ns, end_ns)
        wanted = list(aggs)
        unknown = [a for a in wanted if a not in AGGREGATES]
        if unknown or not wanted:
            raise QueryError(f"unknown aggregate {unknown or wanted}: use {', '.join(AGGREGATES)}")
        if bucket_ns <= 0:
            raise QueryError(f"bucket must be positive, got {bucket_ns} ns")
        if (end_ns - start_ns) // bucket_ns > 1_000_000:
            raise QueryError("more than 1,000,000 buckets requested: choose a wider bucket")
        cur = self._cursor()
        parts, source = self._gather_parts(cur, tag_id, start_ns, end_ns, bucket_ns)
        horizon = min(end_ns, (self.newest_ts or end_ns) + 1)
        return finish_buckets(
            np_parts.compose(parts, bucket_ns),
            bucket_ns=bucket_ns,
            horizon_ns=horizon,
            aggs=wanted,
            source=source,
        )

    def _gather_parts(
        self, cur: duckdb.DuckDBPyConnection, tag_id: int, start: int, end: int, bucket: int
    ) -> tuple[np_parts.Parts, str]:
        """Parts covering [start, end) and where they came from: the widest clean tier that
        divides the bucket, then finer tiers towards the end, then the recent samples in
        memory; raw samples from the database only where no tier reaches."""
        tag = int(tag_id)
        usable = [
            t
            for t in self.tiers
            if bucket % t.width_ns == 0
            and self._rolled[t.width_ns] is not None
            and (t.width_ns, tag) not in self._dirty
        ]
        if not usable:
            return self._raw_parts(cur, tag, start, end, bucket), "raw"
        recent = self._recent
        pieces: list[np_parts.Parts] = []
        sources: list[str] = []
        coarsest = usable[-1].width_ns
        covered = min(-(-start // coarsest) * coarsest, end)
        if start < covered:
            pieces.append(self._raw_parts(cur, tag, start, covered, coarsest))
            sources.append("raw")
        for tier in reversed(usable):
            width = tier.width_ns
            hi = min(_floor(end, width), self._rolled[width] or covered)
            if hi > covered:
                pieces.append(
                    self._fetch_parts(
                        cur,
                        f"SELECT bucket, {sql.PART_COLUMNS} FROM {self.table(width)} "
                        f"WHERE tag_id = {tag} AND bucket >= {covered} AND bucket < {hi}",
                    )
                )
                sources.append(self.table(width))
                covered = hi
        if covered < end:
            finest = usable[0].width_ns
            if recent is not None and covered >= recent.since_ns:
                pieces.append(np_parts.from_samples(*recent.of_tag(tag, covered, end), finest))
                sources.append("recent")
            else:
                pieces.append(self._raw_parts(cur, tag, covered, end, finest))
                sources.append("raw")
        return np_parts.concat(pieces), "+".join(sources)

    def _raw_parts(
        self, cur: duckdb.DuckDBPyConnection, tag: int, start: int, end: int, width: int
    ) -> np_parts.Parts:
        where = f"tag_id = {tag} AND ts >= {start} AND ts < {end}"
        return self._fetch_parts(
            cur, f"SELECT bucket, {sql.PART_COLUMNS} FROM ({sql.raw_parts(width, where)})"
        )

    @staticmethod
    def _fetch_parts(cur: duckdb.DuckDBPyConnection, query: str) -> np_parts.Parts:
        """Run a parts query; the parts come back in time order, as composing needs."""
        rows = cur.execute(query).fetchnumpy()
        parts = {c: np.asarray(rows[c]) for c in np_parts.COLUMNS}
        fts = parts["fts"]
        if bool(np.all(fts[1:] >= fts[:-1])):
            return parts
        order = np.argsort(fts, kind="stable")
        return {c: v[order] for c, v in parts.items()}

    # ---- housekeeping -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        cur = self._cursor()
        out: dict[str, Any] = {"backend": "duckdb", "path": str(self.path)}
        row = cur.execute("SELECT count(*) FROM samples").fetchall()
        out["samples"] = int(row[0][0]) if row else 0
        out["tiers"] = {}
        for tier in self.tiers:
            row = cur.execute(f"SELECT count(*) FROM {self.table(tier.width_ns)}").fetchall()
            out["tiers"][self.table(tier.width_ns)] = {
                "rows": int(row[0][0]) if row else 0,
                "rolled_until_ns": self._rolled[tier.width_ns],
                "ordered_rows": self._sorted_rows[tier.width_ns] or 0,
                "retention_ns": tier.retention_ns,
            }
        out["newest_ts_ns"] = self.newest_ts
        out["cache_bytes"] = self.cache_bytes()
        return out

    def cache_bytes(self) -> int:
        """Memory DuckDB holds now (buffer cache and working memory), bounded by its limit."""
        row = (
            self._cursor().execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
        )
        return int(row[0][0] or 0) if row else 0

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (shorter restart, smaller WAL)."""
        with self._write_lock:
            self._cursor().execute("CHECKPOINT")

    def close(self) -> None:
        """Close every thread's cursor, then the database (its threads must not outlive it)."""
        with self._write_lock, self._cursors_lock:
            for cur in self._cursors:
                cur.close()
            self._cursors.clear()
            self._con.close()


def _check_range(start_ns: int, end_ns: int) -> None:
    if start_ns >= end_ns:
        raise QueryError(f"'from' must be before 'to' (from={start_ns} ns, to={end_ns} ns)")
