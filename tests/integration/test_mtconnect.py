"""The MTConnect client against a real MTConnect agent over HTTP: paging through the
sequence without loss or duplicates, agent restarts, buffer overruns, UNAVAILABLE values,
enumerated events, hostile documents and an agent that is down."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.mtconnect import (
    DataItemInfo,
    MTConnectClient,
    MTConnectError,
    parse_error,
    parse_probe,
    parse_streams,
)
from tests.support.mtconnect_agent import ITEMS, Agent, AgentServer

pytestmark = pytest.mark.timeout(30)

X, SPEED, EXEC, TEMP = 1, 2, 3, 4
BASE_NS = 1_750_000_000_000_000_000
Step = Callable[[], object] | None


@pytest.fixture
def agent() -> Agent:
    return Agent(buffer_size=1000)


@pytest.fixture
def server(agent: Agent) -> Iterator[AgentServer]:
    with AgentServer(agent) as running:
        yield running


def client(
    server: AgentServer,
    *,
    mapping: dict[str, int] | None = None,
    enums: dict[str, dict[str, int]] | None = None,
    count: int = 1000,
    max_bytes: int = 1 << 20,
) -> MTConnectClient:
    mapping = {"Xact": X, "Sspeed": SPEED} if mapping is None else mapping
    return MTConnectClient(
        server.url, mapping=mapping, enums=enums, count=count, max_bytes=max_bytes
    )


def poll_after(mtc: MTConnectClient, *steps: Step) -> list[SampleBatch]:
    """One poll after each step (None: no step), all on one event loop and one HTTP client."""

    async def run() -> list[SampleBatch]:
        async with mtc:
            batches = []
            for step in steps:
                if step is not None:
                    step()
                batches.append(await mtc.poll())
            return batches

    return asyncio.run(run())


def x_values(n: int, start: int = 0) -> list[float]:
    return [(start + i) / 4 for i in range(n)]


def add_x(agent: Agent, n: int, start: int = 0) -> None:
    for i, value in enumerate(x_values(n, start)):
        agent.add("Xact", value, BASE_NS + (start + i) * 1_000_000)


def by_tag(batch: SampleBatch) -> dict[int, tuple[float, int]]:
    return {
        t: (v, q)
        for t, v, q in zip(
            batch.tag_id.tolist(), batch.value.tolist(), batch.quality.tolist(), strict=True
        )
    }


def test_probe_lists_every_data_item_with_its_components(server: AgentServer) -> None:
    async def run() -> list[DataItemInfo]:
        async with client(server) as mtc:
            return await mtc.probe()

    items = {i.id: i for i in asyncio.run(run())}
    assert set(items) == {i.id for i in ITEMS}
    x = items["Xact"]
    assert (x.category, x.type, x.sub_type, x.units) == (
        "SAMPLE",
        "POSITION",
        "ACTUAL",
        "MILLIMETER",
    )
    assert (x.device, x.component_path) == ("mill-1", ("base", "X"))
    assert items["avail"].component_path == ()
    assert items["temp_cond"].category == "CONDITION"


def test_paging_past_count_loses_and_repeats_nothing(agent: Agent, server: AgentServer) -> None:
    mtc = client(server, count=40)
    first, second = poll_after(mtc, None, lambda: add_x(agent, 250))
    # the first poll reads /current, where both mapped items are still UNAVAILABLE
    assert all(math.isnan(v) for v in first.value.tolist())
    assert first.quality.tolist() == [quality.BAD_NO_COMMUNICATION] * 2
    assert second.value.tolist() == x_values(250)
    assert second.ts.tolist() == [BASE_NS + i * 1_000_000 for i in range(250)]
    assert mtc.position is not None and mtc.position.next_sequence == agent.next_sequence
    m = mtc.metrics
    assert (m["polls"], m["samples"], m["lost_observations"], m["restarts"]) == (2, 252, 0, 0)
    assert m["observations"] == len(ITEMS) + 250


def test_unavailable_becomes_bad_no_communication(agent: Agent, server: AgentServer) -> None:
    mtc = client(server, mapping={"Xact": X, "temp_cond": TEMP}, enums={"temp_cond": {"FAULT": 2}})

    def good() -> None:
        agent.add("Xact", 1.5)
        agent.add("temp_cond", "Fault")

    def unavailable() -> None:
        agent.add("Xact", "UNAVAILABLE")
        agent.add("temp_cond", "Unavailable")

    _, before, after = poll_after(mtc, None, good, unavailable)
    assert by_tag(before) == {X: (1.5, quality.GOOD), TEMP: (2.0, quality.GOOD)}
    assert after.quality.tolist() == [quality.BAD_NO_COMMUNICATION] * 2
    assert np.isnan(after.value).all()
    assert quality.severity(quality.BAD_NO_COMMUNICATION) == "bad"


def test_enum_states_map_and_an_unlisted_state_arrives_as_text_and_is_counted(
    agent: Agent, server: AgentServer, caplog: pytest.LogCaptureFixture
) -> None:
    mtc = client(server, mapping={"exec": EXEC}, enums={"exec": {"READY": 1, "ACTIVE": 3}})

    def states() -> None:
        for state in ("ACTIVE", "READY", "INTERRUPTED", "ACTIVE", "INTERRUPTED"):
            agent.add("exec", state)
        agent.add("pcount", 12)  # not mapped: no sample

    _, batch = poll_after(mtc, None, states)
    assert batch.exact_column().tolist() == [None, None, "INTERRUPTED", None, "INTERRUPTED"]
    assert batch.value.tolist()[:2] == [3.0, 1.0] and batch.value[3] == 3.0
    assert (batch.quality == quality.GOOD).all()  # the gate judges the text against the tag
    assert mtc.metrics["unmapped_states"] == 2
    logged = [r.getMessage() for r in caplog.records if "INTERRUPTED" in r.getMessage()]
    assert len(logged) == 1 and "exec" in logged[0]


@pytest.mark.parametrize(
    "after_restart", [1, 120], ids=["sequence-goes-back", "sequence-passes-old"]
)
def test_agent_restart_is_detected_and_read_from_current(
    agent: Agent, server: AgentServer, after_restart: int
) -> None:
    mtc = client(server)
    old_instance = agent.instance_id

    def restart() -> None:
        add_x(agent, 20)
        agent.restart()
        add_x(agent, after_restart, start=1000)

    _, batch = poll_after(mtc, None, restart)
    assert mtc.metrics["restarts"] == 1
    assert mtc.position is not None and mtc.position.instance_id == old_instance + 1
    assert mtc.position.next_sequence == agent.next_sequence
    # /current of the new instance: the latest X position; Sspeed still UNAVAILABLE
    latest = by_tag(batch)
    assert latest[X] == ((1000 + after_restart - 1) / 4, quality.GOOD)
    assert latest[SPEED][1] == quality.BAD_NO_COMMUNICATION


def test_falling_behind_the_buffer_counts_exactly_the_lost_observations(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = Agent(buffer_size=64)
    with AgentServer(agent) as server:
        mtc = client(server, count=50)
        # the first poll leaves the client at sequence 7 (after 6 initial UNAVAILABLEs);
        # 100 more take sequences 7..106, of which the buffer keeps 43..106
        with caplog.at_level(logging.WARNING, logger="plantos.edge.mtconnect.client"):
            _, batch = poll_after(mtc, None, lambda: add_x(agent, 100))
    assert agent.first_sequence == 43
    assert mtc.metrics["lost_observations"] == 36
    assert batch.value.tolist() == x_values(100)[36:]
    assert "36 observations (sequences 7..42)" in caplog.text


def test_agent_down_raises_clearly_and_keeps_the_position(
    agent: Agent, server: AgentServer
) -> None:
    mtc = client(server)

    async def run() -> SampleBatch:
        async with mtc:
            await mtc.poll()
            add_x(agent, 5)
            kept = mtc.position
            server.stop()
            with pytest.raises(MTConnectError, match=f"Cannot read {server.url}/sample"):
                await mtc.poll()
            assert mtc.position == kept
            server.start()
            return await mtc.poll()

    assert asyncio.run(run()).value.tolist() == x_values(5)
    assert mtc.metrics["polls"] == 3


DOCTYPE_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<MTConnectStreams><Header instanceId="1" firstSequence="1" lastSequence="1" nextSequence="2"
 creationTime="2024-01-01T00:00:00Z"/><Streams>&lol2;</Streams></MTConnectStreams>"""


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"<MTConnectStreams><Header", "not well-formed"),
        (DOCTYPE_BOMB, "DOCTYPE"),
        (
            b"<MTConnectStreams>" + b" " * 5000 + b"</MTConnectStreams>",
            "more than the 4096 bytes allowed",
        ),
        (
            b'<MTConnectStreams><Header instanceId="1" firstSequence="1"/></MTConnectStreams>',
            "no lastSequence",
        ),
        (b"<html>proxy login</html>", "got 'html'"),
    ],
    ids=["malformed", "doctype-bomb", "oversized", "missing-header-attribute", "not-mtconnect"],
)
def test_hostile_or_broken_documents_raise(
    agent: Agent, server: AgentServer, raw: bytes, message: str
) -> None:
    agent.raw = raw
    mtc = client(server, max_bytes=4096)
    with pytest.raises(MTConnectError, match=message):
        poll_after(mtc, None)
    assert mtc.position is None
    with pytest.raises(MTConnectError, match=message):
        parse_streams(raw, max_bytes=4096)


