"""Historian write path: sustained points/s of PlantOS against bare DuckDB and PostgreSQL.

The same stream of samples (100 tags at 1 Hz, values with two decimals, quality
Good) is cut into batches of 5k, 20k and 50k samples, as the bus would deliver
them, and written by five contenders, each to a fresh file or table:

(a) PlantOS ``DuckDBHistorian.write(batch)`` per batch;
(b) PlantOS group commit: batches joined with ``SampleBatch.concat`` into
    ~200k-row groups, then ``write``; this is what the writer stage
    (``plantos.historian.writer``) does between the bus and the historian, so it
    is PlantOS's real write path;
(c) peer: bare DuckDB, ``INSERT INTO samples SELECT * FROM arrow_table`` per batch
    (Arrow table built zero-copy from the batch's numpy columns), same schema (text and
    exact integers go to a table beside it, written only for batches that carry them);
(d) peer: bare DuckDB with the same ~200k grouping (columns joined with
    ``np.concatenate``: one contiguous Arrow table appends faster than a zero-copy
    ``pa.concat_tables`` of many chunks, measured 5-15 % faster here);
(e) peer: PostgreSQL binary ``COPY`` through psycopg 3, one transaction per batch,
    into a normal (logged) table; the COPY stream is built with a numpy structured
    array (big-endian fields with their length words), not row by row.

Every commit is durable when it returns (DuckDB syncs its WAL on commit,
PostgreSQL runs with its defaults, ``synchronous_commit=on``). The clock runs
from the first write to the return of the last one; opening the database and
creating the table are outside it, checkpoints DuckDB or PostgreSQL do on their
own during the run are inside it. DuckDB contenders run interleaved for
``--rounds`` rounds and the median of the rounds is reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from plantos.core.batch import NUMBERS_SCHEMA, SampleBatch
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier

NS = 1_000_000_000
T0 = 1_704_067_200 * NS  # 2024-01-01T00:00:00Z
# The default tiers of a plant file (1m for 400 days, 1h forever); maintain() is not
# called here, the rollup cost is measured by historian_query.py.
TIERS = [Tier(60 * NS, 400 * 86400 * NS), Tier(3600 * NS, None)]

DUCKDB_SCHEMA = """
CREATE TABLE samples (
    tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE, quality UINTEGER NOT NULL
)
"""
# uint32 status codes have no PostgreSQL type of their own: bigint holds them unchanged.
PG_SCHEMA = """
CREATE TABLE samples (
    tag_id integer NOT NULL, ts bigint NOT NULL, value double precision, quality bigint NOT NULL
)
"""
PG_COPY = "COPY samples (tag_id, ts, value, quality) FROM STDIN (FORMAT BINARY)"
PG_ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("len_tag", ">i4"),
        ("tag_id", ">i4"),
        ("len_ts", ">i4"),
        ("ts", ">i8"),
        ("len_value", ">i4"),
        ("value", ">f8"),
        ("len_quality", ">i4"),
        ("quality", ">i8"),
    ]
)
PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
PG_TRAILER = (-1).to_bytes(2, "big", signed=True)


# ---- data ---------------------------------------------------------------------------------


def sample_stream(points: int, tags: int, seed: int = 7) -> SampleBatch:
    """``points`` samples of ``tags`` tags polled once a second, time-major like a poller.

    Each tag has its own level, a slow oscillation and noise, rounded to two decimals;
    timestamps carry the tag's fixed poll offset plus a few ms of jitter.
    """
    rng = np.random.default_rng(seed)
    seconds = -(-points // tags)
    tag = np.tile(np.arange(1, tags + 1, dtype=np.int32), seconds)[:points]
    sec = np.repeat(np.arange(seconds, dtype=np.int64), tags)[:points]
    level = rng.uniform(5, 900, tags)
    amp = level * rng.uniform(0.01, 0.1, tags)
    period = rng.uniform(300, 7200, tags)
    noise = level * rng.uniform(0.001, 0.01, tags)
    offset_ms = rng.integers(0, 1000, tags)
    k = tag - 1
    value = (
        level[k]
        + amp[k] * np.sin(2 * np.pi * sec / period[k])
        + noise[k] * rng.standard_normal(points)
    )
    ts = T0 + sec * NS + offset_ms[k] * 1_000_000 + rng.integers(0, 5_000_000, points)
    return SampleBatch(tag, ts, np.round(value, 2), np.zeros(points, dtype=np.uint32))


def cut(stream: SampleBatch, rows: int) -> list[SampleBatch]:
    """The stream as independent batches of ``rows`` samples (own memory, like bus messages)."""
    out = []
    for lo in range(0, len(stream), rows):
        sl = slice(lo, lo + rows)
        out.append(
            SampleBatch(
                stream.tag_id[sl].copy(),
                stream.ts[sl].copy(),
                stream.value[sl].copy(),
                stream.quality[sl].copy(),
            )
        )
    return out


def groups(
    batches: Sequence[Any], rows: int, size: Callable[[Any], int] = len
) -> Iterator[list[Any]]:
    """Consecutive batches gathered until they hold ``rows`` samples or more (the writer's rule)."""
    pending: list[Any] = []
    n = 0
    for b in batches:
        pending.append(b)
        n += size(b)
        if n >= rows:
            yield pending
            pending, n = [], 0
    if pending:
        yield pending


# ---- contenders ---------------------------------------------------------------------------


def plantos_per_batch(path: Path, batches: list[SampleBatch], group_rows: int) -> float:
    hist = DuckDBHistorian(path, tiers=TIERS)
    try:
        t0 = time.perf_counter()
        for batch in batches:
            hist.write(batch)
        return time.perf_counter() - t0
    finally:
        hist.close()


def plantos_grouped(path: Path, batches: list[SampleBatch], group_rows: int) -> float:
    hist = DuckDBHistorian(path, tiers=TIERS)
    try:
        t0 = time.perf_counter()
        for group in groups(batches, group_rows):
            hist.write(SampleBatch.concat(group))
        return time.perf_counter() - t0
    finally:
        hist.close()


def duckdb_per_batch(path: Path, batches: list[SampleBatch], group_rows: int) -> float:
    con = duckdb.connect(str(path))
    try:
        con.execute(DUCKDB_SCHEMA)
        t0 = time.perf_counter()
        for batch in batches:
            incoming = batch.numbers_arrow()  # noqa: F841 (found by DuckDB's replacement scan)
            con.execute("INSERT INTO samples SELECT * FROM incoming")
        return time.perf_counter() - t0
    finally:
        con.close()


def duckdb_grouped(path: Path, batches: list[SampleBatch], group_rows: int) -> float:
    con = duckdb.connect(str(path))
    try:
        con.execute(DUCKDB_SCHEMA)
        t0 = time.perf_counter()
        for group in groups(batches, group_rows):
            incoming = pa.Table.from_arrays(  # noqa: F841
                [pa.array(np.concatenate([getattr(b, c) for b in group])) for c in COLUMNS],
                schema=NUMBERS_SCHEMA,
            )
            con.execute("INSERT INTO samples SELECT * FROM incoming")
        return time.perf_counter() - t0
    finally:
        con.close()


COLUMNS = ("tag_id", "ts", "value", "quality")
DUCKDB_CONTENDERS: dict[str, Callable[[Path, list[SampleBatch], int], float]] = {
    "a": plantos_per_batch,
    "b": plantos_grouped,
    "c": duckdb_per_batch,
    "d": duckdb_grouped,
}


def pg_copy_rows(batch: SampleBatch) -> np.ndarray:
    """The tuples of a binary COPY stream for ``batch``, as one structured array."""
    rows = np.empty(len(batch), dtype=PG_ROW)
    rows["nfields"] = 4
    rows["len_tag"] = 4
    rows["tag_id"] = batch.tag_id
    rows["len_ts"] = 8
    rows["ts"] = batch.ts
    rows["len_value"] = 8
    rows["value"] = batch.value
    rows["len_quality"] = 8
    rows["quality"] = batch.quality
    return rows


class Postgres:
    """A scratch database on the local server, dropped on close."""

    def __init__(self, dsn: str, dbname: str) -> None:
        import psycopg

        self.psycopg = psycopg
        self.dsn = dsn
        self.dbname = dbname
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {dbname}")
            admin.execute(f"CREATE DATABASE {dbname}")
        self.con = psycopg.connect(f"{dsn} dbname={dbname}")
        row = self.con.execute("SELECT version()").fetchone()
        self.version = row[0].split(" on ")[0] if row else "?"
        self.settings = {
            name: self.con.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in (
                "synchronous_commit",
                "fsync",
                "wal_level",
                "shared_buffers",
                "max_wal_size",
            )
        }
        self.con.commit()

    def reset(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS samples")
        self.con.execute(PG_SCHEMA)
        self.con.commit()

    def copy_per_batch(self, batches: list[SampleBatch]) -> float:
        self.reset()
        con = self.con
        t0 = time.perf_counter()
        for batch in batches:
            rows = pg_copy_rows(batch)
            with con.cursor() as cur, cur.copy(PG_COPY) as copy:
                copy.write(PG_HEADER)
                copy.write(memoryview(rows.view(np.uint8)))
                copy.write(PG_TRAILER)
            con.commit()
        return time.perf_counter() - t0

    def check(self, stream: SampleBatch) -> None:
        row = self.con.execute(
            "SELECT count(*), sum(value), sum(ts % 1000000007), max(tag_id) FROM samples"
        ).fetchone()
        self.con.commit()
        assert row is not None
        expected = (
            len(stream),
            float(stream.value.sum()),
            int((stream.ts % 1_000_000_007).sum()),
            int(stream.tag_id.max()),
        )
        if (
            row[0] != expected[0]
            or abs(row[1] - expected[1]) > 1e-6 * abs(expected[1])
            or row[2] != expected[2]
            or row[3] != expected[3]
        ):
            raise AssertionError(f"PostgreSQL holds {row}, expected {expected}")

    def table_bytes(self) -> int:
        row = self.con.execute("SELECT pg_total_relation_size('samples')").fetchone()
        self.con.commit()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.con.close()
        with self.psycopg.connect(self.dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.dbname}")


def check_duckdb(path: Path, stream: SampleBatch) -> None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT count(*), sum(value), max(ts) FROM samples").fetchone()
    finally:
        con.close()
    assert row is not None
    if (
        row[0] != len(stream)
        or row[2] != int(stream.ts.max())
        or abs(row[1] - stream.value.sum()) > 1e-6 * abs(stream.value.sum())
    ):
        raise AssertionError(f"{path} holds {row}, expected {len(stream)} samples")


# ---- main ---------------------------------------------------------------------------------

LABELS = {
    "a": "(a) PlantOS write per batch",
    "b": "(b) PlantOS group commit",
    "c": "(c) DuckDB Arrow append per batch",
    "d": "(d) DuckDB Arrow append, grouped",
    "e": "(e) PostgreSQL binary COPY per batch",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="historian_write", description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=10_000_000, help="samples per run (default 10M)")
    p.add_argument("--tags", type=int, default=100)
    p.add_argument("--batch-rows", default="5000,20000,50000", help="comma separated batch sizes")
    p.add_argument("--group-rows", type=int, default=200_000, help="group commit size")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the DuckDB runs")
    p.add_argument("--pg-rounds", type=int, default=1)
    p.add_argument("--pg-dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    p.add_argument("--pg-db", default="plantos_bench")
    p.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL peer")
    p.add_argument("--quick", action="store_true", help="1M points, 1 round, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.points, args.rounds, args.pg_rounds, args.no_doc = 1_000_000, 1, 1, True
    return args


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    med = statistics.median(values)
    return f" ±{100 * max(abs(v - med) for v in values) / med:.0f}%"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = [int(s) for s in args.batch_rows.split(",")]
    work = common.work_dir("write")
    path = work / "write.duckdb"
    print(
        f"historian write: {args.points:,} points per run, {args.tags} tags, batches {sizes}, "
        f"groups of {args.group_rows:,}, {args.rounds} round(s)"
    )

    pg: Postgres | None = None
    pg_note = "not measured (--no-pg)"
    if not args.no_pg:
        try:
            pg = Postgres(args.pg_dsn, args.pg_db)
        except Exception as exc:  # a missing server must not stop the DuckDB figures
            pg_note = f"not measured ({type(exc).__name__}: {exc})"
            print(f"PostgreSQL peer skipped: {exc}")

    stream = sample_stream(args.points, args.tags)
    rates: dict[int, dict[str, list[float]]] = {}
    sizes_on_disk: dict[str, int] = {}
    try:
        for rows in sizes:
            batches = cut(stream, rows)
            rates[rows] = {k: [] for k in "abcde"}
            for rnd in range(args.rounds):
                # Rotate the order each round so no contender always runs first or last.
                keys = list(DUCKDB_CONTENDERS)
                keys = keys[rnd % len(keys) :] + keys[: rnd % len(keys)]
                for key in keys:
                    common.remove_duckdb(path)
                    elapsed = DUCKDB_CONTENDERS[key](path, batches, args.group_rows)
                    check_duckdb(path, stream)
                    sizes_on_disk[key] = common.duckdb_size(path)
                    rate = len(stream) / elapsed
                    rates[rows][key].append(rate)
                    print(
                        f"  batch {rows:>6,}  round {rnd + 1}  {LABELS[key]:<38} "
                        f"{common.fmt_rate(rate):>8} points/s  ({elapsed:.2f} s)",
                        flush=True,
                    )
                    common.remove_duckdb(path)
            if pg is not None:
                for rnd in range(args.pg_rounds):
                    elapsed = pg.copy_per_batch(batches)
                    pg.check(stream)
                    sizes_on_disk["e"] = pg.table_bytes()
                    rate = len(stream) / elapsed
                    rates[rows]["e"].append(rate)
                    print(
                        f"  batch {rows:>6,}  round {rnd + 1}  {LABELS['e']:<38} "
                        f"{common.fmt_rate(rate):>8} points/s  ({elapsed:.2f} s)",
                        flush=True,
                    )
            del batches
    finally:
        common.remove_duckdb(path)
        if pg is not None:
            pg_note = f"{pg.version}, over TCP to 127.0.0.1, server defaults " + ", ".join(
                f"{k}={v}" for k, v in pg.settings.items()
            )
            pg.close()

    med = {
        r: {k: statistics.median(v) if v else float("nan") for k, v in rates[r].items()}
        for r in sizes
    }
    header = ["batch rows", *(LABELS[k] for k in "abcde"), "a/c", "b/c", "b/d", "b/e"]
    table = []
    for r in sizes:
        m = med[r]
        cells = [f"{r:,}"]
        cells += [
            f"{common.fmt_rate(m[k])}{spread(rates[r][k])}" if rates[r][k] else common.DASH
            for k in "abcde"
        ]
        cells += [
            f"{m['a'] / m['c']:.2f}",
            f"{m['b'] / m['c']:.2f}",
            f"{m['b'] / m['d']:.2f}",
            f"{m['b'] / m['e']:.1f}{common.TIMES}" if rates[r]["e"] else common.DASH,
        ]
        table.append(cells)

    print()
    common.print_table(header, table)

    worst_b = min(med[r]["b"] for r in sizes)
    worst_bc = min(med[r]["b"] / med[r]["c"] for r in sizes)
    worst_bd = min(med[r]["b"] / med[r]["d"] for r in sizes)
    worst_ac = min(med[r]["a"] / med[r]["c"] for r in sizes)
    goal_rate = "met" if worst_b >= 3e6 else "NOT met"
    goal_ratio = "met" if worst_bc >= 0.8 else "NOT met"
    bytes_per_point = {k: v / len(stream) for k, v in sizes_on_disk.items()}
    goals = (
        f"- Goal ≥ 3.0 M points/s on PlantOS's write path (b): **{goal_rate}**, "
        f"slowest batch size {common.fmt_rate(worst_b)} points/s.\n"
        f"- Goal ≥ 80 % of a bare DuckDB Arrow append of the same batches (b/c): **{goal_ratio}**, "
        f"lowest {worst_bc:.2f}. Against a bare append with the same grouping (b/d): "
        f"lowest {worst_bd:.2f}. "
        f"Without group commit (a/c): lowest {worst_ac:.2f}.\n"
    )
    print()
    print(goals)

    md = "\n".join(
        [
            "## Historian write path",
            "",
            common.machine_line(
                {
                    "PostgreSQL": pg.version.removeprefix("PostgreSQL ") if pg else common.DASH,
                    "psycopg": common._version("psycopg"),
                }
            ),
            "",
            f"Sustained points/s writing {args.points:,} samples ({args.tags} tags, 1 Hz, values "
            f"with two decimals, quality Good) cut into batches of the given size, each contender "
            f"to a fresh DuckDB file or PostgreSQL table. Median of {args.rounds} interleaved "
            f"round(s) for "
            f"DuckDB (± is the largest deviation of a round from the median), {args.pg_rounds} for "
            f"PostgreSQL. Every commit is durable when it returns. Groups are "
            f"{args.group_rows:,} rows, gathered the way `plantos.historian.writer` does.",
            "",
            common.markdown_table(header, table),
            "",
            "- (a) `DuckDBHistorian.write(batch)` per batch (tiers 1m and 1h configured, "
            "`maintain()` not called: rollups are measured in *historian-query*).",
            "- (b) batches joined with `SampleBatch.concat` into groups, then `write`: "
            "the writer stage's path from the bus to the historian.",
            "- (c) bare DuckDB `INSERT INTO samples SELECT * FROM arrow_table` per batch, Arrow "
            "table built zero-copy from the batch's columns, same table schema (text and exact "
            "integers go to a table beside it, written only for batches that carry them).",
            "- (d) as (c) with the same grouping, columns joined with `np.concatenate` (one "
            "contiguous Arrow table appends faster than a zero-copy `pa.concat_tables` of many "
            "chunks).",
            "- (e) psycopg 3 binary `COPY ... FROM STDIN (FORMAT BINARY)` per batch, one commit "
            "per batch, normal logged table without index; the COPY stream is a numpy structured "
            f"array written with `copy.write`. {pg_note}.",
            "",
            "Stored size after the run: "
            + ", ".join(
                f"{k} {common.fmt_bytes(v)} ({bytes_per_point[k]:.1f} B/point)"
                for k, v in sorted(sizes_on_disk.items())
            )
            + " (DuckDB file + WAL after close; PostgreSQL `pg_total_relation_size`).",
            "",
            goals,
        ]
    )
    common.publish("historian-write", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
