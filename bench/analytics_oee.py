"""Machine state and OEE over the demo plant: simulated seconds per wall second on one core.

The simulator first produces ``--hours`` of the demo plant's samples (untimed,
5-minute batches as the headless demo feeds them). Then, timed, the whole OEE
analytics stage runs over them as live does: every batch goes through
``LiveOee.feed`` (routing, state rules, counters, state-change events) and
``LiveOee.current`` (the current shift's OEE of all 19 assets and every line,
area, site and the enterprise); at the end, the OEE of every shift and day in
the range. Goal: at least 1,000x real time.

Same-run peer, the ceiling: a plain numpy pass over the same arrays doing the
least any state tracker must do (pick the tags it reads, group them per tag,
find where values change). The ratio says how much PlantOS's stage costs over
that bare minimum.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    TIMES,
    machine_line,
    markdown_table,
    print_table,
    publish,
    timeit_interleaved,
)
from plant_feed import CHUNK_NS, demo_plant, real_time_rows, simulate, start_ns

from plantos.analytics.oee import LiveOee, default_oee_config, shift_periods
from plantos.analytics.oee.periods import day_periods
from plantos.core.batch import SampleBatch
from plantos.model import Plant

GOAL = 1_000


def oee_stage(plant: Plant, ids: dict[str, int], batches: list[SampleBatch]) -> int:
    """The stage as live runs it; returns the number of state changes found."""
    live = LiveOee(plant, default_oee_config(plant), ids)
    changes = 0
    start = start_ns()
    now = start
    for batch in batches:
        changes += len(live.feed(batch))
        now += CHUNK_NS
        live.current(now)
    calendar = plant.calendars["continuous"]
    for period in shift_periods(calendar, start, now) + day_periods(calendar, start, now):
        live.report(period.start_ns, period.end_ns)
    return changes


def numpy_ceiling(read_ids: np.ndarray, batches: list[SampleBatch]) -> int:
    """Select the tags read, group per tag, count value changes: the least work possible."""
    changes = 0
    for batch in batches:
        pick = np.isin(batch.tag_id, read_ids)
        ids, values = batch.tag_id[pick], batch.value[pick]
        order = np.argsort(ids, kind="stable")
        ids, values = ids[order], values[order]
        changes += int(((values[1:] != values[:-1]) & (ids[1:] == ids[:-1])).sum())
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0, help="simulated hours")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each")
    parser.add_argument("--quick", action="store_true", help="1 h, 2 runs, no docs update")
    args = parser.parse_args(argv)
    hours, repeat = (1.0, 2) if args.quick else (args.hours, args.repeat)

    plant, ids = demo_plant()
    batches = simulate(plant, ids, hours)
    samples = sum(len(b) for b in batches)
    live = LiveOee(plant, default_oee_config(plant), ids)
    read = np.array(
        [ids[f"{p}/{s}"] for p, t in live.tracker.trackers.items() for s in t.inputs],
        dtype=np.int32,
    )
    timings = timeit_interleaved(
        {
            "PlantOS state + OEE": lambda: oee_stage(plant, ids, batches),
            "numpy ceiling": lambda: numpy_ceiling(read, batches),
        },
        repeat=repeat,
        warmup=1,
    )
    simulated_s = hours * 3600
    rows = real_time_rows(timings, simulated_s, samples, GOAL)
    ratio = timings["PlantOS state + OEE"].median / timings["numpy ceiling"].median
    header = ["", "wall (median)", "samples/s", "real time", f">= {GOAL:,}{TIMES}"]
    print_table(header, rows)
    print(f"PlantOS takes {ratio:.1f}{TIMES} the time of the numpy ceiling")
    text = "\n\n".join(
        [
            f"## Analytics: machine state and OEE ({hours:g} simulated hours)",
            machine_line(),
            f"The demo plant's {samples:,} samples ({len(plant.assets)} assets, "
            f"{len(live.tracker.trackers)} with OEE), simulated first and then run, timed, "
            "through the OEE stage as live runs it: per 5-minute batch `LiveOee.feed` (state "
            "rules, counters, state changes) and `LiveOee.current` (current-shift OEE of every "
            "asset and node), then every shift's and day's OEE. One core, median of "
            f"{repeat} runs. Peer in the same run: a bare numpy pass over the same batches "
            "(select the tags read, group per tag, find value changes), the ceiling. "
            f"Goal: at least {GOAL:,}{TIMES} real time.",
            markdown_table(header, rows),
            f"The OEE stage takes {ratio:.1f}{TIMES} the time of the numpy ceiling.",
        ]
    )
    publish("analytics-oee", text, skip=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
