"""``plantos browse`` against real servers on 127.0.0.1: an asyncua server with a small
object tree and a pymodbus server with a float32 and an int16, both browsed through the
edge functions and through the command line in a subprocess, and the error cases."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from asyncua import ua
from asyncua.server.server import Server
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.cli.browse import modbus_yaml, opcua_yaml
from plantos.edge.modbus.browse import (
    browse_modbus,
    chunks,
    guess_tags,
    interpret,
    modbus_target,
    parse_range,
)
from plantos.edge.modbus.codec import RegisterField, encode_value
from plantos.edge.opcua.browse import BrowseError, browse_opcua, opcua_endpoint, signal_name
from tests.support.ports import free_port

pytestmark = pytest.mark.timeout(30)

T = TypeVar("T")
FLOAT_VALUE = 123.456
INT_VALUE = -250
HOLDING_SIZE = 130  # 0..129 exist: a read of 125..199 gets an exception answer
TEMPERATURE = "ns=2;s=Press.Temperature"
TEMPERATURE_PATH = "0:Objects/2:Line1/2:Press/2:Temperature"
DEEP_FOLDERS = ("Site", "Area", "Line", "Cell", "Machine")
DEEP_PATH = "0:Objects/" + "/".join(f"2:{f}" for f in DEEP_FOLDERS) + "/2:Vibration"


def holding_registers() -> list[int]:
    registers = [0] * HOLDING_SIZE
    # float32 at 10-11 in CDAB (word swapped) order, int16 at 20
    registers[10:12] = encode_value(
        RegisterField("f", 10, "float32", word_order="little"), FLOAT_VALUE
    )
    registers[20:21] = encode_value(RegisterField("i", 20, "int16"), INT_VALUE)
    return registers


@dataclass
class Servers:
    loop: asyncio.AbstractEventLoop
    opcua_url: str
    modbus_port: int
    count_node: str

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)


async def start_opcua(port: int) -> tuple[Server, str]:
    """Objects > Version (depth 1); Objects > Line1 (folder) > Press (object) >
    Temperature (Double), Count (Int32), Mode (String) at depth 3."""
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/plantos/")
    ns = await server.register_namespace("urn:plantos:test:browse")
    objects = server.nodes.objects
    await objects.add_variable(
        ua.NodeId.from_string(f"ns={ns};s=Version"), ua.QualifiedName("Version", ns), "1.0"
    )
    line = await objects.add_folder(ns, "Line1")
    press = await line.add_object(ns, "Press")
    temperature = await press.add_variable(
        ua.NodeId.from_string(f"ns={ns};s=Press.Temperature"),
        ua.QualifiedName("Temperature", ns),
        21.5,
    )
    unit = ua.EUInformation(
        NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
        UnitId=4408652,
        DisplayName=ua.LocalizedText("°C"),
        Description=ua.LocalizedText("degree Celsius"),
    )
    await temperature.add_property(0, "EngineeringUnits", unit)
    await temperature.add_property(0, "EURange", ua.Range(Low=0.0, High=300.0))
    await temperature.add_property(ns, "Note", "calibrated 2026")
    parent = objects
    for level in DEEP_FOLDERS:  # a variable six levels down, in a plant's usual nesting
        parent = await parent.add_folder(ns, level)
    await parent.add_variable(ns, "Vibration", 0.25)
    count = await press.add_variable(ns, "Count", ua.Variant(42, ua.VariantType.Int32))
    await press.add_variable(
        ua.NodeId.from_string(f"ns={ns};s=Mode"), ua.QualifiedName("Mode", ns), "auto"
    )
    await server.start()
    return server, count.nodeid.to_string()


async def start_modbus(port: int) -> ModbusTcpServer:
    holding = [SimData(0, values=holding_registers(), datatype=DataType.REGISTERS)]
    coils = [SimData(0, values=[i == 3 for i in range(16)], datatype=DataType.BITS)]
    discrete = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    inputs = [SimData(0, values=[0] * 10, datatype=DataType.REGISTERS)]
    device = SimDevice(id=1, simdata=(coils, discrete, holding, inputs))
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    return server


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """Both servers on a loop in another thread, so subprocesses can reach them too."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    opcua_port, modbus_port = free_port(), free_port()
    opcua, count_node = asyncio.run_coroutine_threadsafe(start_opcua(opcua_port), loop).result(30)
    modbus = asyncio.run_coroutine_threadsafe(start_modbus(modbus_port), loop).result(30)
    try:
        yield Servers(loop, f"opcua://127.0.0.1:{opcua_port}/plantos/", modbus_port, count_node)
    finally:
        asyncio.run_coroutine_threadsafe(opcua.stop(), loop).result(30)
        asyncio.run_coroutine_threadsafe(modbus.shutdown(), loop).result(30)  # type: ignore[no-untyped-call]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", "browse", *args],
        capture_output=True,
        text=True,
        timeout=25,
        env=env,
        check=False,
    )


