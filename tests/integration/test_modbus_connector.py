"""The Modbus TCP connector against a real pymodbus TCP server on 127.0.0.1: values of
several types, orders and scales, per-group poll rates, read planning, exception
responses, a server that stops and comes back under the real supervisor, and the
YAML spec's validation."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import ValidationError
from pymodbus.exceptions import ModbusIOException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S, ManualClock, WallClock
from plantos.edge.modbus import ModbusTcpConnector, ModbusTcpSpec
from plantos.edge.modbus.codec import DType, Order, RegisterField, encode_value
from plantos.edge.supervisor import Supervisor
from tests.support.ports import free_port

pytestmark = pytest.mark.timeout(20)

BASE_NS = 1_750_000_000_000_000_000
HOLDING_SIZE = 200  # holding registers 0..199 exist; 500 does not

# (tag, address, type, byte_order, word_order, scale, offset, engineering value)
HOLDING_TAGS: list[tuple[str, int, DType, Order, Order, float, float, float]] = [
    ("f/zone_1_temperature", 100, "float32", "big", "little", 0.1, 0.0, 812.5),
    ("f/zone_2_temperature", 102, "float32", "big", "big", 1.0, 0.0, 123.456),
    ("f/pressure", 104, "int16", "big", "big", 0.1, 0.0, -2.5),
    ("f/flow", 105, "float64", "little", "little", 1.0, 0.0, 9876.54321),
    ("f/count", 109, "uint32", "little", "big", 1.0, 0.0, 4_000_000_000.0),
    ("f/level", 111, "uint16", "big", "big", 0.5, -10.0, 40.0),
    ("f/energy", 112, "int64", "big", "little", 1.0, 0.0, -1234567890123.0),
]
IDS = {name: i + 1 for i, (name, *_rest) in enumerate(HOLDING_TAGS)} | {
    "f/door_open": 20,
    "f/running_bit": 21,
    "f/speed": 22,
    "f/far": 23,
    "f/missing_a": 24,
    "f/missing_b": 25,
}


def holding_registers() -> list[int]:
    registers = [0] * HOLDING_SIZE
    for name, address, dtype, byte_order, word_order, scale, offset, value in HOLDING_TAGS:
        field = RegisterField(name, address, dtype, byte_order, word_order, scale, offset)
        words = encode_value(field, value)
        registers[address : address + len(words)] = words
    registers[120] = 0b0000_0000_0000_0100  # running_bit: bit 2
    registers[150] = 4321  # far
    return registers


def device() -> SimDevice:
    """Unit 1: coils 0..15 (coil 3 on), holding 0..199, input 0..9 (input 5 = 1500)."""
    coils = [SimData(0, values=[i == 3 for i in range(16)], datatype=DataType.BITS)]
    discrete = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    holding = [SimData(0, values=holding_registers(), datatype=DataType.REGISTERS)]
    inputs = [
        SimData(0, values=[1500 if i == 5 else 0 for i in range(10)], datatype=DataType.REGISTERS)
    ]
    return SimDevice(id=1, simdata=(coils, discrete, holding, inputs))


async def start_server(port: int) -> ModbusTcpServer:
    server = ModbusTcpServer(device(), address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    return server


async def stop_server(server: ModbusTcpServer) -> None:
    await server.shutdown()  # type: ignore[no-untyped-call]


def spec(port: int, groups: list[dict[str, Any]], **extra: Any) -> ModbusTcpSpec:
    return ModbusTcpSpec.model_validate(
        {
            "kind": "modbus-tcp",
            "name": "furnace-1-plc",
            "host": "127.0.0.1",
            "port": port,
            "unit": 1,
            "timeout": "1s",
            "poll_groups": groups,
        }
        | extra
    )


def holding_group(interval: str = "1s") -> dict[str, Any]:
    tags = [
        {
            "tag": name,
            "address": address,
            "type": dtype,
            "byte_order": byte_order,
            "word_order": word_order,
            "scale": scale,
            "offset": offset,
        }
        for name, address, dtype, byte_order, word_order, scale, offset, _ in HOLDING_TAGS
    ]
    tags.append({"tag": "f/running_bit", "address": 120, "type": "bool", "bit": 2})
    return {"interval": interval, "table": "holding", "tags": tags}


def by_tag(batch: SampleBatch) -> dict[int, tuple[float, int, int]]:
    return {
        int(t): (float(v), int(q), int(ts))
        for t, v, q, ts in zip(batch.tag_id, batch.value, batch.quality, batch.ts, strict=True)
    }


Scenario = Callable[[int], Awaitable[None]]


def with_server(scenario: Scenario) -> None:
    """Run ``scenario(port)`` on one event loop with a server listening on ``port``."""

    async def main() -> None:
        port = free_port()
        server = await start_server(port)
        try:
            await scenario(port)
        finally:
            await stop_server(server)

    asyncio.run(main())


def test_values_of_each_type_order_and_scale_come_back_as_configured() -> None:
    clock = ManualClock(BASE_NS)
    groups = [
        holding_group(),
        {"interval": "1s", "table": "coil", "tags": [{"tag": "f/door_open", "address": 3}]},
        {
            "interval": "1s",
            "table": "input",
            "tags": [{"tag": "f/speed", "address": 5, "type": "uint16", "scale": 0.1}],
        },
    ]

    async def scenario(port: int) -> None:
        conn = ModbusTcpConnector(spec(port, groups), IDS, clock=clock)
        await conn.connect()
        try:
            got = by_tag(await conn.collect())
        finally:
            await conn.close()
        for name, *_rest, expected in HOLDING_TAGS:
            value, code, ts = got[IDS[name]]
            assert value == pytest.approx(expected, rel=1e-6), name
            assert (code, ts) == (quality.GOOD, BASE_NS)
        assert got[IDS["f/running_bit"]][:2] == (1.0, quality.GOOD)
        assert got[IDS["f/door_open"]][:2] == (1.0, quality.GOOD)
        assert got[IDS["f/speed"]][0] == pytest.approx(150.0)
        assert sorted(got) == sorted(conn.tag_ids)

    with_server(scenario)


def test_groups_are_polled_at_their_own_interval() -> None:
    clock = ManualClock(BASE_NS)
    groups = [
        {
            "interval": "1s",
            "table": "holding",
            "tags": [{"tag": "f/far", "address": 150, "type": "uint16"}],
        },
        {
            "interval": "5s",
            "table": "input",
            "tags": [{"tag": "f/speed", "address": 5, "type": "uint16"}],
        },
    ]

    async def scenario(port: int) -> None:
        conn = ModbusTcpConnector(spec(port, groups), IDS, clock=clock)
        assert conn.interval_s == 1.0
        await conn.connect()
        seen: dict[int, list[int]] = {IDS["f/far"]: [], IDS["f/speed"]: []}
        try:
            for second in range(11):
                clock.advance_to(BASE_NS + second * NS_PER_S)
                for tag, (_value, _code, ts) in by_tag(await conn.collect()).items():
                    seen[tag].append((ts - BASE_NS) // NS_PER_S)
        finally:
            await conn.close()
        assert seen[IDS["f/far"]] == list(range(11))
        assert seen[IDS["f/speed"]] == [0, 5, 10]
        assert conn.metrics()["reads"] == 14

    with_server(scenario)


def test_adjacent_fields_share_one_read_and_distant_ones_do_not() -> None:
    clock = ManualClock(BASE_NS)

    async def scenario(port: int) -> None:
        conn = ModbusTcpConnector(spec(port, [holding_group()]), IDS, clock=clock)
        await conn.connect()
        await conn.collect()
        assert conn.metrics()["reads"] == 1  # registers 100..120 in one request
        assert conn.metrics()["registers_read"] == 21
        await conn.close()

        far = holding_group()
        far["tags"].append({"tag": "f/far", "address": 150, "type": "uint16"})
        conn = ModbusTcpConnector(spec(port, [far]), IDS, clock=clock)
        await conn.connect()
        got = by_tag(await conn.collect())
        await conn.close()
        assert conn.metrics()["reads"] == 2
        assert got[IDS["f/far"]][:2] == (4321.0, quality.GOOD)
        assert conn.metrics()["last_poll_ms"] is not None

    with_server(scenario)


def test_address_the_server_lacks_gives_bad_quality_only_for_its_tags() -> None:
    clock = ManualClock(BASE_NS)
    group = holding_group()
    group["tags"] += [
        {"tag": "f/missing_a", "address": 500, "type": "uint16"},
        {"tag": "f/missing_b", "address": 502, "type": "float32"},
    ]

    async def scenario(port: int) -> None:
        conn = ModbusTcpConnector(spec(port, [group]), IDS, clock=clock)
        await conn.connect()
        try:
            got = by_tag(await conn.collect())
        finally:
            await conn.close()
        for name in ("f/missing_a", "f/missing_b"):
            value, code, _ts = got[IDS[name]]
            assert math.isnan(value)
            assert code == quality.BAD_OUT_OF_RANGE
        good = [got[IDS[name]][1] for name, *_rest in HOLDING_TAGS]
        assert good == [quality.GOOD] * len(HOLDING_TAGS)
        # the refused block (500..503) is split once: both halves are refused on their own
        assert conn.metrics()["exception_responses"] == 3
        assert conn.metrics()["refused_tags"] == 2

    with_server(scenario)


def test_lost_server_raises_and_supervisor_reconnects_when_it_returns() -> None:
    tags = [{"tag": "f/far", "address": 150, "type": "uint16"}]
    batches: list[SampleBatch] = []

    async def sink(batch: SampleBatch) -> None:
        batches.append(batch)

    async def until(check: Callable[[], bool]) -> None:
        async with asyncio.timeout(8):
            while not check():
                await asyncio.sleep(0.02)

    def last_quality() -> int | None:
        return int(batches[-1].quality[0]) if batches else None

    async def main() -> None:
        port = free_port()
        server = await start_server(port)
        groups = [{"interval": "50ms", "table": "holding", "tags": tags}]
        conn = ModbusTcpConnector(spec(port, groups), IDS, clock=WallClock())
        sup = Supervisor(conn, sink, backoff_initial_s=0.05, backoff_max_s=0.2)
        task = asyncio.create_task(sup.run())
        try:
            await until(lambda: last_quality() == quality.GOOD)
            await stop_server(server)
            await until(lambda: last_quality() == quality.BAD_COMMUNICATION_ERROR)
            assert math.isnan(batches[-1].value[0])
            assert not sup.connected
            with pytest.raises(ConnectionError):
                await conn.collect()
            server = await start_server(port)
            await until(lambda: last_quality() == quality.GOOD)
            assert batches[-1].value[0] == 4321.0
            assert sup.reconnects >= 1
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await stop_server(server)

    asyncio.run(main())


def test_unknown_tag_path_raises_at_construction() -> None:
    groups = [
        {
            "interval": "1s",
            "table": "holding",
            "tags": [{"tag": "f/nope", "address": 1, "type": "int16"}],
        }
    ]
    with pytest.raises(ValueError, match="f/nope"):
        ModbusTcpConnector(spec(502, groups), IDS, clock=ManualClock(BASE_NS))


def test_yaml_shape_parses_with_defaults() -> None:
    text = """
