"""The live demo's devices on 127.0.0.1, read by PlantOS's own connectors: CNC values and
spindle waveforms over OPC UA, furnace temperatures over Modbus TCP, assembly stations
over Sparkplug B through the embedded MQTT broker. What reaches the historian is
compared with what a second simulator with the same seed produces."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plantos.app import Platform, Settings
from plantos.core import quality
from plantos.core.clock import NS_PER_S, ScaledClock, WallClock
from plantos.demo.devices import DemoDevices, DeviceOptions
from plantos.demo.devices.specs import SCAN_S
from plantos.demo.simulator import Simulator

pytestmark = pytest.mark.timeout(90)

SPEED = 60.0
"""Five simulated minutes (one waveform snapshot per mill) in five wall seconds."""
HISTORY_NS = 60 * NS_PER_S
SEED = 7

PLANT = """\
plantos: 1
enterprise: {id: acme, name: ACME}
calendars:
  always:
    timezone: UTC
    shifts:
      - {name: day, start: "00:00", end: "00:00", days: [mon, tue, wed, thu, fri, sat, sun]}
asset_types:
  cnc-mill:
    simulator: {model: cnc-mill, nominal_rpm: 12000, cycle_time: 95s, programs: [1001]}
    tags:
      - {signal: spindle_speed, unit: rpm, range: [0, 15000], sampling: 1s}
      - {signal: spindle_temperature, unit: degC, range: [10, 95], sampling: 1s}
      - {signal: spindle_vibration_waveform, unit: m/s^2, range: [-200, 200], sampling: 100us,
         waveform: {rate_hz: 10000, samples: 4096, every: 5m}}
      - {signal: part_counter, type: int, unit: count, sampling: 1s}
      - {signal: state, type: enum, sampling: 1s,
         states: {0: "off", 1: idle, 2: running, 3: down, 4: changeover}}
  heat-treat-furnace:
    simulator: {model: furnace, setpoint: 860}
    tags:
      - {signal: zone_1_temperature, unit: degC, range: [0, 1100], sampling: 1s}
      - {signal: gas_flow, unit: m^3/h, range: [0, 60], sampling: 1s}
  assembly-station:
    simulator: {model: assembly-station, cycle_time: 20s, scrap_rate: 0.05}
    tags:
      - {signal: good_count, type: int, unit: count, sampling: 1s}
      - {signal: cycle_time, unit: s, range: [0, 600], sampling: 1s}
      - {signal: state, type: enum, sampling: 1s,
         states: {0: "off", 1: idle, 2: running, 3: down, 4: starved, 5: blocked}}
sites:
  - id: plant-a
    calendar: always
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - {id: cnc-01, type: cnc-mill}
              - {id: cnc-02, type: cnc-mill}
      - id: heat-treat
        lines:
          - id: furnace-line
            assets:
              - {id: furnace-1, type: heat-treat-furnace}
      - id: assembly
        lines:
          - id: line-3
            assets:
              - {id: st-10, type: assembly-station}
              - {id: st-20, type: assembly-station}
