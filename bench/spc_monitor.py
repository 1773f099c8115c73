"""SPC monitor throughput: samples/s through ``SpcMonitor`` for 1,000 characteristics.

1,000 tags at 1 Hz (normal noise with a drift on every tenth tag, so rules do
fire), cut into batches of N seconds as the bus would deliver them. Each batch
is split by tag once (one stable argsort), then every tag's slice goes to its
monitor. Contenders, run interleaved on the same batches:

(a) PlantOS ``SpcMonitor`` on I-MR charts (single samples), limits frozen,
    Nelson rules 1-8 on the individuals, rule 1 on the moving range;
(b) PlantOS ``SpcMonitor`` on X-bar/R charts (subgroups of 5), same rules;
(c) peer: plain numpy over the same slices computing the same statistics
    (moving range, or subgroup mean and range) and the 3-sigma comparison,
    without rules, carry-over or events: the ceiling of per-slice numpy work.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import common

from plantos.analytics.spc import ChartKind, ControlLimits, SpcMonitor
from plantos.core.clock import ManualClock

NS = 1_000_000_000
T0 = 1_704_067_200 * NS

Slices = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def batches(tags: int, seconds: int, batch_s: int, seed: int = 11) -> list[Slices]:
    """Per batch, the (ts, value, quality) slice of every tag, as one argsort yields them."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, seconds, batch_s):
        n = min(batch_s, seconds - start)
        tag = np.tile(np.arange(tags, dtype=np.int32), n)
        sec = np.repeat(np.arange(start, start + n, dtype=np.int64), tags)
        value = rng.standard_normal(tags * n) + np.where(tag % 10 == 0, sec / 600.0, 0.0)
        ts = T0 + sec * NS
        order = np.argsort(tag, kind="stable")
        bounds = np.searchsorted(tag[order], np.arange(tags + 1))
        q = np.zeros(len(tag), dtype=np.uint32)
        ts, value, q = ts[order], value[order], q[order]
        out.append([(ts[a:b], value[a:b], q[a:b]) for a, b in itertools.pairwise(bounds)])
    return out


def monitors(chart: ChartKind, tags: int) -> list[SpcMonitor]:
    limits = ControlLimits(chart=chart, center=0.0, sigma=1.0, subgroups=100)
    size = 1 if chart is ChartKind.I_MR else 5
    clock = ManualClock(T0)
    return [
        SpcMonitor(tag=f"t{i}", chart=chart, clock=clock, subgroup_size=size, limits=limits)
        for i in range(tags)
    ]


def run_monitors(chart: ChartKind, data: list[Slices]) -> Callable[[], int]:
    def run() -> int:
        mons = monitors(chart, len(data[0]))
        events = 0
        for slices in data:
            for mon, (ts, v, q) in zip(mons, slices, strict=True):
                events += len(mon.update(ts, v, q))
        return events

    return run


def run_numpy(data: list[Slices]) -> Callable[[], int]:
    def run() -> int:
        beyond = 0
        for slices in data:
            for _ts, v, q in slices:
                good = v[(q == 0) & np.isfinite(v)]
                mr = np.abs(np.diff(good))
                g = good[: len(good) // 5 * 5].reshape(-1, 5)
                xbar, rng = g.mean(axis=1), np.ptp(g, axis=1)
                beyond += int((np.abs(good) > 3).sum() + (mr > 3.267 * 1.128).sum())
                beyond += int((np.abs(xbar) > 3 / np.sqrt(5)).sum() + (rng > 4.918).sum())
        return beyond

    return run


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="spc_monitor", description=__doc__.split("\n\n")[0])
    p.add_argument("--tags", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=3600, help="simulated seconds per run")
    p.add_argument("--batch-s", default="10,60,600", help="comma separated batch lengths in s")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="600 s, 1 round, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.no_doc = 600, 1, True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    samples = args.tags * args.seconds
    header = [
        "batch",
        "(a) I-MR monitor",
        "(b) X-bar/R monitor",
        "(c) numpy statistics only",
        "a/c",
        "b/c",
        "real time (b)",
    ]
    rows = []
    for batch_s in (int(s) for s in args.batch_s.split(",")):
        data = batches(args.tags, args.seconds, batch_s)
        cases = {
            "a": run_monitors(ChartKind.I_MR, data),
            "b": run_monitors(ChartKind.XBAR_R, data),
            "c": run_numpy(data),
        }
        t = common.timeit_interleaved(cases, repeat=args.rounds)
        rate = {k: samples / v.median for k, v in t.items()}
        print(
            f"  batch {batch_s:>4} s  "
            + "  ".join(f"{k} {common.fmt_rate(r)}/s" for k, r in rate.items())
        )
        rows.append(
            [
                f"{batch_s} s",
                *(f"{common.fmt_rate(rate[k])}/s" for k in "abc"),
                f"{rate['a'] / rate['c']:.2f}",
                f"{rate['b'] / rate['c']:.2f}",
                f"{min(rate['a'], rate['b']) / args.tags:,.0f}{common.TIMES}",
            ]
        )
    print()
    common.print_table(header, rows)
    md = "\n".join(
        [
            "## SPC monitor",
            "",
            common.machine_line(),
            "",
            f"Samples/s through `SpcMonitor` for {args.tags:,} characteristics at 1 Hz "
            f"({args.seconds:,} simulated seconds, {samples:,} samples per run), batches of the "
            f"given length split by tag once, every slice to its tag's monitor. Median of "
            f"{args.rounds} interleaved round(s). Limits frozen beforehand; Nelson rules 1-8 on "
            "the location chart, rule 1 on the dispersion chart, events built for every hit.",
            "",
            common.markdown_table(header, rows),
            "",
            "- (a) I-MR chart (single samples); (b) X-bar/R chart, subgroups of 5.",
            "- (c) peer: plain numpy over the same slices computing moving ranges, subgroup "
            "means and ranges and the 3-sigma comparison, without rules, carry-over or "
            "events: the ceiling for per-slice numpy work.",
            "- Real time: the slower monitor's samples/s divided by the samples/s the "
            f"{args.tags:,} characteristics produce at 1 Hz.",
        ]
    )
    common.publish("spc-monitor", md, skip=args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