# --- OPC UA -----------------------------------------------------------------------------


def test_opcua_finds_all_variables_at_depth_3(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url, depth=3))
    found = {v.browse_path: v for v in result.variables}
    assert set(found) == {
        "0:Objects/2:Version",
        TEMPERATURE_PATH,
        "0:Objects/2:Line1/2:Press/2:Count",
        "0:Objects/2:Line1/2:Press/2:Mode",
    }  # and nothing from the standard Server object
    temperature = found[TEMPERATURE_PATH]
    assert (temperature.node_id, temperature.data_type, temperature.value) == (
        TEMPERATURE,
        "Double",
        21.5,
    )
    assert temperature.status == "Good"
    assert temperature.depth == 3
    count = found["0:Objects/2:Line1/2:Press/2:Count"]
    assert (count.node_id, count.data_type, count.value) == (servers.count_node, "Int32", 42)
    mode = found["0:Objects/2:Line1/2:Press/2:Mode"]
    assert (mode.node_id, mode.data_type, mode.value) == ("ns=2;s=Mode", "String", "auto")


def test_opcua_depth_1_stops_above_the_deepest_and_says_so(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url, depth=1))
    assert [v.browse_path for v in result.variables] == ["0:Objects/2:Version"]
    assert result.unexpanded == 3  # Version, Line1, Site: not browsed below
    assert "depth limit 1 reached: 3 node(s)" in opcua_yaml(result)


def test_opcua_without_depth_finds_the_variable_six_levels_down(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url))
    deep = {v.browse_path: v for v in result.variables}[DEEP_PATH]
    assert (deep.depth, deep.value) == (6, 0.25)
    assert (result.unexpanded, result.truncated) == (0, False)
    assert "Incomplete" not in opcua_yaml(result)


def test_opcua_node_limit_is_reported_when_hit(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url, max_nodes=4))
    assert result.truncated
    assert DEEP_PATH not in {v.browse_path for v in result.variables}
    assert "# Incomplete: stopped after" in opcua_yaml(result)


def test_opcua_engineering_units_and_range_belong_to_the_variable(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url))
    found = {v.browse_path: v for v in result.variables}
    temperature = found[TEMPERATURE_PATH]
    assert (temperature.unit, temperature.range) == ("°C", (0.0, 300.0))
    assert found["0:Objects/2:Line1/2:Press/2:Count"].unit is None
    names = {v.browse_name for v in result.variables}
    assert not names & {"EngineeringUnits", "EURange", "Note"}  # properties are not tags
    assert "(Double, unit °C, range 0..300)" in opcua_yaml(result)


def test_opcua_include_standard_walks_the_server_object(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url, depth=2, include_standard=True))
    assert "0:Objects/0:Server/0:ServerStatus" in {v.browse_path for v in result.variables}


def test_opcua_yaml_parses_and_names_the_nodes(servers: Servers) -> None:
    result = asyncio.run(browse_opcua(servers.opcua_url, depth=3))
    text = opcua_yaml(result)
    doc = yaml.safe_load(text)
    nodes = {entry["node"]: entry["tag"] for entry in doc["tags"]}
    assert nodes[TEMPERATURE] == "site/area/line/asset/temperature"
    assert nodes[servers.count_node] == "site/area/line/asset/count"
    assert "ns=2;s=Mode" in nodes
    assert "must be" not in text and "Replace the placeholder" in text


