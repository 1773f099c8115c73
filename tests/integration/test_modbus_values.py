"""Every value a Modbus device sends is kept, against real pymodbus servers on 127.0.0.1:
64-bit integers beyond 2**53 and strings arrive exact, a register map with a hole marks
only the hole Bad (logged once, counted) and recovers when the device gains the registers,
a restarted server restores every tag, and malformed answers are counted, not fatal."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S, ManualClock, WallClock
from plantos.edge.modbus import ModbusTcpConnector, ModbusTcpSpec
from plantos.edge.modbus.codec import RegisterField, encode_value
from plantos.edge.modbus.connector import BAD_DECODING_ERROR
from plantos.edge.supervisor import Supervisor
from tests.support.modbus_server import Holding, ModbusServer, ShortAnswerDevice

pytestmark = pytest.mark.timeout(30)

BASE_NS = 1_750_000_000_000_000_000
MAP_SIZE = 60

# tag, address, extra keys, value
EXACT_TAGS: list[tuple[str, int, dict[str, Any], int | str]] = [
    ("m/int64_big", 0, {"type": "int64"}, 2**53 + 1),
    ("m/int64_min", 4, {"type": "int64", "word_order": "little"}, -(2**63)),
    ("m/uint64_top", 8, {"type": "uint64"}, 2**64 - 2),
    ("m/uint64_small", 12, {"type": "uint64"}, 5),
    ("m/program", 16, {"type": "string", "length": 8}, "PRG-4711 Ä"),
    ("m/lot", 24, {"type": "string", "length": 3, "byte_order": "little"}, "L-42"),
    ("m/empty", 27, {"type": "string", "length": 2}, ""),
    ("m/uint32_scaled", 29, {"type": "uint32", "scale": 2**22}, (2**32 - 1) * 2**22),
]
IDS = {name: i + 1 for i, (name, *_rest) in enumerate(EXACT_TAGS)}


def field_of(name: str, address: int, extra: dict[str, Any]) -> RegisterField:
    return RegisterField(
        name, address, extra["type"], **{k: v for k, v in extra.items() if k != "type"}
    )


def exact_holding() -> list[int | None]:
    registers: list[int | None] = [0] * MAP_SIZE
    for name, address, extra, value in EXACT_TAGS:
        words = encode_value(field_of(name, address, extra), value)
        registers[address : address + len(words)] = words
    return registers


def expected(name: str) -> int | str:
    return next(value for tag, _, _, value in EXACT_TAGS if tag == name)


def spec(port: int, tags: list[dict[str, Any]], **extra: Any) -> ModbusTcpSpec:
    group = {"interval": "1s", "table": "holding", "max_gap": 20, "tags": tags}
    return ModbusTcpSpec.model_validate(
        {"kind": "modbus-tcp", "name": "m", "host": "127.0.0.1", "port": port}
        | {"timeout": "1s", "poll_groups": [group]}
        | extra
    )


def exact_spec(port: int) -> ModbusTcpSpec:
    return spec(port, [{"tag": n, "address": a} | x for n, a, x, _ in EXACT_TAGS])


def exact_values(batch: SampleBatch) -> dict[int, object]:
    """Each sample's value as the device meant it: text, exact int, or the float."""
    exact = batch.exact_column()
    return {
        int(t): exact[i] if exact[i] is not None else float(batch.value[i])
        for i, t in enumerate(batch.tag_id)
    }


def test_big_integers_and_strings_arrive_exact() -> None:
    async def main() -> None:
        async with ModbusServer(exact_holding()) as server:
            conn = ModbusTcpConnector(exact_spec(server.port), IDS, clock=ManualClock(BASE_NS))
            await conn.connect()
            try:
                batch = await conn.collect()
            finally:
                await conn.close()
        assert (batch.quality == quality.GOOD).all()
        got = exact_values(batch)
        for name, *_rest in EXACT_TAGS:
            want = expected(name)
            if isinstance(want, int) and abs(want) <= 2**53:
                assert got[IDS[name]] == float(want), name
            else:
                assert got[IDS[name]] == want and type(got[IDS[name]]) is type(want), name
        by_id = dict(zip(batch.tag_id.tolist(), batch.value.tolist(), strict=True))
        assert by_id[IDS["m/uint64_top"]] == float(2**64 - 2)  # nearest float alongside
        assert math.isnan(by_id[IDS["m/program"]])
        assert batch.exact_column()[batch.tag_id.tolist().index(IDS["m/uint64_small"])] is None

    asyncio.run(main())


