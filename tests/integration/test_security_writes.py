"""Writes into OT through the one write path, against a real asyncua OPC UA server and a
real pymodbus Modbus TCP server: a conduit and a grant needed, limits enforced, a second
person's approval where configured, and every attempt in the audit trail."""

from __future__ import annotations

import asyncio
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asyncua import Server, ua
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.conftest import REPO
from tests.support.server import RunningServer, free_port, running_server

FURNACE = "plant-a/heat/line-1/furnace-1"
SETPOINT = f"{FURNACE}/setpoint"
GAS = f"{FURNACE}/gas_setpoint"
TEMPERATURE = f"{FURNACE}/temperature"
READ_HOLDING = 3

PLANT = """\
plantos: 1
enterprise: {{id: acme}}
asset_types:
  furnace:
    tags:
      - {{signal: setpoint, unit: degC, range: [0, 1100]}}
      - {{signal: temperature, unit: degC, range: [0, 1100]}}
      - {{signal: gas_setpoint, unit: m^3/h, range: [0, 60]}}
sites:
  - id: plant-a
    areas:
      - id: heat
        lines:
          - id: line-1
            assets:
              - {{id: furnace-1, type: furnace}}
  - id: plant-b
    areas:
      - id: heat
        lines:
          - id: line-1
            assets:
              - {{id: furnace-1, type: furnace}}
connectors:
  - kind: opcua
    name: furnace-opcua
    endpoint: {endpoint}
    tags:
      - {{tag: {temperature}, node: "ns=2;s=Furnace.Temperature"}}
  - kind: modbus-tcp
    name: furnace-modbus
    host: 127.0.0.1
    port: {modbus_port}
    poll_groups:
      - {{interval: 1s, table: holding, tags: [{{tag: {gas}, address: 20, type: float32}}]}}
security:
  core_zone: dmz
  zones:
    ot-cell: {{members: [plant-a/heat, plant-b/heat]}}
    dmz: {{}}
  conduits:
    - {{id: data-out, from: ot-cell, to: dmz, carries: [samples, events]}}
    - {{id: setpoints-in, from: dmz, to: ot-cell, carries: [setpoints],
       writes: [{setpoint}, {gas}]}}
  writable:
    - {{tag: {setpoint}, connector: furnace-opcua, node: "ns=2;s=Furnace.Setpoint",
       min: 700, max: 950, approval: true}}
    - {{tag: {gas}, connector: furnace-modbus, address: 20, type: float32, min: 0, max: 60}}
"""


@dataclass
class Devices:
    loop: asyncio.AbstractEventLoop
    opcua: Server
    setpoint: Any
    modbus: ModbusTcpServer
    endpoint: str
    modbus_port: int

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def setpoint_value(self) -> float:
        return float(self.call(self.setpoint.read_value()))

    def gas_value(self) -> float:
        words = self.call(self.modbus.async_getValues(1, READ_HOLDING, 20, 2))
        return float(struct.unpack(">f", struct.pack(">HH", *words))[0])


async def _start(opc_port: int, modbus_port: int) -> tuple[Server, Any, ModbusTcpServer]:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{opc_port}/plantos/")
    ns = await server.register_namespace("urn:plantos:test")
    furnace = await server.nodes.objects.add_object(ns, "Furnace")
    await furnace.add_variable(ua.NodeId("Furnace.Temperature", ns), "Temperature", 850.0)
    setpoint = await furnace.add_variable(ua.NodeId("Furnace.Setpoint", ns), "Setpoint", 860.0)
    await setpoint.set_writable()
    await server.start()
    holding = [SimData(0, values=[0] * 64, datatype=DataType.REGISTERS)]
    coils = [SimData(0, values=[False], datatype=DataType.BITS)]
    inputs = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
    device = SimDevice(id=1, simdata=(coils, coils, holding, inputs))
    modbus = ModbusTcpServer(device, address=("127.0.0.1", modbus_port))
    await modbus.serve_forever(background=True)
    return server, setpoint, modbus