def test_documents_parse_whatever_the_namespace() -> None:
    streams = parse_streams(
        b"""<m:MTConnectStreams xmlns:m="urn:mtconnect.org:MTConnectStreams:1.3">
        <m:Header creationTime="2024-01-01T00:00:00Z" instanceId="9" firstSequence="5"
          lastSequence="8" nextSequence="9"/>
        <m:Streams><m:DeviceStream name="d" uuid="u">
          <m:ComponentStream component="Path" componentId="p">
            <m:Events><m:Execution dataItemId="e" sequence="8"
              timestamp="2024-01-01T00:00:01.5+01:00">ACTIVE</m:Execution></m:Events>
            <m:Samples><m:Load dataItemId="l" sequence="6"
              timestamp="2024-01-01T00:00:01Z">UNAVAILABLE</m:Load></m:Samples>
        </m:ComponentStream></m:DeviceStream></m:Streams></m:MTConnectStreams>"""
    )
    assert streams.header.instance_id == 9 and streams.header.next_sequence == 9
    assert [(o.sequence, o.value, o.category) for o in streams.observations] == [
        (6, None, "SAMPLE"),
        (8, "ACTIVE", "EVENT"),
    ]
    expected_ns = np.datetime64("2023-12-31T23:00:01.5", "ns").astype(np.int64)
    assert streams.observations[1].timestamp_ns == int(expected_ns)
    error = parse_error(
        b'<MTConnectError><Error errorCode="OUT_OF_RANGE">too old</Error></MTConnectError>'
    )
    assert error.has("OUT_OF_RANGE") and error.instance_id is None
    assert parse_probe(b"<MTConnectDevices><Header/><Devices/></MTConnectDevices>") == []


def test_a_page_size_the_agent_refuses_is_halved_until_accepted() -> None:
    small = Agent(buffer_size=100)
    with AgentServer(small) as running:
        mtc = client(running, count=1000)
        batches = poll_after(mtc, None, lambda: add_x(small, 90))
    assert batches[1].value.tolist() == x_values(90)
    assert mtc.metrics["count_reduced"] == 4  # 1000 -> 500 -> 250 -> 125 -> 62