def hole_holding() -> list[int | None]:
    """Registers 0..39 with a hole at 10..11; nothing from 40 on."""
    registers: list[int | None] = list(range(100, 140))
    registers[10] = registers[11] = None
    return registers


HOLE_TAGS = [
    {"tag": "h/a", "address": 8, "type": "uint16"},
    {"tag": "h/hole", "address": 10, "type": "uint16"},
    {"tag": "h/b", "address": 12, "type": "uint16"},
    {"tag": "h/c", "address": 20, "type": "uint16"},
    {"tag": "h/beyond", "address": 40, "type": "uint16"},
    {"tag": "h/d", "address": 30, "type": "uint16"},
]
HOLE_IDS = {t["tag"]: i + 100 for i, t in enumerate(HOLE_TAGS)}


def by_tag(batch: SampleBatch) -> dict[str, tuple[float, int]]:
    names = {v: k for k, v in HOLE_IDS.items()}
    return {
        names[int(t)]: (float(v), int(q))
        for t, v, q in zip(batch.tag_id, batch.value, batch.quality, strict=True)
    }


def test_a_hole_marks_only_its_tags_bad_logs_once_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(BASE_NS)
    caplog.set_level(logging.WARNING, logger="plantos.edge.modbus")

    async def main() -> None:
        server = ModbusServer(hole_holding())
        await server.start()
        conn = ModbusTcpConnector(
            spec(server.port, HOLE_TAGS, refused_retry="1m"), HOLE_IDS, clock=clock
        )
        await conn.connect()
        try:
            first = by_tag(await conn.collect())
            assert {n for n, (_v, q) in first.items() if q != quality.GOOD} == {
                "h/hole",
                "h/beyond",
            }
            assert first["h/hole"][1] == first["h/beyond"][1] == quality.BAD_OUT_OF_RANGE
            assert math.isnan(first["h/hole"][0])
            assert first["h/a"][0] == 108 and first["h/b"][0] == 112 and first["h/d"][0] == 130
            metrics = conn.metrics()
            assert metrics["refused_tags"] == 2
            assert metrics["refused_addresses"] == "holding 10, holding 40"
            assert metrics["block_splits"] >= 1
            refusals = [r.getMessage() for r in caplog.records if "refuses" in r.getMessage()]
            assert len(refusals) == 2
            assert any(
                "h/hole at holding 10" in m and "illegal data address" in m for m in refusals
            )

            reads_before = metrics["reads"]
            for second in range(1, 4):  # the split layout is kept: no bisection, no new log
                clock.advance_to(BASE_NS + second * NS_PER_S)
                again = by_tag(await conn.collect())
                assert {n: q for n, (_v, q) in again.items()} == {
                    n: q for n, (_v, q) in first.items()
                }
            pieces = (conn.metrics()["reads"] - reads_before) / 3
            assert pieces < metrics["reads"]  # fewer reads than the first, bisecting poll
            assert conn.metrics()["exception_responses"] == metrics["exception_responses"]
            assert len([r for r in caplog.records if "refuses" in r.getMessage()]) == 2

            await conn.close()  # the device restarts with the hole filled and more registers
            await server.stop()
            server.holding = list(range(100, 160))
            await server.start()
            await conn.connect()
            clock.advance_to(BASE_NS + 61 * NS_PER_S)  # past refused_retry: tried whole again
            healed = by_tag(await conn.collect())
            assert all(q == quality.GOOD for _v, q in healed.values())
            assert healed["h/hole"][0] == 110 and healed["h/beyond"][0] == 140
            assert conn.metrics()["refused_tags"] == 0
            assert conn.metrics()["refused_addresses"] == ""
            assert any("h/hole at holding 10 reads again" in r.getMessage() for r in caplog.records)
        finally:
            await conn.close()
            await server.stop()

    asyncio.run(main())


def test_a_device_refusing_every_address_of_a_lone_tag_gives_it_bad_without_asking_each_poll() -> (
    None
):
    clock = ManualClock(BASE_NS)

    async def main() -> None:
        async with ModbusServer(hole_holding()) as server:
            tags = [{"tag": "h/beyond", "address": 40, "type": "uint16"}]
            conn = ModbusTcpConnector(spec(server.port, tags), HOLE_IDS, clock=clock)
            await conn.connect()
            try:
                for second in range(3):
                    clock.advance_to(BASE_NS + second * NS_PER_S)
                    batch = await conn.collect()
                    assert batch.quality.tolist() == [quality.BAD_OUT_OF_RANGE]
                    assert batch.ts.tolist() == [BASE_NS + second * NS_PER_S]
            finally:
                await conn.close()
            assert conn.metrics()["reads"] == 1
            assert conn.metrics()["refused_tags"] == 1

    asyncio.run(main())


