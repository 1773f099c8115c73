"""An MTConnect agent under supervision: an outage shorter than the agent's buffer loses no
observation, and the tags say 'bad' while the agent is away."""

from __future__ import annotations

import asyncio
import random

import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.mtconnect.connector import MTConnectConnector, MTConnectSpec
from plantos.edge.supervisor import Supervisor
from tests.support.mtconnect_agent import Agent, AgentServer

pytestmark = pytest.mark.timeout(60)

TAGS = {"s/a/l/m/x": 11, "s/a/l/m/speed": 12}
BASE_NS = 1_750_000_000_000_000_000


def spec(url: str) -> MTConnectSpec:
    return MTConnectSpec.model_validate(
        {
            "kind": "mtconnect",
            "name": "mill",
            "url": url,
            "interval": "50ms",
            "count": 7,
            "items": [
                {"tag": "s/a/l/m/x", "data_item": "Xact"},
                {"tag": "s/a/l/m/speed", "data_item": "Sspeed"},
            ],
        }
    )


def test_an_outage_loses_nothing_and_shows_as_bad_quality() -> None:
    agent = Agent(buffer_size=1000)
    server = AgentServer(agent)
    server.start()
    received: list[SampleBatch] = []

    async def sink(batch: SampleBatch) -> None:
        received.append(batch)

    connector = MTConnectConnector(spec(server.url), TAGS)
    supervisor = Supervisor(
        connector, sink, backoff_initial_s=0.05, backoff_max_s=0.2, rng=random.Random(0)
    )

    def xs() -> list[float]:
        return [
            v
            for b in received
            for t, v, q in zip(b.tag_id, b.value, b.quality, strict=True)
            if t == 11 and q == quality.GOOD
        ]

    async def until(check, timeout_s: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not check():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def main() -> None:
        task = asyncio.create_task(supervisor.run())
        try:
            await until(lambda: supervisor.connected and received)
            for i in range(20):
                agent.add("Xact", float(i), BASE_NS + i * 1_000_000)
            await until(lambda: 19.0 in xs())
            server.stop()
            for i in range(20, 50):  # observed by the agent while PlantOS cannot reach it
                agent.add("Xact", float(i), BASE_NS + i * 1_000_000)
            await until(lambda: supervisor.errors >= 1)
            await until(
                lambda: any((b.quality == quality.BAD_COMMUNICATION_ERROR).all() for b in received)
            )
            server.start()
            await until(lambda: 49.0 in xs())
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(main())
    finally:
        server.stop()
    values = [v for v in xs() if v == v]  # the initial UNAVAILABLE is NaN
    assert values == [float(i) for i in range(50)]  # every observation, once, in order
    assert supervisor.reconnects >= 1


def test_a_spec_naming_an_unknown_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tags s/a/l/m/nope"):
        MTConnectConnector(
            spec("http://127.0.0.1:1").model_copy(
                update={
                    "items": [spec("http://x").items[0].model_copy(update={"tag": "s/a/l/m/nope"})]
                }
            ),
            TAGS,
        )


PLANT = """\
plantos: 1
enterprise: {id: testco}
asset_types:
  mill:
    tags:
      - {signal: x, unit: mm}
sites:
  - id: s
    areas: [{id: a, lines: [{id: l, assets: [{id: m, type: mill}]}]}]
connectors:
  - kind: mtconnect
    name: mill-agent
    url: URL
    interval: 100ms
    items: [{tag: s/a/l/m/x, data_item: Xact}]
"""


def test_a_plant_file_connector_feeds_the_historian_and_reports_itself(tmp_path) -> None:
    import httpx

    from tests.support.server import running_server, wait_until

    agent = Agent(buffer_size=1000)
    with (
        AgentServer(agent) as agent_server,
        running_server(tmp_path, PLANT.replace("URL", agent_server.url)) as server,
    ):
        [mill_supervisor] = server.platform.connectors
        wait_until(lambda: mill_supervisor.samples >= 1, "the first poll (from /current)")
        for i in range(10):
            agent.add("Xact", float(i), BASE_NS + i * 1_000_000)
        wait_until(lambda: server.platform.writer.acked_rows >= 11, "samples in the historian")
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        body = httpx.get(f"{server.url}/api/v1/connectors", headers=headers).json()
        [mill] = body["connectors"]
        assert mill["connector"] == "mill-agent" and mill["connected"] is True
        assert mill["samples"] >= 11 and mill["errors"] == 0
        metrics = httpx.get(f"{server.url}/metrics", headers=headers).text
        assert 'plantos_connector_connected{connector="mill-agent"} 1.0' in metrics
        raw = httpx.get(
            f"{server.url}/api/v1/tags/s/a/l/m/x/samples",
            params={"from": str(BASE_NS - 10**9), "to": str(BASE_NS + 10**9)},
            headers=headers,
        ).json()
        assert raw["value"] == [float(i) for i in range(10)]
