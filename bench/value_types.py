"""Ingest by value type: the gate and the historian write for numbers, text and exact
integers, against plain numbers through the same path and a bare DuckDB append.

One stream of 1,000,000 samples (1,000 tags, 1,000 timestamps) is sent in batches of
20,000 samples, as the bus delivers them, through PlantOS's ingest path: the ingest gate
(:class:`plantos.edge.normalise.Normaliser` with the plant's tag types) and then
``DuckDBHistorian.write`` in ~200,000-sample groups, as the writer stage does. Four
streams, each to a fresh file:

(n) numbers: float tags, plain float values, no ``exact`` column: the numeric path;
(i) counters: uint tags, every value beyond 2**53 (carried in ``exact``);
(t) text: text tags holding program names of 8-20 characters, one in ten changing;
(m) mixed: 90 % numbers, 5 % counters, 5 % text, as a machine with a program and a part
    counter beside its measurements sends them.

Peer (p): bare DuckDB, ``INSERT INTO samples SELECT * FROM arrow_table`` of the numbers
stream's four numeric columns in the same groups, no gate. Ratios n/p show what the ingest
gate and the text column cost plain numbers; t/n and i/n the price of each value type.
Cases run interleaved for ``--rounds`` rounds; the median is reported.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from plantos.core.batch import NUMBERS_SCHEMA, SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.normalise import Normaliser
from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Tier
from plantos.model.plant import TagDef

NS = 1_000_000_000
T0 = 1_704_067_200 * NS
TAGS = 1_000
BATCH = 20_000
GROUP = 200_000
PROGRAMS = [f"O{1000 + i} {word}" for i, word in enumerate(["ROUGH", "FINISH OP20", "DEBURR"])]


def tag_types(kind: str) -> dict[int, TagDef]:
    """Tag ids 1..TAGS of one stream: every tag of the stream's type, or the mix."""
    kinds = {"n": "float", "i": "uint", "t": "text"}
    tags = {}
    for i in range(1, TAGS + 1):
        dtype = kinds.get(kind) or ("text" if i % 20 == 0 else "uint" if i % 20 == 1 else "float")
        tags[i] = TagDef(f"s/a/l/m{i}/x", f"s/a/l/m{i}", "x", dtype, None, None, NS, max_length=64)
    return tags


