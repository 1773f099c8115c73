"""Reliability under faults: the chaos run, long version (about 10 minutes).

Two Modbus TCP machines (counting every read response they send) behind a PlantOS edge
gateway (``plantos edge``), a private Mosquitto and a PlantOS core in its own process.
During the run the analytics consumer fails once, the core is killed with SIGKILL twice,
the historian refuses every commit for ``--refuse`` seconds and the broker restarts.
Afterwards the historian must hold exactly the samples the machines produced, each once,
in order per tag. The short version runs in the test suite (tests/integration/test_chaos.py).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

sys.path.insert(0, str(common.REPO))  # the chaos harness lives with the tests

from tests.support.chaos import POLL_S, chaos_run


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="chaos_run", description=__doc__.split("\n\n")[0])
    p.add_argument("--calm", type=float, default=85.0, help="seconds between faults")
    p.add_argument("--refuse", type=float, default=30.0, help="seconds of refused commits")
    p.add_argument("--quick", action="store_true", help="a short run; docs not updated")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    return p.parse_args(argv)


FAULTS = {  # the event that starts a fault: its label, the event that ends it
    "analytics consumer fault injected": ("exception in the analytics consumer", None),
    "core killed (SIGKILL)": ("core killed with SIGKILL", "core started"),
    "historian refuses commits": (
        "historian refuses every commit",
        "historian accepts commits again",
    ),
    "broker stopped": ("broker stopped", "broker restarted"),
}


def recoveries(events: list[tuple[float, str]]) -> list[list[str]]:
    """Per fault: when it began, how long it lasted, and how soon after its end the core
    was committing again (from the run's event log)."""
    rows = []
    for i, (at, what) in enumerate(events):
        if what not in FAULTS:
            continue
        label, end = FAULTS[what]
        later = events[i + 1 :]
        ended = next((t for t, w in later if w == end), None)
        back = next(
            (t for t, w in later if ended is not None and t >= ended and "committing" in w),
            None,
        )
        rows.append(
            [
                label,
                f"{at:.1f} s",
                common.DASH if ended is None else f"{ended - at:.1f} s",
                "at the next core restart"
                if ended is None or back is None
                else f"{back - ended:.1f} s",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    calm, refuse = (3.0, 8.0) if args.quick else (args.calm, args.refuse)
    folder = common.work_dir("chaos_run")
    shutil.rmtree(folder)  # a fresh historian, spool and broker: this run's samples only
    folder.mkdir()
    started = time.monotonic()
    run, outcome = asyncio.run(chaos_run(Path(folder), run_s=calm, refuse_s=refuse))
    total_s = time.monotonic() - started
    for at, what in run.events:
        print(f"{at:8.1f} s  {what}")
    print(outcome)
    ok = (
        outcome.stored == outcome.produced
        and not any(outcome.duplicates.values())
        and not any(outcome.out_of_order.values())
    )
    produced = sum(outcome.produced.values())
    stored = sum(outcome.stored.values())
    table = common.markdown_table(
        ["fault", "at", "lasted", "committing again after"], recoveries(run.events), "lrrr"
    )
    versions = {
        "paho-mqtt": importlib.metadata.version("paho-mqtt"),
        "pymodbus": common._version("pymodbus"),
    }
    result = (
        "**exactly once**: every sample produced is in the historian once, in order"
        if ok
        else f"**FAILED**: {outcome}"
    )
    md = f"""## Reliability: the chaos run

{common.machine_line(versions)}

Two Modbus TCP machines (two registers each, polled every {int(POLL_S * 1000)} ms) behind a
PlantOS edge gateway (`plantos edge`, end-to-end acknowledgement on), a private Mosquitto,
and a PlantOS core in its own process (the platform as `plantos serve` builds it, its
Sparkplug host fed by the gateway). {total_s / 60:.1f} minutes with {calm:.0f} s of calm
between faults. Samples are counted where they are produced: each machine counts the
read responses it sends.

{table}

| | samples |
| :--- | ---: |
| produced by the machines (4 tags) | {produced:,} |
| Good samples in the historian | {stored:,} |
| duplicates in the historian | {sum(outcome.duplicates.values()):,} |
| out of order (per tag) | {sum(outcome.out_of_order.values()):,} |
| most held by the gateway at once, waiting for the core | {run.max_spooled:,.0f} |

- Result: {result}.
- "Committing again after": from the end of the fault (the restart, the historian taking
  commits again) until the core had committed 40 more samples. While the core is down or
  its historian refuses, the gateway holds the data in its spool (back-pressure), then
  sends what was not committed again; the core drops what it had already committed.
- The analytics fault stops the analytics consumer of that core process (no supervisor
  restarts it in this build): its queue fills, the bus blocks, and ingestion stalls until
  the next core restart, while the gateway holds the data (most of the peak above).
"""
    common.publish("reliability-chaos", md, skip=args.quick or args.no_doc)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