kind: modbus-tcp
name: furnace-1-plc
host: 10.0.0.5
port: 502
unit: 1
timeout: 2s
poll_groups:
  - interval: 1s
    table: holding
    tags:
      - {tag: plant-a/heat-treat/furnace-line/furnace-1/zone_1_temperature,
         address: 100, type: float32, word_order: little, scale: 0.1}
"""
    parsed = ModbusTcpSpec.model_validate(yaml.safe_load(text))
    assert parsed.timeout == 2 * NS_PER_S
    group = parsed.poll_groups[0]
    assert (group.interval, group.table, group.max_gap) == (NS_PER_S, "holding", 8)
    assert group.fields()[0] == RegisterField(
        "plant-a/heat-treat/furnace-line/furnace-1/zone_1_temperature",
        100,
        "float32",
        word_order="little",
        scale=0.1,
    )


TAG = {"tag": "a/b", "address": 1, "type": "int16"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"poll_groups": [{"interval": "1s", "table": "register", "tags": [TAG]}]}, "table"),
        (
            {"poll_groups": [{"interval": "1 sec", "table": "holding", "tags": [TAG]}]},
            "not a duration",
        ),
        ({"poll_groups": [{"interval": 5, "table": "holding", "tags": [TAG]}]}, "with its unit"),
        ({"timeout": "0s"}, "positive"),
        ({"retries": -1}, "greater than or equal to 0"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
        (
            {"poll_groups": [{"interval": "1s", "table": "holding", "tags": [TAG | {"unit": 2}]}]},
            "Extra inputs",
        ),
        (
            {
                "poll_groups": [
                    {"interval": "1s", "table": "holding", "tags": [{"tag": "a/b", "address": 1}]}
                ]
            },
            "type is required",
        ),
        (
            {"poll_groups": [{"interval": "1s", "table": "coil", "tags": [TAG]}]},
            "type must be bool",
        ),
        (
            {"poll_groups": [{"interval": "1s", "table": "holding", "tags": [TAG | {"scale": 0}]}]},
            "scale",
        ),
        (
            {"poll_groups": [{"interval": "1s", "table": "holding", "tags": [TAG, TAG]}]},
            "more than once",
        ),
        ({"poll_groups": []}, "at least 1"),
    ],
)
def test_spec_validation_errors(change: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "kind": "modbus-tcp",
        "name": "plc",
        "host": "10.0.0.5",
        "poll_groups": [{"interval": "1s", "table": "holding", "tags": [TAG]}],
    }
    with pytest.raises(ValidationError, match=message):
        ModbusTcpSpec.model_validate(base | change)


def test_tag_ids_cover_every_tag_in_spec_order() -> None:
    conn = ModbusTcpConnector(spec(502, [holding_group("2s")]), IDS, clock=ManualClock(BASE_NS))
    assert conn.tag_ids == [IDS[name] for name, *_rest in HOLDING_TAGS] + [IDS["f/running_bit"]]
    assert conn.interval_s == 2.0
    assert np.array_equal(np.sort(conn.tag_ids), np.unique(conn.tag_ids))


def test_a_device_that_accepts_but_never_answers_times_out_and_is_counted() -> None:
    """A TCP peer that takes the connection and then stays silent, like a hung PLC."""
    port = free_port()

    async def scenario() -> None:
        held: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # read nothing, answer nothing

        mute = await asyncio.start_server(silent, "127.0.0.1", port)
        connector = ModbusTcpConnector(spec(port, [holding_group()]), IDS, clock=ManualClock(0))
        try:
            await connector.connect()
            with pytest.raises(ModbusIOException):
                await connector.collect()
            assert connector.metrics()["timeouts"] == 1
            assert connector.metrics()["reads"] == 0
        finally:
            await connector.close()
            for writer in held:
                writer.close()
            mute.close()
            await mute.wait_closed()

    asyncio.run(asyncio.wait_for(scenario(), 30))
