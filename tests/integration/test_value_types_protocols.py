"""One plant file mixing text, exact integers and floats from OPC UA, Sparkplug B, Modbus
TCP and MTConnect, each read from a real peer, runs with every value kept and shown
exactly: the live API and the history answer what each device sent, digit for digit."""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from asyncua import ua
from asyncua.server.server import Server

from tests.support.modbus_server import ModbusServer, free_port
from tests.support.mosquitto import Broker
from tests.support.mtconnect_agent import ITEMS, TEXT_ITEMS, Agent, AgentServer
from tests.support.pysparkplug_peer import MetricSpec, PeerNode
from tests.support.server import RunningServer, running_server, wait_until

pytestmark = pytest.mark.timeout(180)

T = TypeVar("T")
LINE = "site-1/cell/line-1"
BIG = 2**53 + 1
HUGE = 2**64 - 1
NEGATIVE = -(2**63)

PLANT = """\
plantos: 1
enterprise: {{id: testco, name: Test Company}}
asset_types:
  machine:
    tags:
      - {{signal: program, type: text, max_length: 32}}
      - {{signal: parts, type: int, unit: count}}
      - {{signal: energy, type: uint, unit: Wh}}
      - {{signal: temperature, unit: degC}}
sites:
  - id: site-1
    areas:
      - id: cell
        lines:
          - id: line-1
            assets:
              - {{id: opcua-cnc, type: machine}}
              - {{id: modbus-plc, type: machine}}
              - {{id: sparkplug-cell, type: machine}}
              - {{id: mtc-mill, type: machine}}
connectors:
  - kind: opcua
    name: cnc
    endpoint: opc.tcp://127.0.0.1:{opcua}/plantos/
    publishing_interval: 100ms
    sampling_interval: 50ms
    tags:
      - {{tag: {line}/opcua-cnc/program, node: "ns=2;s=Program"}}
      - {{tag: {line}/opcua-cnc/parts, node: "ns=2;s=Parts"}}
      - {{tag: {line}/opcua-cnc/energy, node: "ns=2;s=Energy"}}
      - {{tag: {line}/opcua-cnc/temperature, node: "ns=2;s=Temperature"}}
  - kind: modbus-tcp
    name: plc
    host: 127.0.0.1
    port: {modbus}
    poll_groups:
      - interval: 100ms
        table: holding
        tags:
          - {{tag: {line}/modbus-plc/energy, address: 0, type: uint64}}
          - {{tag: {line}/modbus-plc/parts, address: 4, type: int64}}
          - {{tag: {line}/modbus-plc/program, address: 8, type: string, length: 4}}
          - {{tag: {line}/modbus-plc/temperature, address: 12, type: float32}}
  - kind: sparkplug-host
    name: cell
    host_id: plantos-test
    broker: mqtt://127.0.0.1:{mqtt}
    group: Plant
    metrics:
      - {{tag: {line}/sparkplug-cell/program, group: Plant, edge_node: Cell7, metric: Program}}
      - {{tag: {line}/sparkplug-cell/parts, group: Plant, edge_node: Cell7, metric: Parts}}
      - {{tag: {line}/sparkplug-cell/energy, group: Plant, edge_node: Cell7, metric: Energy}}
      - {{tag: {line}/sparkplug-cell/temperature, group: Plant, edge_node: Cell7,
          metric: Temperature}}
  - kind: mtconnect
    name: mill
    url: http://127.0.0.1:{mtconnect}
    interval: 100ms
    items:
      - {{tag: {line}/mtc-mill/program, data_item: program}}
      - {{tag: {line}/mtc-mill/parts, data_item: pcount}}
      - {{tag: {line}/mtc-mill/temperature, data_item: Xact}}
"""

EXPECTED = {
    "opcua-cnc": {"program": "O1001 ROUGH", "parts": BIG, "energy": HUGE, "temperature": 21.5},
    "modbus-plc": {"program": "P-77", "parts": NEGATIVE, "energy": HUGE, "temperature": 21.5},
    "sparkplug-cell": {"program": "Étape 2", "parts": BIG, "energy": HUGE, "temperature": 21.5},
    "mtc-mill": {"program": "O2002", "parts": BIG, "temperature": 21.5},
}


