"""Soak: the live demo at its defaults (or a given speed) for a wall-clock duration.

The live demo is run as ``plantos demo`` runs it (devices behind OPC UA, Modbus TCP and
Sparkplug B, PlantOS's own connectors, the pacer), without the web server, and watched
every few seconds:

* **alarms**: no alarm and no anomaly on any machine but the one with the scenario;
  when the story machine's alarm came, and which features its evidence names;
* **late data**: a tag reported by exception is late when the platform still shows
  another value than the one the device has held for longer than a few wall seconds of
  transport (scaled to platform time); a polled tag when its newest sample is older than
  its reporting period plus that transport time;
* **snapshots**: vibration snapshots per spindle (scaled to one every 5 minutes), which
  must agree within a factor of 2 whatever the protocol;
* **speed**: what was asked and what the pacer settled on;
* **where time went**: the event loop's worst lag, the historian writer's longest commit,
  each connector's longest collect and longest wait to hand a batch on (back-pressure),
  and the bus queues' deepest fill, so a late tag can be traced to its cause.

A full hour at each speed is the acceptance run (``--duration 60m``); the default is
shorter so ``make bench`` stays bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, machine_line, markdown_table, write_section

from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S, WallClock
from plantos.core.timeparse import parse_duration_ns
from plantos.demo.devices import DeviceOptions
from plantos.demo.live import (
    DEFAULT_SPEED,
    STORY_ASSET,
    LiveDemo,
    LiveOptions,
    build_live_demo,
    quiet_protocol_logs,
)
from plantos.live import tag_reporting

CONFIG = REPO / "examples" / "demo-plant" / "plantos.yaml"
WATCH_EVERY_S = 5.0
TRANSPORT_WALL_S = 3.0
"""Wall seconds a sample may take from the device to the live state (scan, publish, collect)."""
FIVE_MIN_NS = 300 * 1_000_000_000
LAG_TICK_S = 0.1
STALL_S = 1.0
"""An event-loop lag above this counts as a stall."""
SPARKPLUG_COUNTERS = (
    "rebirths_requested",
    "seq_gaps",
    "discarded_awaiting_rebirth",
    "messages_dropped",
    "restated",
)
"""The Sparkplug host's counters that say a value may have been lost and restated."""


@dataclass
class LoopLag:
    """How late the event loop wakes a task that asked to sleep ``LAG_TICK_S``: every
    connector, the bus and the writer share that loop, so a stall holds them all."""

    worst_s: float = 0.0
    stalls: int = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_TICK_S)
            lag = loop.time() - asked - LAG_TICK_S
            self.worst_s = max(self.worst_s, lag)
            self.stalls += lag > STALL_S


