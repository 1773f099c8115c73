"""Answering the DuckDB historian's queries from the cheapest source that is right.

Raw samples come straight from the ``samples`` table. A bucketed query is planned from
parts: the widest clean tier that divides the bucket, then finer tiers towards the end,
then the recent samples held in memory, and raw samples only where no tier reaches. A
tier with late samples not yet recomputed for the tag is never used.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np

from plantos.core.batch import Exact, exact_from_strings
from plantos.core.errors import QueryError
from plantos.historian import parts as np_parts
from plantos.historian import sql
from plantos.historian.buckets import finish_buckets
from plantos.historian.duckdb_state import Cursors, TierState, floor, table
from plantos.historian.protocol import AGGREGATES, STATE_AGGREGATES, BucketResult, RawResult

MAX_BUCKETS = 1_000_000


class QueryPlanner:
    """Read-only: safe from any thread, beside the writer."""

    def __init__(self, state: TierState, cursors: Cursors) -> None:
        self.state = state
        self.cursors = cursors

    def query_raw(self, tag_id: int, start_ns: int, end_ns: int, *, limit: int) -> RawResult:
        _check_range(start_ns, end_ns)
        if limit < 1:
            raise QueryError(f"limit must be at least 1, got {limit}")
        rows = (
            self.cursors.get()
            .execute(
                "SELECT s.ts, s.value, s.quality, e.exact FROM samples s LEFT JOIN ("
                + sql.exact_of("tag_id = $tag AND ts >= $start AND ts < $end")
                + ") e USING (tag_id, ts) WHERE s.tag_id = $tag AND s.ts >= $start "
                "AND s.ts < $end ORDER BY s.ts, s.rowid LIMIT $limit",
                {"tag": tag_id, "start": start_ns, "end": end_ns, "limit": limit + 1},
            )
            .fetchnumpy()
        )
        n = min(len(rows["ts"]), limit)
        value = np.asarray(rows["value"][:n], dtype=np.float64)
        return RawResult(
            np.asarray(rows["ts"][:n], dtype=np.int64),
            value,
            np.asarray(rows["quality"][:n], dtype=np.uint32),
            truncated=len(rows["ts"]) > limit,
            exact=_exact(rows["exact"][:n], value),
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
        if (end_ns - start_ns) // bucket_ns > MAX_BUCKETS:
            raise QueryError("more than 1,000,000 buckets requested: choose a wider bucket")
        cur = self.cursors.get()
        text = _dtype(cur, tag_id) == "text"
        if text and (refused := [a for a in wanted if a not in STATE_AGGREGATES]):
            raise QueryError(
                f"a text tag has no {', '.join(refused)}: use {', '.join(STATE_AGGREGATES)}"
            )
        states = [a for a in wanted if text or a == "changes"]
        numbers = [a for a in wanted if a not in states]
        results = []
        if states:
            results.append(_state_buckets(cur, tag_id, start_ns, end_ns, bucket_ns, states))
        if numbers:
            parts, source = self._gather_parts(cur, tag_id, start_ns, end_ns, bucket_ns)
            horizon = min(end_ns, (self.state.newest_ts or end_ns) + 1)
            results.append(
                finish_buckets(
                    np_parts.compose(parts, bucket_ns),
                    bucket_ns=bucket_ns,
                    horizon_ns=horizon,
                    aggs=numbers,
                    source=source,
                )
            )
        return results[0] if len(results) == 1 else _merged(*results)

    def _gather_parts(
        self, cur: duckdb.DuckDBPyConnection, tag_id: int, start: int, end: int, bucket: int
    ) -> tuple[np_parts.Parts, str]:
        """Parts covering [start, end) and where they came from: the widest clean tier that
        divides the bucket, then finer tiers towards the end, then the recent samples in
        memory; raw samples from the database only where no tier reaches."""
        state = self.state
        tag = int(tag_id)
        usable = [
            t
            for t in state.tiers
            if bucket % t.width_ns == 0
            and state.rolled[t.width_ns] is not None
            and (t.width_ns, tag) not in state.dirty
        ]
        if not usable:
            return self._raw_parts(cur, tag, start, end, bucket), "raw"
        recent = state.recent
        pieces: list[np_parts.Parts] = []
        sources: list[str] = []
        coarsest = usable[-1].width_ns
        covered = min(-(-start // coarsest) * coarsest, end)
        if start < covered:
            pieces.append(self._raw_parts(cur, tag, start, covered, coarsest))
            sources.append("raw")
        for tier in reversed(usable):
            width = tier.width_ns
            hi = min(floor(end, width), state.rolled[width] or covered)
            if hi > covered:
                pieces.append(
                    _fetch_parts(
                        cur,
                        f"SELECT bucket, {sql.PART_COLUMNS} FROM {table(width)} "
                        f"WHERE tag_id = {tag} AND bucket >= {covered} AND bucket < {hi}",
                    )
                )
                sources.append(table(width))
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

    @staticmethod
    def _raw_parts(
        cur: duckdb.DuckDBPyConnection, tag: int, start: int, end: int, width: int
    ) -> np_parts.Parts:
        where = f"tag_id = {tag} AND ts >= {start} AND ts < {end}"
        return _fetch_parts(
            cur, f"SELECT bucket, {sql.PART_COLUMNS} FROM ({sql.raw_parts(width, where)})"
        )


def _fetch_parts(cur: duckdb.DuckDBPyConnection, query: str) -> np_parts.Parts:
    """Run a parts query; the parts come back in time order, as composing needs."""
    rows = cur.execute(query).fetchnumpy()
    parts = {c: np.asarray(rows[c]) for c in np_parts.COLUMNS}
    fts = parts["fts"]
    if bool(np.all(fts[1:] >= fts[:-1])):
        return parts
    order = np.argsort(fts, kind="stable")
    return {c: v[order] for c, v in parts.items()}


def _dtype(cur: duckdb.DuckDBPyConnection, tag_id: int) -> str | None:
    row = cur.execute("SELECT dtype FROM tags WHERE id = ?", [int(tag_id)]).fetchone()
    return str(row[0]) if row else None


def _state_buckets(
    cur: duckdb.DuckDBPyConnection, tag_id: int, start: int, end: int, width: int, aggs: list[str]
) -> BucketResult:
    """First, last, count and changes per bucket, exact values included (see
    :func:`sql.discrete_buckets`)."""
    rows = cur.execute(sql.discrete_buckets(tag_id, start, end, width)).fetchnumpy()
    value = {
        "first": np.asarray(rows["fv"], np.float64),
        "last": np.asarray(rows["lv"], np.float64),
    }
    exact = {
        agg: _exact(rows[column], value[agg]) for agg, column in (("first", "fe"), ("last", "le"))
    }
    columns: dict[str, np.ndarray[Any, Any]] = {}
    held: dict[str, Exact] = {}
    for agg in aggs:
        if agg in ("count", "changes"):
            columns[agg] = np.asarray(rows["n" if agg == "count" else "changes"], np.int64)
        else:
            columns[agg] = value[agg]
            if (kept := exact[agg]) is not None:
                held[agg] = kept
    return BucketResult(np.asarray(rows["bucket"], np.int64), columns, "raw", held)


def _merged(states: BucketResult, numbers: BucketResult) -> BucketResult:
    """The columns of both results over the buckets of the numbers' (the state query keeps
    samples the number query does not: none for numeric tags, as both skip the same)."""
    at = np.searchsorted(states.bucket_ns, numbers.bucket_ns)
    at = np.minimum(at, max(len(states.bucket_ns) - 1, 0))
    columns = dict(numbers.values)
    for name, column in states.values.items():
        columns[name] = column[at] if len(column) else column
    held = {name: column[at] if len(column) else column for name, column in states.exact.items()}
    return BucketResult(numbers.bucket_ns, columns, f"{numbers.source}+raw", held)


def _exact(column: np.ndarray, value: np.ndarray) -> Exact | None:
    """The ``exact`` column of a query's rows (DuckDB gives a masked array for nulls)."""
    held = ~np.ma.getmaskarray(column)
    if not held.any():
        return None
    return exact_from_strings([c if h else None for c, h in zip(column, held, strict=True)], value)


def _check_range(start_ns: int, end_ns: int) -> None:
    if start_ns >= end_ns:
        raise QueryError(f"'from' must be before 'to' (from={start_ns} ns, to={end_ns} ns)")
