"""The live demo put together: a platform on a scaled clock, the plant's devices, and the
start that makes the bearing-wear story visible within minutes.

The story needs two things from history. The spindle detector judges a spindle only
once it has learned each operating state from 24 snapshots (two hours of one program at
one snapshot every five minutes), and the mills change program every few hours: so the
demo simulates :data:`DEFAULT_BACKFILL` of history before now, fast, and the analytics
stage learns from it as it would from a live plant. And the bearing of ``cnc-07`` starts
to wear :data:`ONSET_BEFORE_NOW` before the live part begins: the detector catches it
(its spectrum grows at the outer-race defect frequencies) a few simulated tens of
minutes later, so at :data:`DEFAULT_SPEED` the alarm is raised a few wall minutes after
the start, with the trend and the time to zone D growing from there.

Each start simulates a fresh history in its own historian file (:data:`DEMO_HISTORY`) in
the data directory, so a restart tells the story again; ``keep_history`` continues the
previous run instead (its baselines are then learned again, from live data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from plantos.app import Platform, Settings
from plantos.core.clock import NS_PER_S, ScaledClock
from plantos.core.timeparse import format_duration, parse_duration_ns
from plantos.core.timeunits import WEEK_NS
from plantos.demo.devices import DemoDevices, DeviceOptions
from plantos.demo.erp import DemoErp
from plantos.demo.feed import live_simulation_start
from plantos.demo.orders import release_live, stream_for
from plantos.demo.simulator import Simulator, parse_scenario
from plantos.mom.domain.commands import NewOrder

DEFAULT_SPEED = 10.0
"""Simulated seconds per wall second: ten wall minutes show 100 simulated minutes, and on a
2-core machine the devices keep up with room to spare (the pacer lowers it if not).
It is also the highest speed advertised: the hour-long soak (``bench/demo_soak.py``)
vouches for the alarm list at it. Faster runs show the plant, and the banner says that
their judgements are not vouched for."""
DEFAULT_BACKFILL = "12h"
ONSET_BEFORE_NOW = "45m"
STORY_ASSET = "plant-a/machining/line-1/cnc-07"
DEMO_HISTORY = "demo-history.duckdb"
"""The live demo's own historian file in the data directory: simulated, so replaced at start."""


@dataclass(frozen=True)
class LiveOptions:
    """What ``plantos demo`` (live) takes; ``scenarios`` None means the bearing-wear story."""

    config: Path
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 1
    scenarios: list[str] | None = None
    speed: float = DEFAULT_SPEED
    backfill: str = DEFAULT_BACKFILL
    keep_history: bool = False
    devices: DeviceOptions = field(default_factory=DeviceOptions)


@dataclass
class LiveDemo:
    platform: Platform
    devices: DemoDevices
    clock: ScaledClock
    scenarios: list[str]
    backfill_ns: int
    """Simulated history imported before the devices go live."""
    orders: list[NewOrder] = field(default_factory=list)
    """The demo plant's production orders for a week, released as plant time reaches them."""
    erp: DemoErp | None = None
    """The example ERP receiving the plant's messages (from :meth:`install` on)."""

    def install(self) -> None:
        """Add the devices' connectors, the order releases and the example ERP to the
        platform, before it starts."""
        self.devices.install()
        self.platform.add_source(release_live(self.platform, self.orders))
        self.erp = DemoErp()
        self.erp.install(self.platform)

    def banner(self) -> str:
        """What the start prints: speed, history, the story to watch, the endpoints."""
        d, plant = self.devices, self.platform.plant
        return (
            f"ACME demo plant: {len(plant.assets)} assets, {len(plant.tags)} tags\n"
            f"  speed {self.clock.speed:g}x: 10 wall minutes show "
            f"{self.clock.speed * 10:g} simulated minutes\n"
            f"    (lowered, and logged, while the devices cannot keep up)\n"
            + (
                f"    faster than {DEFAULT_SPEED:g}x: the plant runs, but its alarm list is "
                f"not vouched for (tested up to {DEFAULT_SPEED:g}x)\n"
                if self.clock.speed > DEFAULT_SPEED
                else ""
            )
            + f"  history: {format_duration(self.backfill_ns)} simulated before now; "
            f"baselines learn from it\n"
            f"  scenarios: {', '.join(self.scenarios) or 'none'}\n"
            f"  OPC UA (CNC cell): {d.opcua.endpoint}\n"
            f"  Modbus TCP (furnaces): 127.0.0.1:{d.modbus.port}, unit 1\n"
            f"  Sparkplug B (assembly, welding): {d.broker_url}"
            + (
                f"\n  ERP receiver (signed webhook, idempotent): {self.erp.url}\n"
                "    (deliveries on the Integrations page; GET the URL for what it booked)"
                if self.erp is not None
                else ""
            )
        )