def pressure(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures that say where a late sample waited, from the platform's metrics."""
    subscribers = metrics["bus"]["subscribers"]
    deepest = max(subscribers.items(), key=lambda kv: kv[1]["max_depth"] / kv[1]["capacity"])
    connectors = metrics["connectors"]
    modbus = [c for c in connectors if "retried_reads" in c]  # what only Modbus counts
    return {
        "max_commit_s": metrics["historian_writer"]["max_commit_seconds"],
        "bus_blocked_s": {
            name: s["publisher_blocked_s"]
            for name, s in subscribers.items()
            if s["publisher_blocked_s"] > 0
        },
        "deepest_queue": f"{deepest[0]} {deepest[1]['max_depth']}/{deepest[1]['capacity']}",
        "max_sink_wait_s": {c["connector"]: c["max_sink_wait_s"] for c in connectors},
        "max_collect_s": {c["connector"]: c["max_collect_s"] for c in connectors},
        "modbus_timeouts": sum(c["timeouts"] for c in modbus),
        "modbus_retried_reads": sum(c["retried_reads"] for c in modbus),
        "sparkplug": {
            key: sum(c.get(key, 0) for c in connectors)
            for key in SPARKPLUG_COUNTERS
            if any(key in c for c in connectors)
        },
    }


@dataclass
class Watch:
    """What the soak saw."""

    demo: LiveDemo
    changed_at: np.ndarray
    previous: np.ndarray
    seen: np.ndarray
    live_from_wall: float = 0.0
    live_from_ns: int = 0
    story_raised_wall_s: float | None = None
    """Wall seconds after the devices went live when the raise was first seen."""
    story_raised_sim_min: float | None = None
    """Simulated minutes after the live start the raise is stamped with (negative: in the
    history imported at start)."""
    story_evidence: list[str] = field(default_factory=list)
    false_alarms: set[str] = field(default_factory=set)
    false_alarm_details: dict[str, str] = field(default_factory=dict)
    """Per healthy asset, its first raise: when, the score and the evidence, so a soak that
    fails says what the detector saw."""
    late: dict[str, float] = field(default_factory=dict)
    """Worst lateness seen per tag, in platform seconds beyond its allowance."""
    late_first_seen: dict[str, str] = field(default_factory=dict)
    """Per late tag, what the device held and what the platform showed when first late."""
    samples: int = 0
    first_late_pressure: dict[str, Any] | None = None
    """The pressure figures at the look that first found a late tag."""

    def tap(self, batch: SampleBatch) -> None:
        """Per tag, when the simulator last changed its value (what an exception reports)."""
        if not len(batch):
            return
        order = np.lexsort((batch.ts, batch.tag_id))
        ids, ts, values = batch.tag_id[order], batch.ts[order], batch.value[order]
        prev = np.concatenate(([np.nan], values[:-1]))
        first = np.r_[True, ids[1:] != ids[:-1]]
        prev[first] = self.previous[ids[first]]
        changed = ~((values == prev) | (np.isnan(values) & np.isnan(prev)))
        # A tag's first live value continues the imported history the devices were primed
        # with: only what follows it can be a change.
        changed[first & ~self.seen[ids]] = False
        self.seen[ids] = True
        np.maximum.at(self.changed_at, ids[changed], ts[changed])
        last = np.r_[ids[1:] != ids[:-1], True]
        self.previous[ids[last]] = values[last]

    def look(self) -> None:
        platform, clock = self.demo.platform, self.demo.clock
        now = clock.now_ns()
        self.samples += 1
        for event in list(platform.judgements):
            if event.kind in ("AnomalyRaised", "AlarmRaised") and event.subject != STORY_ASSET:
                self.false_alarms.add(event.subject)
                self.false_alarm_details.setdefault(event.subject, self.describe(event))
            first = self.story_raised_wall_s is None
            if first and event.kind == "AnomalyRaised" and event.subject == STORY_ASSET:
                self.story_raised_wall_s = time.monotonic() - self.live_from_wall
                self.story_raised_sim_min = self.sim_min(event.ts_ns)
                self.story_evidence = [e.feature for e in getattr(event, "evidence", ())]
        reporting = tag_reporting(platform.tags_by_id, [s.connector for s in platform.connectors])
        transport_ns = TRANSPORT_WALL_S * clock.speed * NS_PER_S
        for tag_id, how in reporting.items():
            if platform.tags_by_id[tag_id].entry == "manual":
                continue  # operators enter these; no device is late with them
            have = int(platform.live.ts[tag_id])
            if how.mode == "exception":
                # late: the platform still shows another value than the device has held
                # since ``due`` (a change and its undoing within one scan is no change)
                due = int(self.changed_at[tag_id])
                current = self.previous[tag_id]
                shown = platform.live.value[tag_id]
                if due <= 0 or have >= due or shown == current or np.isnan(current):
                    continue
                over = now - due - transport_ns
                if over > 0:
                    path = platform.tags_by_id[tag_id].path
                    self.late_first_seen.setdefault(
                        path,
                        f"device {current:g} since {self.sim_min(due):+.1f} sim min, "
                        f"platform {shown:g} stamped {self.sim_min(have):+.1f}",
                    )
            else:
                late_ms = how.late_after_ms(rate=clock.speed)
                assert late_ms is not None
                over = now - have - late_ms * 1e6 - transport_ns
            if over > 0:
                path = platform.tags_by_id[tag_id].path
                self.late[path] = max(self.late.get(path, 0.0), over / NS_PER_S)
                if self.first_late_pressure is None:
                    self.first_late_pressure = pressure(platform.metrics())

    def sim_min(self, ts_ns: int) -> float:
        """Simulated minutes after the live start."""
        return (ts_ns - self.live_from_ns) / 60e9

    def describe(self, event: Any) -> str:
        """One line for a raise on a healthy machine: simulated minutes after the live
        start, kind, score and the evidence (feature: value against healthy)."""
        at = self.sim_min(event.ts_ns)
        evidence = ", ".join(
            f"{e.feature} {e.value:.3g} vs {'?' if e.expected is None else f'{e.expected:.3g}'}"
            for e in getattr(event, "evidence", ())
        )
        score = getattr(event, "score", None)
        scored = f" score {score:.1f}" if score is not None else ""
        return f"{event.kind} at {at:+.0f} sim min{scored}: {evidence or '-'}"

    def snapshots(self) -> dict[str, int]:
        """Snapshots per spindle, scaled to one every 5 minutes (plant B's mills send one
        every 2), so spindles of either cadence compare."""
        platform = self.demo.platform
        out = {}
        for w in platform.analytics.spindles:
            waveform = platform.tags_by_id[w.features.tags.waveform].waveform
            every_ns = waveform.every_ns if waveform is not None else FIVE_MIN_NS
            out[w.asset] = round(w.rows_seen * every_ns / FIVE_MIN_NS)
        return out


async def soak(*, speed: float, duration_s: float, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="plantos-soak-") as tmp:
        options = LiveOptions(
            config=CONFIG,
            data_dir=Path(tmp),
            seed=seed,
            speed=speed,
            devices=DeviceOptions(opcua_port=0, modbus_port=0),
        )
        demo = build_live_demo(options, now_ns=WallClock().now_ns())
        capacity = demo.platform.live.capacity
        watch = Watch(
            demo,
            np.zeros(capacity, np.int64),
            np.full(capacity, np.nan),
            np.zeros(capacity, bool),
        )
        demo.devices.driver.tap = watch.tap
        demo.devices.install()
        started = time.monotonic()
        await demo.platform.start()
        lag = LoopLag()
        lag_task = asyncio.create_task(lag.run())
        try:
            await asyncio.wait_for(demo.devices.ready.wait(), 600)
            ready_s = time.monotonic() - started
            watch.live_from_wall = time.monotonic()
            live_from_ns = watch.live_from_ns = demo.clock.now_ns()
            while time.monotonic() - watch.live_from_wall < duration_s:
                await asyncio.sleep(WATCH_EVERY_S)
                watch.look()
            simulated_s = (demo.clock.now_ns() - live_from_ns) / NS_PER_S
            at_end = pressure(demo.platform.metrics())
        finally:
            lag_task.cancel()
            await demo.platform.stop()
    counts = watch.snapshots()
    running = [n for n in counts.values() if n > 0]
    return {
        "speed_asked": speed,
        "speed_end": demo.clock.speed,
        "speed_changes": demo.devices.pacer.changes,
        "ready_s": ready_s,
        "wall_min": duration_s / 60,
        "simulated_h": simulated_s / 3600,
        "story_raised_wall_s": watch.story_raised_wall_s,
        "story_raised_sim_min": watch.story_raised_sim_min,
        "story_evidence": watch.story_evidence,
        "false_alarms": sorted(watch.false_alarms),
        "false_alarm_details": watch.false_alarm_details,
        "late_count": len(watch.late),
        "late_tags": dict(sorted(watch.late.items(), key=lambda kv: -kv[1])[:5]),
        "late_first_seen": watch.late_first_seen,
        "snapshots_min": min(running, default=0),
        "snapshots_max": max(running, default=0),
        "looks": watch.samples,
        "loop_lag_worst_s": round(lag.worst_s, 3),
        "loop_stalls": lag.stalls,
        "pressure": at_end,
        "pressure_first_late": watch.first_late_pressure,
    }


def _row(r: dict[str, Any]) -> list[Any]:
    raised = r["story_raised_wall_s"]
    ratio = r["snapshots_max"] / r["snapshots_min"] if r["snapshots_min"] else float("inf")
    return [
        f"{r['speed_asked']:g}{chr(215)} / {r['speed_end']:.1f}{chr(215)}",
        f"{r['wall_min']:.0f} min / {r['simulated_h']:.1f} h",
        f"{r['ready_s']:.0f} s",
        "not raised"
        if raised is None
        else f"{raised / 60:.1f} min ({r['story_raised_sim_min']:+.0f} sim min)",
        ", ".join(r["story_evidence"][:3]) or "-",
        ", ".join(a.rsplit("/", 1)[-1] for a in r["false_alarms"]) or "none",
        r["late_count"],
        f"{r['snapshots_min']}-{r['snapshots_max']} ({ratio:.2f})",
    ]


def _where_time_went(p: dict[str, Any]) -> str:
    wait = max(p["max_sink_wait_s"].items(), key=lambda kv: kv[1], default=("-", 0.0))
    collect = max(p["max_collect_s"].items(), key=lambda kv: kv[1], default=("-", 0.0))
    held = ", ".join(f"{k} {v:.2f} s" for k, v in p["bus_blocked_s"].items()) or "never"
    return (
        f"longest historian commit {p['max_commit_s']:.2f} s; publishers held by full "
        f"queues: {held}; deepest queue {p['deepest_queue']}; "
        f"longest wait to hand a batch on {wait[1]:.2f} s ({wait[0]}); longest collect "
        f"{collect[1]:.2f} s ({collect[0]}); Modbus timeouts {p['modbus_timeouts']}, "
        f"reads answered after a resend {p['modbus_retried_reads']}; Sparkplug host "
        + (", ".join(f"{k} {v}" for k, v in p["sparkplug"].items()) or "-")
    )


def _details(r: dict[str, Any]) -> str:
    """What a row's false alarms and late tags were and where time went, so the table's
    counts can be traced."""
    lines = [f"- {asset}: {text}" for asset, text in r["false_alarm_details"].items()]
    seen = r["late_first_seen"]
    lines += [
        f"- late: {path} by {over:.0f} s" + (f" (first seen: {seen[path]})" if path in seen else "")
        for path, over in r["late_tags"].items()
    ]
    if r["late_count"] > len(r["late_tags"]):
        lines.append(f"- and {r['late_count'] - len(r['late_tags'])} more late tag(s)")
    lines.append(
        f"- event loop: worst lag {r['loop_lag_worst_s']:.2f} s, "
        f"{r['loop_stalls']} stall(s) over {STALL_S:g} s"
    )
    lines.append(f"- over the run: {_where_time_went(r['pressure'])}")
    if r["pressure_first_late"] is not None:
        lines.append(f"- when a tag was first late: {_where_time_went(r['pressure_first_late'])}")
    return f"\n\nAt {r['speed_asked']:g}{chr(215)}:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10m", help="wall time per speed (60m: acceptance)")
    parser.add_argument(
        "--speed", type=float, action="append", help=f"repeatable; default {DEFAULT_SPEED:g}"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print, do not update the doc")
    args = parser.parse_args(argv)
    duration_s = parse_duration_ns(args.duration) / NS_PER_S
    quiet_protocol_logs()
    results = []
    for speed in args.speed or [DEFAULT_SPEED]:
        result = asyncio.run(soak(speed=speed, duration_s=duration_s, seed=args.seed))
        print(result, flush=True)
        results.append(result)
    header = [
        "speed asked / end",
        "wall / simulated",
        "start",
        "cnc-07 alarm after",
        "its evidence",
        "alarms elsewhere",
        "late tags",
        "snapshots per spindle (max/min)",
    ]
    text = (
        "## Live demo soak\n\n"
        f"{machine_line()}\n\n"
        "`python bench/demo_soak.py --duration D --speed S`: the live demo over its real "
        "protocols for D of wall time. *start*: wall time until the history is learned "
        "and the devices are live; *late tags*: tags that were ever late (a value reported "
        "by exception not yet shown 3 wall seconds after the device changed it, a polled "
        "one older than its period plus those 3 s). The machine is shared: the pacer's "
        "end speed shows how much of it the demo got.\n\n"
        + markdown_table(header, [_row(r) for r in results], align="llrllllr")
        + "".join(_details(r) for r in results)
    )
    print(text)
    if not args.no_write:
        write_section("demo-soak", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