def stream(kind: str, samples: int) -> list[SampleBatch]:
    """The stream cut into batches; values follow each tag's type."""
    types = tag_types(kind)
    steps = samples // TAGS
    ids = np.tile(np.arange(1, TAGS + 1, dtype=np.int32), steps)
    ts = np.repeat(T0 + np.arange(steps, dtype=np.int64) * NS, TAGS)
    rng = np.random.default_rng(7)
    floats = np.round(rng.normal(50, 5, len(ids)), 2)
    dtype = np.array([types[int(i)].dtype for i in range(1, TAGS + 1)])[ids - 1]
    values: list[object] = floats.tolist()
    for row in np.flatnonzero(dtype == "uint"):
        values[row] = 2**60 + int(row)
    for row in np.flatnonzero(dtype == "text"):
        values[row] = PROGRAMS[(int(row) // (10 * TAGS)) % len(PROGRAMS)]
    return [
        SampleBatch.from_values(ids[s : s + BATCH], ts[s : s + BATCH], values[s : s + BATCH])
        for s in range(0, len(ids), BATCH)
    ]


def plantos_path(path: Path, kind: str, batches: list[SampleBatch]) -> float:
    """Gate, then historian write in groups: the platform's path from a source to disk."""
    gate = Normaliser(
        np.arange(1, TAGS + 1, dtype=np.int32),
        clock=ManualClock(T0 + 3600 * NS),
        tags=tag_types(kind),
    )
    hist = DuckDBHistorian(path, tiers=[Tier(60 * NS, None), Tier(3600 * NS, None)])
    try:
        t0 = time.perf_counter()
        group: list[SampleBatch] = []
        for batch in batches:
            group.append(gate(batch, source="bench"))
            if sum(len(b) for b in group) >= GROUP:
                hist.write(SampleBatch.concat(group))
                group = []
        if group:
            hist.write(SampleBatch.concat(group))
        return time.perf_counter() - t0
    finally:
        hist.close()


def peer_append(path: Path, batches: list[SampleBatch]) -> float:
    """Bare DuckDB: the numeric columns appended in the same groups, no gate."""
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "CREATE TABLE samples (tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE,"
            " quality UINTEGER NOT NULL)"
        )
        t0 = time.perf_counter()
        per_group = GROUP // BATCH
        for start in range(0, len(batches), per_group):
            group = batches[start : start + per_group]
            incoming = pa.Table.from_arrays(  # noqa: F841 (found by DuckDB's replacement scan)
                [
                    pa.array(np.concatenate([getattr(b, c) for b in group]))
                    for c in NUMBERS_SCHEMA.names
                ],
                schema=NUMBERS_SCHEMA,
            )
            con.execute("INSERT INTO samples SELECT * FROM incoming")
        return time.perf_counter() - t0
    finally:
        con.close()


NAMES = {
    "n": "(n) numbers",
    "i": "(i) exact counters",
    "t": "(t) text",
    "m": "(m) mixed",
    "p": "(p) bare DuckDB append, numbers",
}


def run(samples: int, rounds: int) -> dict[str, list[float]]:
    streams = {kind: stream(kind, samples) for kind in "nitm"}
    streams["p"] = streams["n"]
    work = common.work_dir("value-types")
    timings: dict[str, list[float]] = {k: [] for k in NAMES}
    warm = work / "warm-up.duckdb"  # first connections and imports, outside the clock
    for kind in "nitm":
        common.remove_duckdb(warm)
        plantos_path(warm, kind, streams[kind][:2])
    common.remove_duckdb(warm)
    peer_append(warm, streams["p"][:2])
    common.remove_duckdb(warm)
    for r in range(rounds):
        for kind in NAMES:
            path = work / f"{kind}.duckdb"
            common.remove_duckdb(path)
            if kind == "p":
                seconds = peer_append(path, streams["p"])
            else:
                seconds = plantos_path(path, kind, streams[kind])
            timings[kind].append(samples / seconds)
            print(f"  round {r + 1}  {NAMES[kind]:<36} {common.fmt_rate(samples / seconds)}/s")
            common.remove_duckdb(path)
    return timings


def report(timings: dict[str, list[float]], samples: int, rounds: int) -> str:
    median = {k: float(np.median(v)) for k, v in timings.items()}
    rows = [
        [NAMES[k], f"{common.fmt_rate(median[k])}/s", f"{median[k] / median['n']:.2f}"]
        for k in NAMES
    ]
    table = common.markdown_table(["stream", "samples/s", "vs numbers"], rows, "lrr")
    return "\n\n".join(
        [
            "## Ingest by value type",
            common.machine_line(),
            f"{samples:,} samples of {TAGS:,} tags in batches of {BATCH:,}, through the ingest "
            f"gate with the tags' types and the historian write in groups of {GROUP:,} "
            f"(the writer stage's path), each stream to a fresh DuckDB file. Median of "
            f"{rounds} interleaved round(s).",
            table,
            "- (n) float tags, plain numbers: no `exact` column. (i) uint tags, every value "
            "beyond 2**53 (exact). (t) text tags, program names of 8-20 characters. (m) 90 % "
            "numbers, 5 % counters beyond 2**53, 5 % text.\n"
            "- (p) bare DuckDB `INSERT INTO samples SELECT * FROM arrow_table` of the numbers "
            "stream's four numeric columns in the same groups, no gate.",
            f"- Numbers through PlantOS against the bare append (n/p): "
            f"{median['n'] / median['p']:.2f}; the gap is the gate's checks (known tags, "
            "times, types, restatements) and the writer's bookkeeping; the write alone is "
            "compared with the same bare append in *Historian write path* (b/c and b/d).\n"
            f"- Goal ≥ 1 M samples/s for text and for exact counters through gate and write: "
            f"**{'met' if min(median['t'], median['i']) >= 1e6 else 'not met'}** "
            f"(text {common.fmt_rate(median['t'])}/s, counters {common.fmt_rate(median['i'])}/s"
            f"; {median['n'] / median['t']:.1f}{common.TIMES} and "
            f"{median['n'] / median['i']:.1f}{common.TIMES} the cost "
            "of a number: Python looks at each such sample at the gate and writes it as a "
            "string).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="200k samples, 1 round, no docs update")
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.rounds = 200_000, 1
    timings = run(args.samples, args.rounds)
    markdown = report(timings, args.samples, args.rounds)
    print(markdown)
    common.publish("value-types", markdown, skip=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