def quiet_protocol_logs() -> None:
    """The protocol stacks of the demo's devices log their every step (pymodbus every
    frame at DEBUG, which costs real CPU at speed), and httpx every request the example
    ERP's connector makes; the demo's OPC UA server runs without security on 127.0.0.1
    on purpose, which asyncua warns of at every start."""
    for library in ("amqtt", "asyncua", "httpx", "pymodbus", "transitions"):
        logging.getLogger(library).setLevel(logging.WARNING)
    logging.getLogger("asyncua.server.server").setLevel(logging.ERROR)


def default_scenario(backfill_ns: int) -> str:
    """Bearing wear on ``cnc-07`` from :data:`ONSET_BEFORE_NOW` before the live start (or
    from the start of a history shorter than that).

    >>> default_scenario(12 * 3600 * NS_PER_S)
    'bearing-wear:plant-a/machining/line-1/cnc-07:675m'
    """
    onset_ns = max(backfill_ns - parse_duration_ns(ONSET_BEFORE_NOW), 0)
    return f"bearing-wear:{STORY_ASSET}:{onset_ns // (60 * NS_PER_S)}m"


def build_live_demo(options: LiveOptions, *, now_ns: int) -> LiveDemo:
    """Platform, simulator and devices, ready for :meth:`DemoDevices.install` and serving.
    Raises ``ValueError`` for a bad speed, backfill or scenario."""
    if options.speed <= 0:
        raise ValueError(f"--speed must be positive, got {options.speed}")
    backfill_ns = parse_duration_ns(options.backfill)
    if backfill_ns < 0:
        raise ValueError(f"--backfill must not be negative, got {options.backfill}")
    history = options.data_dir / DEMO_HISTORY
    if not options.keep_history:
        for stale in (history, history.with_name(history.name + ".wal")):
            stale.unlink(missing_ok=True)
    clock = ScaledClock(now_ns, speed=options.speed)
    settings = Settings(
        config=options.config,
        data_dir=options.data_dir,
        host=options.host,
        port=options.port,
        historian_url=f"duckdb:///{DEMO_HISTORY}",
    )
    platform = Platform(settings, clock=clock)
    texts = options.scenarios
    if texts is None:
        texts = [default_scenario(backfill_ns)] if STORY_ASSET in platform.plant.assets else []
    scenarios = [parse_scenario(text, platform.plant) for text in texts]
    sim_start = live_simulation_start(now_ns, backfill_ns, platform.historian.newest_ts)
    clock.restart_at(max(now_ns, sim_start))
    simulator = Simulator(
        platform.plant, platform.tag_ids, seed=options.seed, start_ns=sim_start, scenarios=scenarios
    )
    devices = DemoDevices(platform, simulator, clock, options.devices)
    orders = stream_for(platform, seed=options.seed, start_ns=sim_start, end_ns=sim_start + WEEK_NS)
    return LiveDemo(platform, devices, clock, texts, max(now_ns - sim_start, 0), orders)
