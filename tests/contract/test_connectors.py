"""The connector contract: every connector (Modbus TCP, OPC UA, MTConnect, the Sparkplug B
host, MQTT JSON) against its real peer, the same checks for all.

What the supervisor (``plantos.edge.supervisor``) relies on, and so what every connector
must do:

* connect, then hand over the values its peer serves, with the right tag ids, Good;
* probe: once the peer is gone, ``collect()`` raises (the supervisor then marks the tags
  bad and reconnects); a connector never reports a dead link as silence for ever;
* close without hanging, also when the peer is gone, and twice;
* connect again, and read again, after the peer restarted on the same address.

A new connector adds a peer here and must pass unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol
from unittest import mock

import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.connector import Connector
from plantos.edge.modbus.config import ModbusTcpSpec
from plantos.edge.modbus.connector import ModbusTcpConnector
from plantos.edge.mqtt.json_config import MqttJsonSpec
from plantos.edge.mqtt.json_connector import MqttJsonConnector
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.mtconnect.connector import MTConnectConnector, MTConnectSpec
from plantos.edge.sparkplug.codec import DataType
from plantos.edge.sparkplug.host import SparkplugHost
from plantos.edge.sparkplug.node import NodeMetric, SparkplugEdgeNode
from tests.support import mosquitto as mosquitto_support
from tests.support.mosquitto import Broker, free_port, mosquitto_binary, running_mosquitto
from tests.support.mtconnect_agent import Agent, AgentServer

pytestmark = pytest.mark.timeout(90)

WAIT_S = 20.0
"""How long a contract step may take before the test fails (never a measured duration)."""


class Peer(Protocol):
    """The real thing a connector talks to, restartable on the same address."""

    known: dict[int, float]
    """Tag id to the value the peer serves for it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def connector(self) -> Connector: ...


# ----------------------------------------------------------------------------- Modbus TCP


