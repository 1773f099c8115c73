"""A pending write into OT in a real browser: one engineer asks for a furnace setpoint, a
second one approves it on the Writes page, and only then does the real Modbus TCP device
hold the new value; the one who asked is offered no Approve button."""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.e2e.nav import nav_to
from tests.support.server import RunningServer, free_port, running_server

SETPOINT = "plant-a/heat/line-1/furnace-1/setpoint"
PLANT = """\
plantos: 1
enterprise: {{id: acme, name: ACME}}
asset_types:
  furnace:
    tags:
      - {{signal: setpoint, unit: degC, range: [0, 1100]}}
sites:
  - id: plant-a
    areas:
      - id: heat
        lines:
          - id: line-1
            assets:
              - {{id: furnace-1, type: furnace}}
connectors:
  - kind: modbus-tcp
    name: furnace-plc
    host: 127.0.0.1
    port: {port}
    poll_groups:
      - {{interval: 1s, table: holding, tags: [{{tag: {tag}, address: 6, type: float32}}]}}
security:
  core_zone: dmz
  zones:
    ot-supervisory: {{members: [plant-a/heat]}}
    dmz: {{}}
  conduits:
    - {{id: setpoints-in, from: dmz, to: ot-supervisory, writes: [{tag}]}}
  writable:
    - {{tag: {tag}, connector: furnace-plc, address: 6, min: 820, max: 900, approval: true}}
"""


@pytest.fixture(scope="module")
def plc() -> Iterator[tuple[ModbusTcpServer, asyncio.AbstractEventLoop, int]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = free_port()

    async def start() -> ModbusTcpServer:
        holding = [SimData(0, values=[0] * 16, datatype=DataType.REGISTERS)]
        bits = [SimData(0, values=[False], datatype=DataType.BITS)]
        inputs = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
        server = ModbusTcpServer(
            SimDevice(id=1, simdata=(bits, bits, holding, inputs)), address=("127.0.0.1", port)
        )
        await server.serve_forever(background=True)
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield server, loop, port
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def writes_server(
    plc: tuple[ModbusTcpServer, asyncio.AbstractEventLoop, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    plant = PLANT.format(port=plc[2], tag=SETPOINT)
    with running_server(tmp_path_factory.mktemp("ui-writes"), plant) as running:
        yield running


def _setpoint(plc: tuple[ModbusTcpServer, asyncio.AbstractEventLoop, int]) -> float:
    server, loop, _port = plc
    words = asyncio.run_coroutine_threadsafe(server.async_getValues(1, 3, 6, 2), loop).result(10)
    return float(struct.unpack(">f", struct.pack(">HH", *words))[0])


def _tab(browser: Browser, server: RunningServer, name: str) -> Page:
    context = browser.new_context(base_url=server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(f"/signin?token={server.platform.tokens.issue_signin(name, 'engineer')}")
    return tab


def test_a_second_engineer_approves_a_setpoint_on_the_writes_page(
    browser: Browser,
    writes_server: RunningServer,
    plc: tuple[ModbusTcpServer, asyncio.AbstractEventLoop, int],
) -> None:
    token = writes_server.platform.tokens.issue_api_token("erik", "engineer")
    asked = httpx.post(
        f"{writes_server.url}/api/v1/tags/{SETPOINT}/write",
        json={"value": 875},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert asked.status_code == 202
    write_id = asked.json()["id"]

    erik = _tab(browser, writes_server, "erik")
    erik.goto("/writes")
    row = erik.locator(f'tr[data-write="{write_id}"]')
    expect(row).to_have_attribute("data-state", "pending")
    expect(row.locator("button.approve")).to_have_count(0)  # not for the one who asked
    erik.context.close()

    eva = _tab(browser, writes_server, "eva")
    nav_to(eva, "Zones")
    expect(eva.locator(f'#writable tr[data-tag="{SETPOINT}"]')).to_contain_text("second person")
    nav_to(eva, "Writes")
    assert _setpoint(plc) == 0.0
    eva.locator(f'tr[data-write="{write_id}"] button.approve').click()
    expect(eva.locator("#message")).to_contain_text("written")
    expect(eva.locator(f'tr[data-write="{write_id}"]')).to_have_attribute("data-state", "written")
    assert _setpoint(plc) == 875.0
    eva.context.close()