@pytest.fixture(scope="module")
def devices() -> Iterator[Devices]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    opc_port, modbus_port = free_port(), free_port()
    opcua, setpoint, modbus = asyncio.run_coroutine_threadsafe(
        _start(opc_port, modbus_port), loop
    ).result(30)
    endpoint = f"opc.tcp://127.0.0.1:{opc_port}/plantos/"
    try:
        yield Devices(loop, opcua, setpoint, modbus, endpoint, modbus_port)
    finally:
        asyncio.run_coroutine_threadsafe(modbus.shutdown(), loop).result(30)
        asyncio.run_coroutine_threadsafe(opcua.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def server(devices: Devices, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    plant = PLANT.format(
        endpoint=devices.endpoint, modbus_port=devices.modbus_port, setpoint=SETPOINT,
        gas=GAS, temperature=TEMPERATURE,
    )  # fmt: skip
    with running_server(tmp_path_factory.mktemp("writes"), plant) as running:
        yield running


def _client(server: RunningServer, role: str, subject: str, scope: str = "") -> httpx.Client:
    token = server.platform.tokens.issue("api", subject, role, scope=scope)[0]
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _audit(server: RunningServer, tag: str) -> list[tuple[str, str, str]]:
    records = server.platform.audit.records(action="ot.write")
    return [(r.actor, r.action, r.outcome) for r in records if r.target == tag]


def test_a_modbus_setpoint_is_written_within_its_limits(
    server: RunningServer, devices: Devices
) -> None:
    with _client(server, "engineer", "erik") as erik:
        written = erik.post(f"/api/v1/tags/{GAS}/write", json={"value": 42.5})
        assert written.status_code == 200, written.text
        assert written.json()["state"] == "written"
        assert devices.gas_value() == 42.5
        too_high = erik.post(f"/api/v1/tags/{GAS}/write", json={"value": 61})
        assert too_high.status_code == 400 and "outside the limits" in too_high.json()["detail"]
    assert devices.gas_value() == 42.5
    assert _audit(server, GAS)[-2:] == [("erik", "ot.write", "ok"), ("erik", "ot.write", "denied")]


def test_a_write_without_a_conduit_is_refused_and_audited(server: RunningServer) -> None:
    with _client(server, "admin", "ada") as ada:
        refused = ada.post(f"/api/v1/tags/{TEMPERATURE}/write", json={"value": 900})
    assert refused.status_code == 403 and "no conduit" in refused.json()["detail"]
    assert _audit(server, TEMPERATURE) == [("ada", "ot.write", "denied")]


def test_a_role_or_scope_without_the_grant_is_refused(server: RunningServer) -> None:
    with _client(server, "operator", "otto") as otto:
        refused = otto.post(f"/api/v1/tags/{GAS}/write", json={"value": 10})
    assert refused.status_code == 403 and "does not allow 'ot:write'" in refused.json()["detail"]
    with _client(server, "engineer", "bert", scope="plant-b") as bert:
        refused = bert.post(f"/api/v1/tags/{GAS}/write", json={"value": 10})
    assert refused.status_code == 403 and "not for plant-a" in refused.json()["detail"]


def test_an_opcua_setpoint_waits_for_a_second_person(
    server: RunningServer, devices: Devices
) -> None:
    with _client(server, "engineer", "erik") as erik, _client(server, "engineer", "eva") as eva:
        asked = erik.post(f"/api/v1/tags/{SETPOINT}/write", json={"value": 880})
        assert asked.status_code == 202 and asked.json()["state"] == "pending"
        write_id = asked.json()["id"]
        assert devices.setpoint_value() == 860.0
        listed = eva.get("/api/v1/writes").json()["writes"]
        assert listed[0]["id"] == write_id and listed[0]["state"] == "pending"
        own = erik.post(f"/api/v1/writes/{write_id}/approve")
        assert own.status_code == 409 and "second person" in own.json()["detail"]
        approved = eva.post(f"/api/v1/writes/{write_id}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["state"] == "written" and approved.json()["decided_by"] == "eva"
        assert devices.setpoint_value() == 880.0
        again = eva.post(f"/api/v1/writes/{write_id}/approve")
        assert again.status_code == 409
    assert _audit(server, SETPOINT)[:3] == [
        ("erik", "ot.write", "pending"),
        ("erik", "ot.write.approve", "denied"),
        ("eva", "ot.write.approve", "ok"),
    ]


def test_a_rejected_write_never_reaches_the_device(server: RunningServer, devices: Devices) -> None:
    before = devices.setpoint_value()
    with _client(server, "engineer", "erik") as erik, _client(server, "admin", "ada") as ada:
        write_id = erik.post(f"/api/v1/tags/{SETPOINT}/write", json={"value": 900}).json()["id"]
        assert ada.post(f"/api/v1/writes/{write_id}/reject").json()["state"] == "rejected"
        assert ada.post(f"/api/v1/writes/{write_id}/approve").status_code == 409
    assert devices.setpoint_value() == before


def test_plantos_write_from_the_shell(server: RunningServer, devices: Devices) -> None:
    token = server.platform.tokens.issue("api", "cli", "engineer")[0]
    result = subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", "write", GAS, "12.25", "--api", server.url],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"), "PLANTOS_TOKEN": token},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("written\tw_")
    assert devices.gas_value() == 12.25
    refused = subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", "write", GAS, "99", "--api", server.url],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"), "PLANTOS_TOKEN": token},
    )  # fmt: skip
    assert refused.returncode == 1 and "outside the limits" in refused.stderr