def test_opcua_unreachable_is_a_browse_error() -> None:
    with pytest.raises(BrowseError, match="cannot connect"):
        asyncio.run(browse_opcua(f"opcua://127.0.0.1:{free_port()}", timeout_s=2))


def test_opcua_urls_and_signal_names() -> None:
    assert opcua_endpoint("opcua://plc") == "opc.tcp://plc:4840"
    assert opcua_endpoint("opc.tcp://plc:4841/x") == "opc.tcp://plc:4841/x"
    with pytest.raises(ValueError, match="not an OPC UA URL"):
        opcua_endpoint("http://plc")
    assert signal_name("SpindleSpeed") == "spindle_speed"
    assert signal_name("Zone 1 Temp.PV") == "zone_1_temp_pv"
    assert signal_name("HTTPServer") == "http_server"


# --- Modbus -----------------------------------------------------------------------------


def test_modbus_shows_the_float_in_its_encoding(servers: Servers) -> None:
    result = asyncio.run(browse_modbus("127.0.0.1", servers.modbus_port, first=0, last=99))
    assert result.errors == []
    rows = {r.address: r for r in interpret(result)}
    assert rows[10].float32_cdab == pytest.approx(FLOAT_VALUE, rel=1e-6)
    assert rows[10].float32_abcd != pytest.approx(FLOAT_VALUE, rel=1e-3)
    assert rows[20].raw == INT_VALUE & 0xFFFF
    assert rows[20].int32_abcd == INT_VALUE * 65536
    assert rows[98].float32_abcd == 0.0
    assert rows[99].raw == 0 and rows[99].float32_abcd is None  # no register after it
    guesses = {g.address: g for g in guess_tags(result)}
    assert set(guesses) == {10, 20}
    assert (guesses[10].type, guesses[10].word_order) == ("float32", "little")
    assert guesses[20].type == "int16"


def test_modbus_unreadable_chunk_is_reported_not_fatal(servers: Servers) -> None:
    result = asyncio.run(browse_modbus("127.0.0.1", servers.modbus_port, first=0, last=199))
    assert len(result.values) == 200
    assert [(e.start, e.count) for e in result.errors] == [(125, 75)]
    assert "exception 2" in result.errors[0].message
    assert result.value(124) == 0 and result.value(125) is None
    assert interpret(result)[124].float32_abcd is None  # its pair is unavailable
    text = modbus_yaml(result)
    assert yaml.safe_load(text)["tags"] == []  # a float32 and a negative int16: guesses
    assert "# - {tag: site/area/line/asset/register_10, address: 10, type: float32" in text
    assert "address: 20, type: int16}  # guess: int16 = -250, or uint16 = 65286" in text


def test_modbus_coils_and_yaml(servers: Servers) -> None:
    result = asyncio.run(
        browse_modbus("127.0.0.1", servers.modbus_port, table="coil", first=0, last=15)
    )
    assert result.values == [int(i == 3) for i in range(16)]
    doc = yaml.safe_load(modbus_yaml(result))
    assert doc["tags"] == [{"tag": "site/area/line/asset/coil_3", "address": 3}]


def test_modbus_ranges_and_urls() -> None:
    assert parse_range("0-99") == (0, 99)
    assert parse_range("40") == (40, 40)
    for bad in ("10-5", "0-70000", "a-b", "-3"):
        with pytest.raises(ValueError, match="register range"):
            parse_range(bad)
    assert chunks(0, 299, "holding") == [(0, 125), (125, 125), (250, 50)]
    assert chunks(0, 2999, "coil") == [(0, 2000), (2000, 1000)]
    assert modbus_target("modbus://plc") == ("plc", 502)
    assert modbus_target("modbus://10.0.0.5:5020") == ("10.0.0.5", 5020)
    with pytest.raises(ValueError, match="not a Modbus URL"):
        modbus_target("modbus://plc/x/y")


# --- command line -----------------------------------------------------------------------


