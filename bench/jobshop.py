"""Job shop: makespan for the work of 10 s on 2 cores against the best known values.

Contenders per JSPLIB instance, each with the same work and solver threads:

(a) PlantOS ``solve_jobshop``: a dispatching rule's schedule improved by a tabu
    search, then two CP-SAT searches side by side from it on the textbook model
    tightened by it (its makespan bounds the horizon, start windows from the work
    before and after each operation, the makespan's lower bound, the schedule as
    hint), bounded by the work ``--time-limit`` names;
(b) peer: bare CP-SAT with the textbook model (an interval per operation, no overlap
    per machine, precedence in each job, horizon the sum of all durations) and its
    own parameters, on the same threads for the deterministic time they get in (a)
    over the whole limit, searching in synchronised batches with a fixed seed;
(c) the dispatching rule alone (Giffler-Thompson, most work remaining first).

Both searches are bounded by work, not by the clock, so each figure is the same on
every run whatever the machine's load; the wall time of (a) and (b) is reported so
a reader sees the work fits in the limit on the machine measured.

The gap is (makespan - best known) / best known, the best known value being the
proven optimum or the best upper bound listed in JSPLIB's ``instances.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from ortools.sat.python import cp_model

from plantos.mom.scheduling.cpsat import deterministic_solver
from plantos.mom.scheduling.jobshop import (
    BATCH_SIZE,
    CP_SAT_WORK_PER_SECOND,
    SAFETY_FACTOR,
    TABU_SHARE,
    dispatch_jobshop,
    solve_jobshop,
)
from plantos.mom.scheduling.jsplib import JobShop, read_jsplib

DATA = common.REPO.parent / "shared" / "data" / "scheduling" / "jsplib"
GOAL_OPS = 225  # instances of at most this many operations must be within 5 %
GOAL_GAP = 0.05
FULL = [
    "ft06",
    "ft10",
    "ft20",
    *(f"la{i:02d}" for i in range(1, 41)),
    *(f"abz{i}" for i in range(5, 10)),
    *(f"orb{i:02d}" for i in range(1, 11)),
    *(f"swv{i:02d}" for i in range(1, 11)),
    *(f"ta{i:02d}" for i in range(1, 11)),
]
HEADER = [
    "instance",
    "size",
    "ops",
    "best known",
    "(a) PlantOS",
    "gap",
    "(b) bare CP-SAT",
    "gap",
    "(c) dispatch",
    "gap",
    "(a) s",
    "(b) s",
]
REPRESENTATIVE = ["ft06", "ft10", "ft20", *(f"la{i:02d}" for i in range(1, 11)), "abz5", "orb01"]


def bare_cp_sat(shop: JobShop, *, time_limit_s: float, workers: int) -> int:
    """The textbook model, as in the OR-Tools job-shop example, with CP-SAT's own
    parameters but for the work limit and what makes it repeatable."""
    model = cp_model.CpModel()
    horizon = sum(d for job in shop.jobs for _, d in job)
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(shop.machines)]
    ends = []
    for job in shop.jobs:
        previous = None
        for machine, duration in job:
            start = model.new_int_var(0, horizon, "")
            end = model.new_int_var(0, horizon, "")
            per_machine[machine].append(model.new_interval_var(start, duration, end, ""))
            if previous is not None:
                model.add(start >= previous)
            previous = end
        ends.append(previous)
    for intervals in per_machine:
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    work = time_limit_s * workers * CP_SAT_WORK_PER_SECOND
    deadline = time.perf_counter() + time_limit_s * SAFETY_FACTOR
    solver = deterministic_solver(work, workers=workers, deadline=deadline, batch_size=BATCH_SIZE)
    status = solver.solve(model)
    return int(solver.value(makespan)) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else -1


def best_known(data: Path) -> dict[str, tuple[int, bool]]:
    """Per instance: the best known makespan and whether it is a proven optimum."""
    out = {}
    for item in json.loads((data / "instances.json").read_text()):
        if item.get("optimum"):
            out[item["name"]] = (int(item["optimum"]), True)
        elif (item.get("bounds") or {}).get("upper"):
            out[item["name"]] = (int(item["bounds"]["upper"]), False)
    return out


def gap(value: int, best: int) -> str:
    return f"{100.0 * (value - best) / best:.1f} %" if value > 0 else common.DASH


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="jobshop", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--instances",
        default="all",
        help="comma separated names, 'all' (the full list) or 'representative'",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        help="seconds per solve, as work: what a quiet 2-core machine does in that time",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data", type=Path, default=DATA, help="JSPLIB folder (instances.json)")
    p.add_argument("--quick", action="store_true", help="ft06, ft10, la01 at 2 s, no docs update")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = p.parse_args(argv)
    named = {"all": FULL, "representative": REPRESENTATIVE}
    args.names = named.get(args.instances) or [n.strip() for n in args.instances.split(",")]
    if args.quick:
        args.names, args.time_limit, args.no_doc = ["ft06", "ft10", "la01"], 2.0, True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not (args.data / "instances.json").is_file():
        print(f"no JSPLIB data in {args.data}; give --data")
        return 1
    known = best_known(args.data)
    rows = []
    load_before = os.getloadavg()[0]
    for name in args.names:
        shop = read_jsplib(args.data / "instances" / name)
        best, proven = known[name]
        started = time.perf_counter()
        ours = solve_jobshop(shop, time_limit_s=args.time_limit, workers=args.workers)
        ours_s = time.perf_counter() - started
        started = time.perf_counter()
        bare = bare_cp_sat(shop, time_limit_s=args.time_limit, workers=args.workers)
        bare_s = time.perf_counter() - started
        rule = dispatch_jobshop(shop)
        row = [
            name,
            f"{len(shop.jobs)}{common.TIMES}{shop.machines}",
            shop.operations,
            f"{best}" if proven else f"{best}*",
            f"{ours.makespan}{' (opt)' if ours.status == 'optimal' else ''}",
            gap(ours.makespan, best),
            bare if bare > 0 else "none",
            gap(bare, best),
            rule.makespan,
            gap(rule.makespan, best),
            f"{ours_s:.1f}",
            f"{bare_s:.1f}",
        ]
        print("  ".join(str(c) for c in row), flush=True)
        rows.append(row)
    machine = common.machine_line({"ortools": _ortools_version()})
    load = (load_before, os.getloadavg()[0])
    md = report(
        rows, machine=machine, time_limit_s=args.time_limit, workers=args.workers, load=load
    )
    print("\n".join(md.split("\n")[-5:]))
    common.publish("scheduling-jobshop", md, skip=args.no_doc)
    return 0


def report(
    rows: list[list[Any]],
    *,
    machine: str,
    time_limit_s: float,
    workers: int,
    load: tuple[float, float] | None = None,
) -> str:
    """The markdown section for the measured rows (as ``main`` prints them); ``load``:
    the one-minute load average when the run started and ended, which the wall times
    (not the makespans) depend on."""
    value = {r[0]: (int(str(r[3]).rstrip("*")), int(str(r[4]).split()[0])) for r in rows}
    bare = {r[0]: int(r[6]) if str(r[6]).isdigit() else None for r in rows}
    small = [r[0] for r in rows if int(r[2]) <= GOAL_OPS]
    misses = [n for n in small if value[n][1] > value[n][0] * (1 + GOAL_GAP)]
    worse = [n for n, (_, ours) in value.items() if (b := bare[n]) is not None and ours > b]
    better = [n for n, (_, ours) in value.items() if (b := bare[n]) is not None and ours < b]
    walls = {"(a)": [float(r[10]) for r in rows], "(b)": [float(r[11]) for r in rows]}

    def mean_gap(column: int) -> str:
        gaps = [float(str(r[column]).split()[0]) for r in rows if str(r[column])[0].isdigit()]
        return f"{sum(gaps) / len(gaps):.1f} %" if gaps else common.DASH

    return "\n".join(
        [
            "## Scheduling: job-shop makespan against best known values",
            "",
            machine,
            "",
            f"Each JSPLIB instance solved with the work of {time_limit_s:g} s and {workers} "
            "solver threads by (a) PlantOS `solve_jobshop`: a dispatching rule's schedule "
            f"improved by a tabu search (N5 neighbourhood) for up to {TABU_SHARE:.0%} of the "
            "work, then two CP-SAT searches side by side from it for the rest (both without "
            "the linear relaxation and with strong disjunctive propagation, the second "
            "branching towards the best schedule found) on the textbook model whose horizon "
            "and start windows that schedule bounds; (b) bare CP-SAT with the "
            "textbook model and its own parameters, for the deterministic time the threads "
            "of (a) get over the whole limit; (c) the dispatching rule alone "
            "(Giffler-Thompson, most work remaining). Best known: the proven optimum, or the "
            "best upper bound (marked *) in JSPLIB's `instances.json`. (opt): proven optimal "
            "within the work (by CP-SAT, or by reaching the lower bound of the busiest "
            "machine or longest job). (a) and (b) are bounded by work, not by the clock: a "
            "number of tabu moves and CP-SAT's deterministic time, with a fixed seed (and "
            "synchronised batches where threads share a search), so every makespan here is "
            "the same on each run, on a busy machine too; `--time-limit` names the work a "
            "quiet 2-core machine does in that time, and the wall clock stops a solve only "
            f"at {SAFETY_FACTOR:g} times the limit. Columns (a) s and (b) s give the wall "
            "time of each solve on the machine measured; (b)'s threads share one search in "
            "synchronised batches and wait for each other at every batch, so the same work "
            "takes it longer"
            + (
                f" (load average {load[0]:.1f} at the start of this run, {load[1]:.1f} at its end)."
                if load
                else "."
            ),
            "",
            f"Instances run ({len(rows)}): {', '.join(r[0] for r in rows)}.",
            "",
            common.markdown_table(HEADER, rows, align="lllrrrrrrrrr"),
            "",
            f"- Mean gap to best known: (a) PlantOS {mean_gap(5)}, (b) bare CP-SAT "
            f"{mean_gap(7)}, (c) dispatching rule {mean_gap(9)}.",
            "- Wall time per solve: "
            + ", ".join(
                f"{who} longest {max(w):.1f} s, mean {sum(w) / len(w):.1f} s"
                for who, w in walls.items()
                if w
            )
            + f" (limit {time_limit_s:g} s).",
            f"- Goal: within {GOAL_GAP:.0%} of best known on every instance of at most "
            f"{GOAL_OPS} operations: **{'met' if not misses else 'not met'}** on the "
            f"{len(small)} such instance(s) run"
            + (f"; missed on {', '.join(misses)}." if misses else "."),
            "- Goal: never worse than bare CP-SAT: "
            + (
                f"**met** on all {len(rows)} instances."
                if not worse
                else f"**not met**: worse on {', '.join(worse)}; better on {len(better)}, "
                f"equal on {len(rows) - len(better) - len(worse)} of {len(rows)} instances."
            ),
        ]
    )


def _ortools_version() -> str:
    import ortools

    return str(ortools.__version__)


if __name__ == "__main__":
    raise SystemExit(main())