"""
CNC = "plant-a/machining/line-1/cnc-01"
FURNACE = "plant-a/heat-treat/furnace-line/furnace-1"
STATION = "plant-a/assembly/line-3/st-10"


@dataclass
class Demo:
    platform: Platform
    devices: DemoDevices
    start_ns: int

    def reference(self, end_ns: int) -> dict[int, dict[int, float]]:
        """Per tag id, ``{ts: value}`` of a second simulator with the same seed and start."""
        sim = Simulator(
            self.platform.plant, self.platform.tag_ids, seed=SEED, start_ns=self.start_ns
        )
        batch, _ = sim.step(end_ns)
        out: dict[int, dict[int, float]] = {}
        for tag_id, ts, value in zip(
            batch.tag_id.tolist(), batch.ts.tolist(), batch.value.tolist(), strict=True
        ):
            out.setdefault(tag_id, {})[ts] = value
        return out

    def live_samples(self, path: str) -> list[tuple[int, float, int]]:
        """What the historian holds for ``path`` since the devices took over."""
        assert self.devices.live_from_ns is not None
        raw = self.platform.historian.query_raw(
            self.platform.tag_ids[path], self.devices.live_from_ns, 2**62, limit=1_000_000
        )
        return list(zip(raw.ts.tolist(), raw.value.tolist(), raw.quality.tolist(), strict=True))

    def connector(self, name: str) -> dict[str, Any]:
        return next(c.metrics() for c in self.platform.connectors if c.connector.name == name)


@asynccontextmanager
async def running_demo(tmp_path: Path) -> AsyncIterator[Demo]:
    config = tmp_path / "plantos.yaml"
    config.write_text(PLANT)
    now = WallClock().now_ns()
    clock = ScaledClock(now, speed=SPEED)
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data"), clock=clock)
    start_ns = now - HISTORY_NS
    simulator = Simulator(platform.plant, platform.tag_ids, seed=SEED, start_ns=start_ns)
    devices = DemoDevices(platform, simulator, clock, DeviceOptions(opcua_port=0, modbus_port=0))
    devices.install()
    await platform.start()
    try:
        await asyncio.wait_for(devices.ready.wait(), 20)
        yield Demo(platform, devices, start_ns)
    finally:
        await asyncio.wait_for(platform.stop(), 20)


async def until(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def test_every_protocol_delivers_what_the_simulator_made(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_demo(tmp_path) as demo:
            ids = demo.platform.tag_ids
            wave = f"{CNC}/spindle_vibration_waveform"
            await until(lambda: len(demo.live_samples(wave)) >= 4096, "a waveform snapshot")
            count = f"{STATION}/good_count"
            await until(lambda: len(demo.live_samples(count)) >= 2, "parts counted over Sparkplug")
            end_ns = demo.devices.simulator.now_ns
            ref = demo.reference(end_ns)
            for name in ("demo-cnc-opcua", "demo-furnace-modbus", "demo-sparkplug"):
                assert demo.connector(name)["connected"] is True, demo.connector(name)

            # OPC UA and Sparkplug carry the sample's own time: values match exactly.
            for path in (
                f"{CNC}/spindle_speed",
                f"{CNC}/part_counter",
                f"{CNC}/state",
                f"{STATION}/good_count",
                f"{STATION}/cycle_time",
                f"{STATION}/state",
            ):
                got = demo.live_samples(path)
                assert got or path.endswith("/state"), path  # a state may not change
                expected = ref[ids[path]]
                assert all(q == quality.GOOD for _, _, q in got), path
                assert all(expected[ts] == v for ts, v, _ in got), path

            # Every sample of every waveform snapshot simulated so far, at 100 us spacing.
            for cnc in ("cnc-01", "cnc-02"):
                path = f"plant-a/machining/line-1/{cnc}/spindle_vibration_waveform"
                wanted = {
                    (ts, v) for ts, v in ref[ids[path]].items() if ts >= demo.devices.live_from_ns
                }
                await until(
                    lambda p=path, w=wanted: w <= {(ts, v) for ts, v, _ in demo.live_samples(p)},
                    f"every waveform sample of {cnc}",
                )

            # Modbus has no timestamps: PlantOS stamps the poll; the value is one the
            # simulator made shortly before (a device scan that writes a waveform snapshot
            # takes about a wall second, more on a loaded machine), never an invented one.
            window_ns = int((SCAN_S + 10.0) * SPEED * NS_PER_S)
            for path in (f"{FURNACE}/zone_1_temperature", f"{FURNACE}/gas_flow"):
                # polls after ``end_ns`` may carry values the reference has not made
                got = [g for g in demo.live_samples(path) if g[0] <= end_ns]
                assert len(got) >= 3, path
                series = ref[ids[path]]
                for ts, v, q in got:
                    assert q == quality.GOOD
                    recent = [
                        float(np.float32(x)) for t, x in series.items() if ts - window_ns <= t <= ts
                    ]
                    made = [t for t, x in series.items() if float(np.float32(x)) == v]
                    assert v in recent, (path, ts, v, made)

    asyncio.run(body())


def test_furnace_tags_go_bad_while_the_plc_is_off_and_recover(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_demo(tmp_path) as demo:
            tag_id = demo.platform.tag_ids[f"{FURNACE}/zone_1_temperature"]

            def furnace_quality(good: bool) -> Callable[[], bool]:
                def check() -> bool:
                    live = demo.platform.live.get(tag_id)
                    return live is not None and quality.is_bad(live.quality) != good

                return check

            plc = "demo-furnace-modbus"
            await until(lambda: demo.connector(plc)["samples"] > 0, "a furnace poll")
            await demo.devices.modbus.stop()
            await until(furnace_quality(good=False), "the furnace tags to go bad")
            assert demo.connector(plc)["connected"] is False
            await demo.devices.modbus.start()
            await until(furnace_quality(good=True), "the furnace tags to recover", timeout_s=20)
            assert demo.connector(plc)["connected"] is True
            assert demo.connector("demo-cnc-opcua")["connected"] is True

    asyncio.run(body())