class PeerLoop:
    """An event loop in a thread of its own for the peers a platform reads from."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()  # its self-pipe sockets too


async def opcua_server(port: int) -> Server:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/plantos/")
    ns = await server.register_namespace("urn:plantos:test:types")
    machine = await server.nodes.objects.add_object(ns, "Machine")
    for name, value, variant in (
        ("Program", "O1001 ROUGH", ua.VariantType.String),
        ("Parts", BIG, ua.VariantType.Int64),
        ("Energy", HUGE, ua.VariantType.UInt64),
        ("Temperature", 21.5, ua.VariantType.Double),
    ):
        await machine.add_variable(ua.NodeId(name, ns), name, ua.Variant(value, variant))
    await server.start()
    return server


def registers() -> list[int | None]:
    """uint64 2**64-1 at 0, int64 -2**63 at 4, "P-77" at 8, float32 21.5 at 12."""
    words = list(struct.unpack(">4H", struct.pack(">Q", HUGE)))
    words += list(struct.unpack(">4H", struct.pack(">q", NEGATIVE)))
    words += list(struct.unpack(">4H", b"P-77\0\0\0\0"))
    words += list(struct.unpack(">2H", struct.pack(">f", 21.5)))
    return words


def sparkplug_node(broker: Broker) -> PeerNode:
    """An edge node of another stack (pysparkplug) with one metric of each type."""
    ts_ms = time.time_ns() // 1_000_000
    metrics: list[MetricSpec] = [
        ("Program", "STRING", "Étape 2", ts_ms),
        ("Parts", "INT64", BIG, ts_ms),
        ("Energy", "UINT64", HUGE, ts_ms),
        ("Temperature", "DOUBLE", 21.5, ts_ms),
    ]
    return PeerNode(broker.host, broker.port, "Plant", "Cell7", metrics)


@pytest.fixture(scope="module")
def plant(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    peers = PeerLoop()
    opcua_port = free_port()
    opcua = peers.run(opcua_server(opcua_port))
    modbus = ModbusServer(registers())
    peers.run(modbus.start())
    agent = Agent(items=ITEMS + TEXT_ITEMS)
    try:
        with AgentServer(agent) as mtc:
            agent.add("program", "O2002")
            agent.add("pcount", BIG)
            agent.add("Xact", 21.5)
            text = PLANT.format(
                line=LINE,
                opcua=opcua_port,
                modbus=modbus.port,
                mqtt=broker.port,
                mtconnect=mtc.port,
            )
            with running_server(tmp_path_factory.mktemp("protocols"), text) as running:
                # born once the host listens: the host's rebirth request is not needed
                node = sparkplug_node(broker)
                try:
                    yield running
                finally:
                    node.stop()
    finally:
        peers.run(modbus.stop())
        peers.run(opcua.stop())
        peers.close()


def live(server: RunningServer) -> dict[tuple[str, str], dict[str, Any]]:
    with server.client() as client:
        values = client.get("/api/v1/live", params={"prefix": LINE}).json()["values"]
    return {tuple(v["path"].split("/")[-2:]): v for v in values}  # type: ignore[misc]


def test_every_value_of_every_protocol_is_kept_exactly(plant: RunningServer) -> None:
    expected = {(a, s): v for a, signals in EXPECTED.items() for s, v in signals.items()}

    def arrived() -> bool:
        now = live(plant)
        return all(now[key]["value"] == value for key, value in expected.items())

    try:
        wait_until(arrived, "every value from the four protocols", timeout_s=60)
    except RuntimeError:
        now = live(plant)
        wrong = {
            k: (now[k]["value"], now[k]["quality"], v)
            for k, v in expected.items()
            if now[k]["value"] != v
        }
        raise AssertionError(f"(got, quality, expected) where they differ: {wrong}") from None
    now = live(plant)
    assert all(now[key]["quality"] == "Good" for key in expected)
    assert now[("modbus-plc", "energy")]["text"] == str(HUGE)
    assert plant.platform.normaliser.rejected == {}, "nothing marked Bad on the way"


def test_history_answers_what_each_device_sent(plant: RunningServer) -> None:
    wait_until(lambda: plant.platform.writer.acked_rows >= 15, "the history commit")
    with plant.client() as client:
        for asset, signals in EXPECTED.items():
            for signal, value in signals.items():
                path = f"/api/v1/tags/{LINE}/{asset}/{signal}/samples"
                answer = client.get(path, params={"from": "-10m"}).json()
                assert value in answer["value"], (asset, signal, answer["value"][-3:])
