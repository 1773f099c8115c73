"""Bucketed queries: one tag over 30 days, from the rollup tiers and by scanning raw samples.

Builds (once, kept in ``bench/.work/query/``) a historian with tiers 1m and 1h
holding ``--days`` of 1 Hz data for ``--tags`` tags (default 30 days x 100 tags =
259.2 M samples): written in time order in ~200k-row groups, each tag a smooth
signal plus noise rounded to two decimals, with ``maintain(now)`` called every
simulated hour so the rollups grow incrementally as in production.

Then, on that file (opened read-only), the median of ``--runs`` timed runs after
two warm-ups of:

* PlantOS ``query_buckets`` 1-minute ``avg`` of one tag over the whole range
  (served by the 1m tier; the newest, still open minute comes from raw samples);
* PlantOS ``query_buckets`` 1-hour ``twa`` (served by the 1h tier);
* the same two queries through a second ``DuckDBHistorian(tiers=[])`` on the same
  file: PlantOS's own raw path, which scans the samples table;
* two bare-SQL references: a plain ``GROUP BY`` average over the samples table
  (the least work any raw scan can do) and a plain read of the tag's rows of the
  ``rollup_1m`` table (the least work the tier path can do).

The tag changes from run to run (round robin over all tags). Results of the tier
and raw paths are compared, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from plantos.core.batch import SampleBatch
from plantos.historian import sql
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier

NS = 1_000_000_000
MINUTE, HOUR, DAY = 60 * NS, 3600 * NS, 86400 * NS
T0 = 1_704_067_200 * NS  # 2024-01-01T00:00:00Z
TIERS = [Tier(MINUTE, 400 * DAY), Tier(HOUR, None)]
GROUP_ROWS = 200_000
BUILD_VERSION = 1


# ---- building -----------------------------------------------------------------------------


class Signal:
    """Per tag: a level, a daily cycle, a faster oscillation and noise; two decimals."""

    def __init__(self, tags: int, seed: int = 11) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.tags = tags
        self.level = rng.uniform(5, 900, tags)
        self.daily = self.level * rng.uniform(0.02, 0.2, tags)
        self.amp = self.level * rng.uniform(0.01, 0.05, tags)
        self.period = rng.uniform(600, 7200, tags)
        self.phase = rng.uniform(0, 2 * np.pi, tags)
        self.noise = self.level * rng.uniform(0.001, 0.01, tags)
        self.offset_ns = rng.integers(0, 1000, tags) * 1_000_000  # fixed poll offset per tag

    def group(self, first_s: int, seconds: int) -> SampleBatch:
        """All tags for ``seconds`` seconds from second ``first_s``, time-major."""
        tags = self.tags
        sec = np.repeat(np.arange(first_s, first_s + seconds, dtype=np.int64), tags)
        k = np.tile(np.arange(tags), seconds)
        t = sec.astype(np.float64)
        value = (
            self.level[k]
            + self.daily[k] * np.sin(2 * np.pi * t / 86400 + self.phase[k])
            + self.amp[k] * np.sin(2 * np.pi * t / self.period[k])
            + self.noise[k] * self.rng.standard_normal(len(k))
        )
        return SampleBatch(
            (k + 1).astype(np.int32),
            T0 + sec * NS + self.offset_ns[k],
            np.round(value, 2),
            np.zeros(len(k), dtype=np.uint32),
        )


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def existing_build(path: Path, days: int, tags: int) -> dict[str, Any] | None:
    """The build record, when the file is complete: right parameters and row count."""
    meta_file = meta_path(path)
    if not (path.exists() and meta_file.exists()):
        return None
    try:
        meta = json.loads(meta_file.read_text())
    except ValueError:
        return None
    if meta.get("version") != BUILD_VERSION or meta.get("days") != days or meta.get("tags") != tags:
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        print(f"cannot open {path}: {exc}")
        return None
    try:
        row = con.execute("SELECT count(*) FROM samples").fetchone()
    finally:
        con.close()
    expected = days * 86400 * tags
    if not row or row[0] != expected:
        print(f"{path} holds {row[0] if row else 0:,} samples, expected {expected:,}: rebuilding")
        return None
    return meta


def build(path: Path, days: int, tags: int) -> dict[str, Any]:
    common.remove_duckdb(path)
    meta_path(path).unlink(missing_ok=True)
    signal = Signal(tags)
    seconds_per_group = max(GROUP_ROWS // tags, 1)
    total_s = days * 86400
    total = total_s * tags
    hist = DuckDBHistorian(path, tiers=TIERS)
    write_s = maintain_s = gen_s = 0.0
    maintains = 0
    last_hour = None
    rolled_rows = 0
    started = time.perf_counter()
    next_report = started + 10
    try:
        for first in range(0, total_s, seconds_per_group):
            t = time.perf_counter()
            batch = signal.group(first, min(seconds_per_group, total_s - first))
            t1 = time.perf_counter()
            hist.write(batch)
            t2 = time.perf_counter()
            gen_s += t1 - t
            write_s += t2 - t1
            now = int(batch.ts.max())
            hour = now // HOUR
            if hour != last_hour:
                last_hour = hour
                done = hist.maintain(now)
                maintain_s += time.perf_counter() - t2
                maintains += 1
                rolled_rows += sum(done["rolled"].values())
            if time.perf_counter() >= next_report:
                next_report += 10
                written = (first + seconds_per_group) * tags
                print(
                    f"  building: {min(written, total) / 1e6:7.1f} M of {total / 1e6:.1f} M "
                    f"samples ({100 * min(written, total) / total:3.0f} %), write {write_s:.0f} s, "
                    f"maintain {maintain_s:.0f} s, file {common.fmt_bytes(path.stat().st_size)}, "
                    f"WAL {common.fmt_bytes(common.duckdb_size(path) - path.stat().st_size)}",
                    flush=True,
                )
        t = time.perf_counter()
        done = hist.maintain(int(hist.newest_ts or 0))
        rolled_rows += sum(done["rolled"].values())
        maintain_s += time.perf_counter() - t
        maintains += 1
        stats = hist.stats()
        wal = path.with_name(path.name + ".wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
    finally:
        # DuckDB folds the WAL into the file when the last connection closes.
        t = time.perf_counter()
        hist.close()
        close_s = time.perf_counter() - t
    wall_s = time.perf_counter() - started
    meta = {
        "version": BUILD_VERSION,
        "days": days,
        "tags": tags,
        "samples": total,
        "group_rows": seconds_per_group * tags,
        "write_s": write_s,
        "maintain_s": maintain_s,
        "maintains": maintains,
        "wal_bytes_before_close": wal_bytes,
        "close_s": close_s,
        "generate_s": gen_s,
        "wall_s": wall_s,
        "rollup_rows": rolled_rows,
        "tiers": {k: v["rows"] for k, v in stats["tiers"].items()},
        "file_bytes": common.duckdb_size(path),
        "built": common.utc_now(),
        "machine": common.machine_line(),
    }
    meta_path(path).write_text(json.dumps(meta, indent=2))
    return meta


# ---- querying -----------------------------------------------------------------------------

BARE_RAW_AVG = f"""
    SELECT {sql.floor_expr("ts", MINUTE)} AS bucket, avg(value) AS avg FROM samples
    WHERE tag_id = $tag AND ts >= $lo AND ts < $hi AND {sql.USABLE}
    GROUP BY bucket ORDER BY bucket