def test_cli_opcua_yaml(servers: Servers) -> None:
    done = cli(servers.opcua_url, "--format", "yaml")
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(done.stdout)
    assert TEMPERATURE in {entry["node"] for entry in doc["tags"]}


def test_cli_opcua_json_and_table_show_unit_range_and_limits(servers: Servers) -> None:
    done = cli(servers.opcua_url, "--format", "json", "--depth", "2")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["unexpanded"] >= 1 and doc["truncated"] is False
    table = cli(servers.opcua_url, "--depth", "2")
    assert "depth limit 2 reached" in table.stdout + table.stderr
    full = json.loads(cli(servers.opcua_url, "--format", "json").stdout)
    temperature = next(v for v in full["variables"] if v["node_id"] == TEMPERATURE)
    assert (temperature["unit"], temperature["range"]) == ("°C", [0.0, 300.0])


def test_cli_modbus_table_and_json(servers: Servers) -> None:
    port = servers.modbus_port
    done = cli(f"modbus://127.0.0.1:{port}", "--registers", "0-199", "--unit", "1")
    assert done.returncode == 0, done.stderr
    assert "123.456" in done.stdout and "0xFF06" in done.stdout
    assert "unavailable" in done.stdout and "125-199" in done.stderr
    done = cli(f"modbus://127.0.0.1:{port}", "--registers", "10-11", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["registers"][0]["float32_cdab"] == pytest.approx(FLOAT_VALUE, rel=1e-6)


ERROR_CASES = [
    (["http://127.0.0.1:80"], "unsupported URL"),
    (["modbus://127.0.0.1:502", "--registers", "10-5"], "first address is after the last"),
    (["modbus://127.0.0.1:502", "--registers", "0-70000"], "up to 65535"),
    (["modbus://127.0.0.1:{port}"], "cannot connect to modbus device"),
    (["opcua://127.0.0.1:{port}", "--timeout", "2"], "cannot connect to opc.tcp://"),
]


def test_cli_errors_are_one_line_and_exit_1() -> None:
    """The error cases run side by side: each is mostly interpreter start-up."""
    port = str(free_port())  # nothing listens there
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "plantos.cli.main", "browse"]
            + [a.replace("{port}", port) for a in args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"COLUMNS": "200"},
        )
        for args, _ in ERROR_CASES
    ]
    for proc, (args, message) in zip(running, ERROR_CASES, strict=True):
        stdout, stderr = proc.communicate(timeout=25)
        assert proc.returncode == 1, (args, stderr)
        assert message in stderr, (args, stderr)
        assert stderr.strip().count("\n") == 0, (args, stderr)  # one line
        assert "Traceback" not in stderr
        assert stdout == ""


def test_opcua_browse_with_sign_and_encrypt_as_the_connector_would(tmp_path: Path) -> None:
    from plantos.edge.opcua.config import SecuritySpec
    from tests.integration.test_opcua_connector import Plant, make_certs, secure

    certs = asyncio.run(make_certs(tmp_path))

    async def main() -> None:
        plant = await Plant(free_port()).start(certs=certs)
        try:
            result = await browse_opcua(
                plant.url, depth=3, security=SecuritySpec.model_validate(secure(certs, "client"))
            )
            paths = {v.browse_path for v in result.variables}
            assert "0:Objects/2:CNC07/2:Spindle/2:Load" in paths, paths
            with pytest.raises(BrowseError):  # no security: the server offers none
                await browse_opcua(plant.url, depth=1, timeout_s=2)
            with pytest.raises(BrowseError):  # a certificate the server does not trust
                await browse_opcua(
                    plant.url,
                    depth=1,
                    timeout_s=2,
                    security=SecuritySpec.model_validate(secure(certs, "stranger")),
                )
            missing = {**secure(certs, "client"), "certificate": str(tmp_path / "nope.der")}
            with pytest.raises(BrowseError, match="cannot read a certificate"):
                await browse_opcua(
                    plant.url, depth=1, security=SecuritySpec.model_validate(missing)
                )
        finally:
            await plant.stop()

    asyncio.run(main())
