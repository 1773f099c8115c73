"""Reliability under faults: the chaos run, long version (about 10 minutes).

Two Modbus TCP machines (counting every read response they send) behind a PlantOS edge
gateway (``plantos edge``), a private Mosquitto and a PlantOS core serving its API in its
own process, whose ``/healthz`` and ``/api/v1/health`` are polled throughout. During the
run the analytics consumer fails once, the core is killed with SIGKILL twice, the
historian refuses every commit for ``--refuse`` seconds and the broker restarts.
Afterwards the historian must hold exactly the samples the machines produced, each once,
in order per tag, and the health endpoints must have shown each fault and its recovery.
The short version runs in the test suite (tests/integration/test_chaos.py).
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
from tests.support.chaos_health import FaultHealth, per_fault


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


def recoveries(events: list[tuple[float, str]], health: list[FaultHealth]) -> list[list[str]]:
    """Per fault: when it began, how long it lasted, how soon after its end the core was
    committing again (from the run's event log), and what the health endpoints showed."""
    rows = []
    seen = iter(health)
    for i, (at, what) in enumerate(events):
        if what not in FAULTS:
            continue
        shown = next(seen)
        label, end = FAULTS[what]
        later = events[i + 1 :]
        ended = next((t for t, w in later if w == end), None)
        back = next(
            (t for t, w in later if ended is not None and t >= ended and "committing" in w),
            None,
        )
        if ended is None:  # no end of its own: the core committing again after it
            ended = at
            back = next((t for t, w in later if "committing" in w), None)
        rows.append(
            [
                label,
                f"{at:.1f} s",
                common.DASH if ended == at else f"{ended - at:.1f} s",
                common.DASH if back is None else f"{back - ended:.1f} s",
                shown.summary(),
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
    health = per_fault(run.events, run.probes)
    for shown in health:
        print(f"{shown.fault}: {shown.summary()}")
    ok = (
        outcome.stored == outcome.produced
        and not any(outcome.duplicates.values())
        and not any(outcome.out_of_order.values())
        and all(shown.recovered() for shown in health)
    )
    produced = sum(outcome.produced.values())
    stored = sum(outcome.stored.values())
    table = common.markdown_table(
        ["fault", "at", "lasted", "committing again after", "health showed"],
        recoveries(run.events, health),
        "lrrrl",
    )
    versions = {
        "paho-mqtt": importlib.metadata.version("paho-mqtt"),
        "pymodbus": common._version("pymodbus"),
    }
    result = (
        "**exactly once**: every sample produced is in the historian once, in order; "
        "the health endpoints showed every stage running again after each fault"
        if ok
        else f"**FAILED**: {outcome}; " + "; ".join(s.summary() for s in health)
    )
    md = f"""## Reliability: the chaos run

{common.machine_line(versions)}

Two Modbus TCP machines (two registers each, polled every {int(POLL_S * 1000)} ms) behind a
PlantOS edge gateway (`plantos edge`, end-to-end acknowledgement on), a private Mosquitto,
and a PlantOS core in its own process (`plantos serve`'s server with its API, its
Sparkplug host fed by the gateway). {total_s / 60:.1f} minutes with {calm:.0f} s of calm
between faults. Samples are counted where they are produced: each machine counts the
read responses it sends. Twice a second the run asks the core's `/healthz` (readiness,
no credentials) and `/api/v1/health` (each stage's state, restarts, last error and lag,
with an admin API token).

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
- "Health showed", from the fault's start until the next fault: readiness as `/healthz`
  answered (200 ready, 503 not ready, "down" when the core did not answer at all), the
  analytics stage's restarts, whether the historian stage reported refused commits and
  the most samples its writer held meanwhile, and whether the last answer before the next
  fault had every stage running again.
- The exception in the analytics consumer is logged, counted and shown in
  `/api/v1/health` (its last error names it); the supervisor restarts the consumer with
  the next batch and ingestion goes on ("committing again after" counts from the fault).
  Readiness answers 503 while the stage restarts, when a probe falls in that moment. The
  batch it failed on is not judged; every sample of it is in the historian.
- A killed core answers nothing until it is back; it listens only once every stage
  runs, so readiness goes from down straight to 200. While the historian refuses, the
  writer retries (it would dead-letter after 60 s of refusals) and readiness stays 200:
  the refusal shows in the historian stage's detail and in the gateway's spool.
"""
    common.publish("reliability-chaos", md, skip=args.quick or args.no_doc)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