"""
BARE_TIER_AVG = """
    SELECT bucket, s / n AS avg FROM rollup_1m
    WHERE tag_id = $tag AND bucket >= $lo AND bucket < $hi ORDER BY bucket
"""


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="historian_query", description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--tags", type=int, default=100)
    p.add_argument("--quick", action="store_true", help="2 days, 20 tags, 5 runs, no docs update")
    p.add_argument("--runs", type=int, default=20, help="timed runs per query (after 2 warm-ups)")
    p.add_argument(
        "--raw-runs", type=int, default=None, help="timed runs of raw scans (default --runs)"
    )
    p.add_argument("--rebuild", action="store_true", help="rebuild the file even if it is complete")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.days, args.tags, args.runs, args.no_doc = 2, 20, 5, True
    if args.raw_runs is None:
        args.raw_runs = args.runs
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    path = common.work_dir("query") / f"history-{args.days}d-{args.tags}t.duckdb"
    total = args.days * 86400 * args.tags
    meta = None if args.rebuild else existing_build(path, args.days, args.tags)
    if meta is None:
        print(
            f"building {path.name}: {args.days} days x {args.tags} tags at 1 Hz = {total:,} samples"
        )
        meta = build(path, args.days, args.tags)
        reused = False
    else:
        print(f"reusing {path} ({meta['samples']:,} samples, built {meta['built']})")
        reused = True
    ingest_rate = meta["samples"] / meta["write_s"]
    build_rate = meta["samples"] / (meta["write_s"] + meta["maintain_s"])
    print(
        f"  build: write {meta['write_s']:.1f} s ({common.fmt_rate(ingest_rate)} points/s), "
        f"maintain {meta['maintain_s']:.1f} s in {meta['maintains']} calls, "
        f"together {common.fmt_rate(build_rate)} points/s; "
        f"file {common.fmt_bytes(meta['file_bytes'])}"
    )

    start, end = T0, T0 + args.days * DAY
    tiered = DuckDBHistorian(path, tiers=TIERS, read_only=True)
    raw = DuckDBHistorian(path, tiers=[], read_only=True)
    con = duckdb.connect(str(path), read_only=True)
    tags = list(range(1, args.tags + 1))
    turn = {"i": 0}

    def next_tag() -> int:
        turn["i"] += 1
        return tags[turn["i"] % len(tags)]

    def q(h: DuckDBHistorian, bucket: int, agg: str) -> Any:
        return lambda: h.query_buckets(next_tag(), start, end, bucket_ns=bucket, aggs=[agg])

    def bare(query: str) -> Any:
        return lambda: con.execute(query, {"tag": next_tag(), "lo": start, "hi": end}).fetchnumpy()

    try:
        # Correctness first: the tier path must give what the raw path gives.
        tag = tags[len(tags) // 2]
        checks = {}
        for bucket, agg, want_source in ((MINUTE, "avg", "rollup_1m"), (HOUR, "twa", "rollup_1h")):
            a = tiered.query_buckets(tag, start, end, bucket_ns=bucket, aggs=[agg])
            b = raw.query_buckets(tag, start, end, bucket_ns=bucket, aggs=[agg])
            if not a.source.startswith(want_source):
                raise AssertionError(
                    f"{agg} per {bucket // NS} s served from {a.source}, not {want_source}"
                )
            if b.source != "raw":
                raise AssertionError(f"historian without tiers served from {b.source}")
            expected_buckets = (end - start) // bucket
            if len(a.bucket_ns) != expected_buckets or not np.array_equal(a.bucket_ns, b.bucket_ns):
                raise AssertionError(
                    f"{agg}: {len(a.bucket_ns)} buckets from tier, {len(b.bucket_ns)} raw"
                )
            if not np.allclose(a.values[agg], b.values[agg], rtol=1e-9, atol=1e-9):
                worst = float(np.max(np.abs(a.values[agg] - b.values[agg])))
                raise AssertionError(f"{agg}: tier and raw differ by up to {worst}")
            checks[agg] = (a.source, len(a.bucket_ns))
        bare_raw = con.execute(BARE_RAW_AVG, {"tag": tag, "lo": start, "hi": end}).fetchnumpy()
        if not np.allclose(
            bare_raw["avg"],
            tiered.query_buckets(tag, start, end, bucket_ns=MINUTE, aggs=["avg"]).values["avg"],
            rtol=1e-9,
        ):
            raise AssertionError("bare SQL average differs from PlantOS")

        cases = [
            (
                "1-min avg, PlantOS from 1m tier",
                q(tiered, MINUTE, "avg"),
                args.runs,
                checks["avg"][0],
            ),
            ("1-min avg, PlantOS raw path (tiers=[])", q(raw, MINUTE, "avg"), args.raw_runs, "raw"),
            (
                "1-min avg, bare SQL GROUP BY on samples",
                bare(BARE_RAW_AVG),
                args.raw_runs,
                "samples",
            ),
            ("1-min avg, bare SQL read of rollup_1m", bare(BARE_TIER_AVG), args.runs, "rollup_1m"),
            (
                "1-hour twa, PlantOS from 1h tier",
                q(tiered, HOUR, "twa"),
                args.runs,
                checks["twa"][0],
            ),
            ("1-hour twa, PlantOS raw path (tiers=[])", q(raw, HOUR, "twa"), args.raw_runs, "raw"),
        ]
        # Round robin within each group, so a change in the machine's load hits all cases of
        # the group alike; raw scans get their own group, so their sweep through 259 M rows
        # does not evict what the small tier reads keep warm between runs.
        timings: dict[str, common.Timing] = {}
        for group in ("tier", "raw"):
            members = [c for c in cases if (c[3] == "raw" or c[3] == "samples") == (group == "raw")]
            print(
                f"  timing {len(members)} {group} queries round robin: "
                f"{args.raw_runs if group == 'raw' else args.runs} runs after 2 warm-up rounds",
                flush=True,
            )
            timings |= common.timeit_interleaved(
                {label: fn for label, fn, _runs, _source in members},
                repeat={label: runs for label, _fn, runs, _source in members},
                warmup=2,
            )
        for label, _fn, _runs, source in cases:
            print(f"  {label:<42} {timings[label]}  [{source}]", flush=True)
    finally:
        con.close()
        tiered.close()
        raw.close()

    med = {k: v.median for k, v in timings.items()}
    tier_avg = med["1-min avg, PlantOS from 1m tier"]
    raw_avg = med["1-min avg, PlantOS raw path (tiers=[])"]
    bare_raw_avg = med["1-min avg, bare SQL GROUP BY on samples"]
    bare_tier = med["1-min avg, bare SQL read of rollup_1m"]
    tier_twa = med["1-hour twa, PlantOS from 1h tier"]
    raw_twa = med["1-hour twa, PlantOS raw path (tiers=[])"]

    header = ["query (one tag, whole range)", "source", "median", "best", "runs", "vs PlantOS tier"]
    rows = []
    for label, _fn, _runs, source in cases:
        t = timings[label]
        ref = tier_twa if "twa" in label else tier_avg
        rows.append(
            [
                label,
                f"`{source}`",
                common.fmt_s(t.median),
                common.fmt_s(t.best),
                len(t.runs),
                f"{t.median / ref:.1f}{common.TIMES}",
            ]
        )
    print()
    common.print_table(header, rows)
    goal = "met" if tier_avg < 0.020 else "NOT met"
    x = common.TIMES
    summary = (
        f"- Goal < 20 ms for 1-minute averages of one tag over {args.days} days from the rollup "
        f"tier: **{goal}**, median {common.fmt_s(tier_avg)} ({checks['avg'][1]:,} buckets); the "
        f"raw scan takes {common.fmt_s(raw_avg)} through PlantOS ({raw_avg / tier_avg:.0f}{x} "
        f"slower) and {common.fmt_s(bare_raw_avg)} as a bare SQL `GROUP BY` "
        f"({bare_raw_avg / tier_avg:.0f}{x}).\n"
        f"- PlantOS's tier path takes {tier_avg / bare_tier:.1f}{x} a bare read of the same "
        f"rollup rows ({common.fmt_s(bare_tier)}): the rest is the still open minute from "
        f"the samples kept in memory, converting the rows and computing the aggregates.\n"
        f"- 1-hour time-weighted average: {common.fmt_s(tier_twa)} from the 1h tier, "
        f"{common.fmt_s(raw_twa)} from raw samples ({raw_twa / tier_twa:.0f}{x}).\n"
    )
    print()
    print(summary)

    size = meta["file_bytes"]
    build_md = (
        f"Build{' (reused file, built ' + meta['built'] + ')' if reused else ''}: "
        f"{meta['samples']:,} samples written in {meta['group_rows']:,}-row groups in "
        f"{meta['write_s']:.1f} s (**{common.fmt_rate(ingest_rate)} points/s** ingest), rollups "
        f"1m and 1h maintained incrementally in {meta['maintains']} `maintain()` calls taking "
        f"{meta['maintain_s']:.1f} s; ingest and rollups together **{common.fmt_rate(build_rate)} "
        f"points/s**. Rollup rows: "
        + ", ".join(f"{k} {v:,}" for k, v in meta["tiers"].items())
        + f". File after close (DuckDB checkpoints on close): **{common.fmt_bytes(size)}** "
        f"({size / meta['samples']:.2f} B/sample, everything included); the write-ahead log held "
        f"{common.fmt_bytes(meta['wal_bytes_before_close'])} just before close, folded in "
        f"{meta['close_s']:.1f} s."
    )
    if reused and meta.get("machine"):
        build_md += f" Build machine: {meta['machine'].removeprefix('*Machine:* ')}"

    md = "\n".join(
        [
            "## Historian bucketed queries",
            "",
            common.machine_line(),
            "",
            f"One DuckDB historian file with tiers 1m and 1h holding {args.days} days of 1 Hz data "
            f"for {args.tags} tags (smooth signal plus noise, two decimals), written in time order "
            f"with `maintain(now)` every simulated hour. Queries ask for one tag over the whole "
            f"{args.days} days, the tag changing round robin from run to run; median of the timed "
            f"runs after 2 warm-ups, timed round robin among the tier queries and among the raw "
            f"scans. The raw path is a second "
            f"`DuckDBHistorian(tiers=[])` opened read-only on the same file, so its "
            f"`query_buckets` computes the same buckets from the samples table; the bare SQL rows "
            f"show the least work a raw scan (`GROUP BY` average) or a tier read can do. Tier and "
            f"raw answers are checked equal before timing.",
            "",
            common.markdown_table(header, rows, align="llrrrr"),
            "",
            summary,
            build_md,
        ]
    )
    common.publish("historian-query", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
