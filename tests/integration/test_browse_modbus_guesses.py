"""``plantos browse modbus://`` offers as certain only what nothing else explains, against a
real pymodbus server: two int16 values that read as a float32 and a float32 are both
guesses, a lone small register is certain, and the YAML keeps guesses commented out."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import yaml

from plantos.edge.modbus.browse import browse_modbus, guess_tags
from plantos.edge.modbus.codec import RegisterField, encode_value
from tests.support.modbus_server import ModbusServer

pytestmark = pytest.mark.timeout(30)


def registers() -> list[int | None]:
    holding: list[int | None] = [0] * 60
    holding[10:12] = encode_value(RegisterField("f", 10, "float32"), 123.456)
    holding[20:22] = [0x4120, 0x0005]  # int16 16672 and 5, or float32 10.000005
    holding[30] = 300  # alone, top bit clear: nothing else reads it
    holding[40] = 0xFF06  # -250 or 65286
    holding[50] = 0x4120  # alone, yet with its zero neighbour float32 10.0
    return holding


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = ModbusServer(registers())
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(20)
    try:
        yield server.port
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_only_unambiguous_readings_are_certain(port: int) -> None:
    result = asyncio.run(browse_modbus("127.0.0.1", port, first=0, last=59))
    guesses = {g.address: g for g in guess_tags(result)}
    assert set(guesses) == {10, 20, 30, 40, 50}
    certain = {a for a, g in guesses.items() if not g.guess}
    assert certain == {30}
    assert (guesses[30].type, guesses[30].note) == ("uint16", "uint16 = 300")
    assert guesses[20].type == "float32"
    assert "two int16 16672 and 5" in guesses[20].note
    assert "float32 ABCD = 123.456" in guesses[10].note
    assert guesses[40].note == "guess: int16 = -250, or uint16 = 65286"
    assert guesses[50].note == "guess: float32 ABCD = 10, or two int16 16672 and 0"


def test_cli_yaml_keeps_guesses_out_of_the_tags(port: int) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "plantos.cli.main", "browse"),
            *(f"modbus://127.0.0.1:{port}", "--registers", "0-59", "--format", "yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=25,
        env=os.environ | {"COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(done.stdout)
    assert doc["tags"] == [
        {"tag": "site/area/line/asset/register_30", "address": 30, "type": "uint16"}
    ]
    commented = [line for line in done.stdout.splitlines() if line.startswith("# - {")]
    assert len(commented) == 4 and all("# guess: " in line for line in commented)
