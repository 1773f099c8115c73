"""The live demo's plant floor: device servers fed by the simulator, read by real connectors.

:class:`DemoDevices` builds, for one platform, the OPC UA server of the CNC cell, the
Modbus TCP server of the furnaces and the Sparkplug B edge nodes of the assembly and
weld lines (with an embedded MQTT broker unless one is given), and adds to the platform
the connectors that read them. Its :meth:`~DemoDevices.run` is a platform source:

1. start the servers and edge nodes (their ports are fixed before, so the connector
   specs can name them);
2. import the ``--backfill`` history directly, as a history import would, since no
   device keeps hours of history to replay;
3. give the devices the values they would hold at the end of that history, open the
   gate for the connectors, and drive the simulator along the clock from then on.

When the platform stops, the devices wait (briefly) for the connectors to hang up first.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

import numpy as np

from plantos.app import Platform
from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S, ScaledClock
from plantos.demo.devices.broker import EmbeddedBroker
from plantos.demo.devices.driver import DeviceDriver, Route, latest_per_tag
from plantos.demo.devices.gate import WhenReady
from plantos.demo.devices.layout import DeviceLayout
from plantos.demo.devices.modbus_device import ModbusDevice
from plantos.demo.devices.opcua_device import OpcUaDevice
from plantos.demo.devices.pace import Pacer
from plantos.demo.devices.sparkplug_lines import SparkplugLines
from plantos.demo.devices.specs import SCAN_S, connector_specs
from plantos.demo.feed import SimulatorFeed
from plantos.demo.simulator import Simulator
from plantos.edge.config import build_connector
from plantos.edge.mqtt.server import MqttServerFields
from plantos.model import TagDef

HANGUP_WAIT_S = 15.0
"""How long the devices wait for the connectors to hang up (a loaded machine is slow)."""
BACKFILL_CHUNK_NS = 60 * NS_PER_S


@dataclass(frozen=True)
class DeviceOptions:
    """Where the devices listen; a port of 0 means any free one."""

    broker: str | None = None
    """``mqtt://host:port`` of an MQTT broker to use; None starts one in the process."""
    opcua_port: int = 4840
    modbus_port: int = 5020


class DemoDevices:
    """The demo plant as protocol devices for ``platform`` (see the module docstring)."""

    def __init__(
        self,
        platform: Platform,
        simulator: Simulator,
        clock: ScaledClock,
        options: DeviceOptions = DeviceOptions(),
    ) -> None:
        self.platform = platform
        self.simulator = simulator
        self.clock = clock
        layout = DeviceLayout.of(platform.plant)
        ids = platform.tag_ids
        self.opcua = OpcUaDevice(layout.opcua, ids, port=_port(options.opcua_port))
        self.modbus = ModbusDevice(layout.modbus, ids, port=_port(options.modbus_port))
        self.broker = None
        if options.broker is not None:
            mqtt = MqttServerFields(broker=options.broker).mqtt_server()
        else:
            self.broker = EmbeddedBroker(port=_port(0))
            mqtt = self.broker.server
        self.broker_url = str(mqtt)
        self.lines = SparkplugLines(layout, ids, server=mqtt, clock=clock)
        self.ready = asyncio.Event()
        specs = connector_specs(
            layout,
            opcua_endpoint=self.opcua.endpoint,
            modbus_port=self.modbus.port,
            broker_url=self.broker_url,
            speed=clock.speed,
        )
        self.connectors = [
            WhenReady(build_connector(spec, ids, clock=clock), self.ready) for spec in specs
        ]
        self.pacer = Pacer(clock, requested=clock.speed)
        """Lowers the clock's speed while the devices cannot keep up with it."""
        self.driver = DeviceDriver(simulator, clock, _routes(self, layout, ids), pacer=self.pacer)
        self._latest = SampleBatch.empty()
        self.live_from_ns: int | None = None
        """Simulated time from which samples reach PlantOS through the devices."""
        self.feed = SimulatorFeed(
            platform, simulator, chunk_ns=BACKFILL_CHUNK_NS, tap=self._keep_latest
        )

    def install(self) -> None:
        """Add the connectors and :meth:`run` to the platform, before it starts."""
        for connector in self.connectors:
            self.platform.add_connector(connector)
        self.platform.add_source(self.run())

    async def run(self) -> None:
        try:
            await self.start()
            await self.backfill()
            await self.driver.prime(self._latest)
            self.live_from_ns = self.simulator.now_ns
            self.ready.set()
            await self.driver.run()
        finally:
            await self.stop()

    async def start(self) -> None:
        if self.broker is not None and self.lines.nodes:
            await self.broker.start()
        await self.opcua.start()
        await self.modbus.start()
        await self.lines.connect()

    async def backfill(self) -> None:
        """Import history directly up to (almost) now, and again until the platform has
        taken it all in (the bus empty): the devices take over from a platform that keeps
        up, instead of starting behind while the writer and the analytics digest hours."""
        lag_ns = int(SCAN_S * self.clock.speed * NS_PER_S)
        while True:
            while self.clock.now_ns() - self.simulator.now_ns > lag_ns:
                await self.feed.advance_to(self.clock.now_ns())
            if self._bus_empty():
                return
            await asyncio.sleep(SCAN_S)

    def _bus_empty(self) -> bool:
        queues = self.platform.bus.metrics()["subscribers"].values()
        return all(q["depth"] == 0 for q in queues)

    async def stop(self) -> None:
        """Wait for the connectors to hang up (bounded), then switch the devices off."""
        deadline = time.monotonic() + HANGUP_WAIT_S
        while any(c.open for c in self.connectors) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.lines.close()
        if self.broker is not None:
            await self.broker.stop()
        await self.modbus.stop()
        await self.opcua.stop()

    def _keep_latest(self, batch: SampleBatch) -> None:
        self._latest = latest_per_tag(SampleBatch.concat([self._latest, batch]))


def _routes(devices: DemoDevices, layout: DeviceLayout, ids: dict[str, int]) -> list[Route]:
    def tag_ids(tags: tuple[TagDef, ...]) -> np.ndarray:
        return np.array([ids[t.path] for t in tags], dtype=np.int32)

    scalar = tuple(t for t in layout.opcua if t.waveform is None)
    waveform = tuple(t for t in layout.opcua if t.waveform is not None)
    return [
        Route(tag_ids(scalar), devices.opcua.write),
        Route(tag_ids(waveform), devices.opcua.write, every_sample=True),
        Route(tag_ids(layout.modbus), devices.modbus.write),
        Route(tag_ids(layout.sparkplug), devices.lines.write),
    ]


def _port(port: int) -> int:
    """``port``, or a free port on 127.0.0.1 for 0."""
    if port:
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
