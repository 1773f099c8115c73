"""MTConnect values kept whatever their type, against the test agent over HTTP: text events
(program, part id, controller mode) arrive as text, a part count beyond 2**53 exact,
UNAVAILABLE as a Bad sample, and after the agent was away every tag gets its value back,
text and exact integers included, under the real supervisor."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable

import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.mtconnect import MTConnectClient
from plantos.edge.mtconnect.connector import MTConnectConnector, MTConnectSpec
from plantos.edge.supervisor import Supervisor
from tests.support.mtconnect_agent import ITEMS, TEXT_ITEMS, Agent, AgentServer

pytestmark = pytest.mark.timeout(60)

BASE_NS = 1_750_000_000_000_000_000
MAPPING = {"program": 1, "partid": 2, "mode": 3, "pcount": 4, "Xact": 5, "temp_cond": 6}
BIG_COUNT = 2**53 + 1


def latest(batches: list[SampleBatch]) -> dict[int, tuple[object, int]]:
    """Each tag's newest sample as (value as the device meant it, quality)."""
    out: dict[int, tuple[object, int]] = {}
    for batch in batches:
        exact = batch.exact_column()
        for i, tag in enumerate(batch.tag_id.tolist()):
            value = exact[i] if exact[i] is not None else float(batch.value[i])
            out[tag] = (value, int(batch.quality[i]))
    return out


def machine_state(agent: Agent) -> None:
    agent.add("program", "O1234 ROUGHING", BASE_NS)
    agent.add("partid", "12345", BASE_NS + 1)  # looks like a number, is a part id
    agent.add("mode", "AUTOMATIC", BASE_NS + 2)
    agent.add("pcount", BIG_COUNT, BASE_NS + 3)
    agent.add("Xact", 12.5, BASE_NS + 4)
    agent.add("temp_cond", "Warning", BASE_NS + 5)


def test_text_events_arrive_as_text_counts_exact_and_unavailable_as_bad() -> None:
    agent = Agent(buffer_size=1000, items=ITEMS + TEXT_ITEMS)

    async def run() -> list[SampleBatch]:
        async with MTConnectClient(server.url, mapping=MAPPING) as mtc:
            first = await mtc.poll()
            machine_state(agent)
            second = await mtc.poll()
            for item in ("program", "pcount"):
                agent.add(item, "UNAVAILABLE", BASE_NS + 10)
            third = await mtc.poll()
            assert mtc.metrics["non_numeric"] == mtc.metrics["unmapped_states"] == 0
            return [first, second, third]

    with AgentServer(agent) as server:
        first, second, third = asyncio.run(run())
    # /current of a fresh agent: every mapped item UNAVAILABLE, each a Bad sample
    assert sorted(first.tag_id.tolist()) == sorted(MAPPING.values())
    assert (first.quality == quality.BAD_NO_COMMUNICATION).all()
    assert latest([second]) == {
        1: ("O1234 ROUGHING", quality.GOOD),
        2: ("12345", quality.GOOD),
        3: ("AUTOMATIC", quality.GOOD),
        4: (BIG_COUNT, quality.GOOD),
        5: (12.5, quality.GOOD),
        6: ("WARNING", quality.GOOD),
    }
    assert second.value[second.tag_id.tolist().index(4)] == float(BIG_COUNT)
    assert math.isnan(second.value[second.tag_id.tolist().index(1)])
    assert third.tag_id.tolist() == [1, 4]
    assert (third.quality == quality.BAD_NO_COMMUNICATION).all()
    assert third.exact is None and all(math.isnan(v) for v in third.value.tolist())


def test_a_number_item_sending_text_delivers_it_counted_and_a_forced_type_wins() -> None:
    agent = Agent(buffer_size=1000, items=ITEMS + TEXT_ITEMS)

    async def run() -> tuple[SampleBatch, dict[str, int]]:
        async with MTConnectClient(
            server.url,
            mapping={"Xact": 5, "partid": 2},
            value_types={"partid": "number"},
        ) as mtc:
            await mtc.poll()
            agent.add("Xact", "1.0 2.0 3.0", BASE_NS)  # a three-space sample
            agent.add("partid", "4711", BASE_NS + 1)
            return await mtc.poll(), mtc.metrics

    with AgentServer(agent) as server:
        batch, metrics = asyncio.run(run())
    assert latest([batch]) == {5: ("1.0 2.0 3.0", quality.GOOD), 2: (4711.0, quality.GOOD)}
    assert metrics["non_numeric"] == 1


def test_after_an_outage_every_tag_gets_its_value_back_whatever_its_type() -> None:
    agent = Agent(buffer_size=1000, items=ITEMS + TEXT_ITEMS)
    server = AgentServer(agent)
    server.start()
    machine_state(agent)
    tags = {f"s/a/l/m/{item}": tag for item, tag in MAPPING.items()}
    spec = MTConnectSpec.model_validate(
        {
            "kind": "mtconnect",
            "name": "mill",
            "url": server.url,
            "interval": "50ms",
            "items": [{"tag": f"s/a/l/m/{item}", "data_item": item} for item in MAPPING],
        }
    )
    received: list[SampleBatch] = []

    async def sink(batch: SampleBatch) -> None:
        received.append(batch)

    connector = MTConnectConnector(spec, tags)
    supervisor = Supervisor(
        connector, sink, backoff_initial_s=0.05, backoff_max_s=0.2, rng=random.Random(0)
    )

    async def until(check: Callable[[], bool], timeout_s: float = 20) -> None:
        async with asyncio.timeout(timeout_s):
            while not check():
                await asyncio.sleep(0.02)

    def every_tag(code: int) -> bool:
        now = latest(received)
        return len(now) == len(MAPPING) and all(q == code for _v, q in now.values())

    async def main() -> dict[int, tuple[object, int]]:
        task = asyncio.create_task(supervisor.run())
        try:
            await until(lambda: every_tag(quality.GOOD))
            before = latest(received)
            server.stop()
            await until(lambda: every_tag(quality.BAD_COMMUNICATION_ERROR))
            agent.add("Xact", 13.0, BASE_NS + 100)  # one item changes while away
            server.start()
            await until(lambda: every_tag(quality.GOOD))
            after = latest(received)
            assert after == before | {5: (13.0, quality.GOOD)}
            assert connector.metrics()["restated"] == len(MAPPING) - 1
            return after
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        after = asyncio.run(main())
    finally:
        server.stop()
    assert after[1] == ("O1234 ROUGHING", quality.GOOD)
    assert after[4] == (BIG_COUNT, quality.GOOD)
    xs = [
        float(v)
        for b in received
        for t, v, q in zip(b.tag_id, b.value, b.quality, strict=True)
        if t == 5 and q == quality.GOOD
    ]
    assert xs == [12.5, 13.0]  # restating the others repeated nothing of X
