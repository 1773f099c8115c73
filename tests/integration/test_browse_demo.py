"""``plantos browse`` with its defaults finds the demo's CNC variables, five levels below
Objects (site, area, line, machine, signal), and says so when a node limit stops it; its
help fits 80 columns."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from plantos.demo.devices.layout import DeviceLayout
from plantos.demo.devices.opcua_device import OpcUaDevice
from plantos.edge.opcua.browse import browse_opcua
from plantos.model import load_plant
from tests.conftest import DEMO_PLANT
from tests.support.ports import free_port


def test_defaults_find_every_variable_of_the_demo_cell_and_a_limit_is_reported() -> None:
    plant = load_plant(DEMO_PLANT)
    layout = DeviceLayout.of(plant)
    ids = {path: i for i, path in enumerate(plant.tags)}

    async def body() -> None:
        device = OpcUaDevice(layout.opcua, ids, port=free_port())
        await device.start()
        try:
            found = await browse_opcua(device.endpoint)
            limited = await browse_opcua(device.endpoint, max_nodes=20)
        finally:
            await device.stop()
        assert len(found.variables) == len(layout.opcua) and not found.truncated
        speed = next(v for v in found.variables if v.node_id.endswith("cnc-07/spindle_speed"))
        assert speed.depth == 5
        assert speed.browse_path == (
            "0:Objects/2:plant-a/2:machining/2:line-1/2:cnc-07/2:spindle_speed"
        )
        assert limited.truncated and len(limited.variables) < len(found.variables)

    asyncio.run(body())


def test_browse_help_fits_80_columns() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", "browse", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"COLUMNS": "80", "TERM": "dumb"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "--max-nodes" in result.stdout and "default: 10000" in result.stdout