class ModbusPeer:
    """A pymodbus server with two holding registers."""

    def __init__(self, tmp_path: Path) -> None:
        self.known = {1: 1234.0, 2: 42.0}
        self.port = free_port()
        self._server: Any = None

    async def start(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType as SimType
        from pymodbus.simulator import SimData, SimDevice

        registers = SimData(0, values=[1234, 42], datatype=SimType.REGISTERS)
        device = SimDevice(id=1, simdata=[registers])
        self._server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        await self._server.shutdown()

    def connector(self) -> Connector:
        spec = ModbusTcpSpec.model_validate(
            {
                "kind": "modbus-tcp",
                "name": "plc",
                "host": "127.0.0.1",
                "port": self.port,
                "timeout": "1s",
                "poll_groups": [
                    {
                        "interval": "50ms",
                        "table": "holding",
                        "tags": [
                            {"tag": "a/flow", "address": 0, "type": "uint16"},
                            {"tag": "a/level", "address": 1, "type": "uint16"},
                        ],
                    }
                ],
            }
        )
        return ModbusTcpConnector(spec, {"a/flow": 1, "a/level": 2}, clock=WallClock())


# ----------------------------------------------------------------------------- OPC UA


class OpcUaPeer:
    """An asyncua server with a spindle's speed and load."""

    def __init__(self, tmp_path: Path) -> None:
        from tests.integration.test_opcua_connector import LOAD, SPEED, free_port

        self.port = free_port()
        self.known = {SPEED: 1500.0, LOAD: 37.5}
        self._plant: Any = None

    async def start(self) -> None:
        from tests.integration.test_opcua_connector import Plant

        self._plant = await Plant(self.port).start()
        await self._plant.speed.write_value(1500.0)
        await self._plant.load.write_value(37.5)

    async def stop(self) -> None:
        await self._plant.stop()

    def connector(self) -> Connector:
        from tests.integration.test_opcua_connector import connector, spec

        return connector(spec(f"opc.tcp://127.0.0.1:{self.port}/plantos/"))


# ----------------------------------------------------------------------------- MTConnect


class MTConnectPeer:
    """A small MTConnect agent over HTTP with an axis position and a spindle speed."""

    def __init__(self, tmp_path: Path) -> None:
        self.known = {11: 12.5, 12: 800.0}
        self.agent = Agent(buffer_size=1000)
        self.server = AgentServer(self.agent)

    async def start(self) -> None:
        self.agent.restart()  # a started agent has a new instance and an empty buffer
        self.agent.add("Xact", 12.5)
        self.agent.add("Sspeed", 800)
        await asyncio.to_thread(self.server.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.server.stop)

    def connector(self) -> Connector:
        spec = MTConnectSpec.model_validate(
            {
                "kind": "mtconnect",
                "name": "mill",
                "url": self.server.url,
                "interval": "50ms",
                "items": [
                    {"tag": "s/a/l/m/x", "data_item": "Xact"},
                    {"tag": "s/a/l/m/speed", "data_item": "Sspeed"},
                ],
            }
        )
        return MTConnectConnector(spec, {"s/a/l/m/x": 11, "s/a/l/m/speed": 12})


# ----------------------------------------------------------------------------- MQTT peers


@contextlib.contextmanager
def mosquitto_on(port: int, workdir: Path) -> Iterator[Broker]:
    """Mosquitto on a given port, so a restarted broker has the old one's address."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        mock.patch.object(mosquitto_support, "free_port", return_value=port),
        running_mosquitto(workdir) as broker,
    ):
        yield broker


class MqttPeer:
    """A Mosquitto broker and a device publishing on it every 50 ms until stopped."""

    def __init__(self, tmp_path: Path) -> None:
        if mosquitto_binary() is None:
            pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
        self.port = free_port()
        self.tmp_path = tmp_path
        self._stack: contextlib.AsyncExitStack | None = None
        self._starts = 0

    async def start(self) -> None:
        self._starts += 1
        stack = contextlib.AsyncExitStack()
        stack.enter_context(mosquitto_on(self.port, self.tmp_path / f"broker-{self._starts}"))
        await stack.enter_async_context(self.device())
        self._stack = stack

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    @contextlib.asynccontextmanager
    async def device(self) -> AsyncIterator[None]:
        raise NotImplementedError
        yield


class SparkplugPeer(MqttPeer):
    """An edge node (PlantOS's own, a real Sparkplug B publisher) and the broker."""

    known: ClassVar[dict[int, float]] = {7: 3.25, 8: 1.0}

    @contextlib.asynccontextmanager
    async def device(self) -> AsyncIterator[None]:
        node = SparkplugEdgeNode(
            server=MqttServer("127.0.0.1", self.port),
            group_id="plant",
            edge_node_id="press",
            metrics=[
                NodeMetric(7, "pressure", DataType.Double),
                NodeMetric(8, "running", DataType.Boolean),
            ],
            report_by_exception=False,
        )
        await node.connect()

        async def publish() -> None:
            while True:
                now = time.time_ns()
                await node.publish(SampleBatch.of([7, 8], [now, now], [3.25, 1.0]))
                await asyncio.sleep(0.05)

        task = asyncio.create_task(publish())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await node.close()

    def connector(self) -> Connector:
        return SparkplugHost(
            server=MqttServer("127.0.0.1", self.port),
            host_id="contract",
            tag_map={
                ("plant", "press", None, "pressure"): 7,
                ("plant", "press", None, "running"): 8,
            },
            interval_s=0.05,
            rebirth_retry_s=0.5,
        )


class MqttJsonPeer(MqttPeer):
    """A plain MQTT device publishing JSON, and the broker."""

    known: ClassVar[dict[int, float]] = {5: 21.5, 6: 600.0}

    @contextlib.asynccontextmanager
    async def device(self) -> AsyncIterator[None]:
        from tests.integration.test_mqtt_json import Publisher

        pub = await asyncio.to_thread(Publisher, Broker("127.0.0.1", self.port, None))  # type: ignore[arg-type]

        async def publish() -> None:
            while True:
                now_ms = time.time_ns() // 1_000_000
                for signal, value in (("temperature", 21.5), ("speed", 600.0)):
                    body = {"value": value, "timestamp": now_ms}
                    await asyncio.to_thread(pub.send, f"acme/st-10/{signal}", body)
                await asyncio.sleep(0.05)

        task = asyncio.create_task(publish())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.to_thread(pub.stop)

    def connector(self) -> Connector:
        spec = MqttJsonSpec.model_validate(
            {
                "kind": "mqtt-json",
                "name": "uns",
                "broker": f"mqtt://127.0.0.1:{self.port}",
                "interval": "50ms",
                "subscriptions": [
                    {
                        "topic": "acme/{station}/{signal}",
                        "tag": "line/{station}/{signal}",
                        "value": "$.value",
                        "timestamp": "$.timestamp",
                    }
                ],
            }
        )
        tags = {"line/st-10/temperature": 5, "line/st-10/speed": 6}
        return MqttJsonConnector(spec, tags, clock=WallClock(), connect_timeout_s=5.0)


PEERS: dict[str, Callable[[Path], Peer]] = {
    "modbus-tcp": ModbusPeer,
    "opcua": OpcUaPeer,
    "mtconnect": MTConnectPeer,
    "sparkplug-host": SparkplugPeer,
    "mqtt-json": MqttJsonPeer,
}


@pytest.fixture(params=sorted(PEERS))
def make_peer(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Peer]:
    return lambda: PEERS[request.param](tmp_path)


# ----------------------------------------------------------------------------- helpers


async def connect_within(connector: Connector, timeout_s: float = WAIT_S) -> None:
    """Connect, retrying while the peer is still coming up (as the supervisor would)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await asyncio.wait_for(connector.connect(), timeout_s)
            return
        except (ConnectionError, OSError, TimeoutError):
            with contextlib.suppress(Exception):
                await connector.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def read_known(connector: Connector, known: dict[int, float]) -> dict[int, float]:
    """Collect until every known tag has a Good value; what was read, by tag."""
    got: dict[int, float] = {}
    deadline = time.monotonic() + WAIT_S
    while set(known) - set(got):
        if time.monotonic() > deadline:
            raise AssertionError(f"read {got}, expected values for every tag of {known}")
        batch = await asyncio.wait_for(connector.collect(), WAIT_S)
        assert isinstance(batch, SampleBatch)
        assert set(batch.tag_id.tolist()) <= set(connector.tag_ids)
        good = batch.select(batch.quality == quality.GOOD)
        got.update(zip(good.tag_id.tolist(), good.value.tolist(), strict=True))
        await asyncio.sleep(connector.interval_s)
    return got


async def collect_until_it_raises(connector: Connector) -> BaseException:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(connector.collect(), WAIT_S)
        except (ConnectionError, OSError, TimeoutError) as exc:
            return exc
        except Exception as exc:  # a library's own error class is a raise all the same
            return exc
        await asyncio.sleep(connector.interval_s)
    raise AssertionError("collect() kept answering after its peer was gone")


def same_values(got: dict[int, float], known: dict[int, float]) -> bool:
    return all(math.isclose(got[tag], value) for tag, value in known.items())


# ----------------------------------------------------------------------------- the contract


def test_reads_the_values_its_peer_serves(make_peer: Callable[[], Peer]) -> None:
    async def main() -> None:
        peer = make_peer()
        await peer.start()
        connector = peer.connector()
        try:
            assert connector.name and connector.interval_s > 0
            assert set(peer.known) <= set(connector.tag_ids)
            await connect_within(connector)
            got = await read_known(connector, peer.known)
            assert same_values(got, peer.known), got
            assert isinstance(connector.metrics(), dict)
        finally:
            await asyncio.wait_for(connector.close(), WAIT_S)
            await peer.stop()

    asyncio.run(main())


def test_a_gone_peer_makes_collect_raise_and_close_does_not_hang(
    make_peer: Callable[[], Peer],
) -> None:
    async def main() -> None:
        peer = make_peer()
        await peer.start()
        connector = peer.connector()
        await connect_within(connector)
        await read_known(connector, peer.known)
        await peer.stop()
        await collect_until_it_raises(connector)
        await asyncio.wait_for(connector.close(), WAIT_S)
        await asyncio.wait_for(connector.close(), WAIT_S)  # twice is fine
        assert isinstance(connector.metrics(), dict)

    asyncio.run(main())


def test_reads_again_after_its_peer_restarts(make_peer: Callable[[], Peer]) -> None:
    async def main() -> None:
        peer = make_peer()
        await peer.start()
        connector = peer.connector()
        try:
            await connect_within(connector)
            await read_known(connector, peer.known)
            await peer.stop()
            await collect_until_it_raises(connector)
            await asyncio.wait_for(connector.close(), WAIT_S)
            await peer.start()
            await connect_within(connector)
            got = await read_known(connector, peer.known)
            assert same_values(got, peer.known), got
        finally:
            await asyncio.wait_for(connector.close(), WAIT_S)
            await peer.stop()

    asyncio.run(main())


def test_every_connector_kind_has_a_peer_here() -> None:
    from plantos.edge.config import KINDS

    assert set(KINDS) == set(PEERS), "a new connector kind adds its peer to this suite"