def test_a_restarted_server_restores_every_tag_whatever_its_type() -> None:
    batches: list[SampleBatch] = []

    async def sink(batch: SampleBatch) -> None:
        batches.append(batch)

    async def until(check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not check():
                await asyncio.sleep(0.02)

    def all_good() -> bool:
        return bool(batches) and bool((batches[-1].quality == quality.GOOD).all())

    async def main() -> None:
        server = ModbusServer(exact_holding())
        await server.start()
        groups_spec = exact_spec(server.port).model_copy(
            update={
                "poll_groups": [
                    exact_spec(server.port)
                    .poll_groups[0]
                    .model_copy(update={"interval": 50_000_000})
                ]
            }
        )
        conn = ModbusTcpConnector(groups_spec, IDS, clock=WallClock())
        sup = Supervisor(conn, sink, backoff_initial_s=0.05, backoff_max_s=0.2)
        task = asyncio.create_task(sup.run())
        try:
            await until(all_good)
            await server.stop()
            await until(
                lambda: (
                    bool(batches)
                    and bool((batches[-1].quality == quality.BAD_COMMUNICATION_ERROR).all())
                )
            )
            assert sorted(batches[-1].tag_id.tolist()) == sorted(IDS.values())
            await server.start()
            await until(all_good)
            got = exact_values(batches[-1])
            assert got[IDS["m/program"]] == "PRG-4711 Ä"
            assert got[IDS["m/uint64_top"]] == 2**64 - 2
            assert sorted(got) == sorted(IDS.values())
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await server.stop()

    asyncio.run(main())


def test_a_string_that_is_not_utf8_is_bad_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(BASE_NS)
    holding: Holding = [0x4F4B, 0xFFFE, 0x4142, 0, 7]
    tags = [
        {"tag": "s/ok", "address": 0, "type": "string", "length": 1},
        {"tag": "s/bad", "address": 1, "type": "string", "length": 1},
        {"tag": "s/ab", "address": 2, "type": "string", "length": 2},
        {"tag": "s/n", "address": 4, "type": "uint16"},
    ]
    ids = {"s/ok": 1, "s/bad": 2, "s/ab": 3, "s/n": 4}

    async def main() -> None:
        async with ModbusServer(holding) as server:
            conn = ModbusTcpConnector(spec(server.port, tags), ids, clock=clock)
            await conn.connect()
            try:
                first = await conn.collect()
                clock.advance_to(BASE_NS + NS_PER_S)
                second = await conn.collect()
            finally:
                await conn.close()
        for batch in (first, second):
            assert exact_values(batch) | {2: None} == {1: "OK", 2: None, 3: "AB", 4: 7.0}
            codes = dict(zip(batch.tag_id.tolist(), batch.quality.tolist(), strict=True))
            assert codes == {
                1: quality.GOOD,
                2: BAD_DECODING_ERROR,
                3: quality.GOOD,
                4: quality.GOOD,
            }
            assert math.isnan(batch.value[batch.tag_id.tolist().index(2)])
        assert conn.metrics()["undecodable_values"] == 2
        logged = [r.getMessage() for r in caplog.records if "s/bad" in r.getMessage()]
        assert len(logged) == 1 and "not UTF-8" in logged[0]

    asyncio.run(main())


def test_a_short_answer_spoils_only_the_tags_it_lacks_and_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tags = [
        {"tag": "s/first", "address": 0, "type": "uint16"},
        {"tag": "s/second", "address": 1, "type": "uint16"},
        {"tag": "s/last", "address": 4, "type": "float32"},
    ]
    ids = {"s/first": 1, "s/second": 2, "s/last": 3}

    async def main() -> None:
        async with ShortAnswerDevice([11, 22]) as device:
            conn = ModbusTcpConnector(spec(device.port, tags), ids, clock=ManualClock(BASE_NS))
            await conn.connect()
            try:
                batch = await conn.collect()
            finally:
                await conn.close()
        codes = dict(zip(batch.tag_id.tolist(), batch.quality.tolist(), strict=True))
        assert codes == {1: quality.GOOD, 2: quality.GOOD, 3: BAD_DECODING_ERROR}
        assert batch.value.tolist()[:2] == [11.0, 22.0]
        assert conn.metrics()["short_answers"] == 1
        assert any("answered 2 of 6 registers" in r.getMessage() for r in caplog.records)

    asyncio.run(main())
