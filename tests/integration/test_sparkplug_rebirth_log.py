"""How loud a rebirth request is: a host that starts after its edge nodes (every plant
start, the live demo's too) asks each for its birth once, which is normal and logged at
INFO; a request repeated because the node did not answer, or for a node that was born
and died before, is a WARNING. Against a real Mosquitto broker."""

from __future__ import annotations

import asyncio
import logging

import pytest

from plantos.core.clock import ManualClock
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug.host import SparkplugHost
from tests.integration.test_sparkplug_host import (
    BASE_MS,
    BASE_NS,
    RUNNING,
    EdgeNode,
    expect_rebirth,
    has,
    tag_map,
    temp,
)
from tests.support.mosquitto import Broker
from tests.support.waiting import gather, until

pytestmark = pytest.mark.timeout(30)

RETRY_S = 0.2


def rebirth_logs(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """``(level, message)`` of every rebirth request logged so far."""
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if "requested a rebirth" in r.getMessage()
    ]


def test_the_first_request_to_an_unseen_node_is_info_and_later_ones_warn(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        host = SparkplugHost(
            server=MqttServer(broker.host, broker.port),
            host_id="h-quiet",
            group_filter="GQ",
            tag_map=tag_map("GQ"),
            clock=ManualClock(BASE_NS),
            interval_s=0.05,
            rebirth_retry_s=RETRY_S,
        )
        await host.connect()
        edge = EdgeNode(broker, "GQ", bdseq=1)
        try:
            # the node was up before the host: its data comes first
            edge.data(BASE_MS, [temp(value=1.0)], seq=7)
            expect_rebirth(edge)
            await until(lambda: len(rebirth_logs(caplog)) == 1)
            [(level, message)] = rebirth_logs(caplog)
            assert level == "INFO" and "GQ/E1: no birth seen" in message, message

            # it does not answer: the repeated request warns
            await asyncio.sleep(RETRY_S * 2)
            edge.data(BASE_MS + 100, [temp(value=2.0)], seq=8)
            expect_rebirth(edge)
            await until(lambda: len(rebirth_logs(caplog)) == 2)
            assert rebirth_logs(caplog)[1][0] == "WARNING"

            # born, then dead: data without a new birth is unexpected and warns at once
            edge.birth(BASE_MS + 200)
            await gather(host, has(RUNNING))
            edge.death(1, BASE_MS + 300)
            await until(lambda: host.metrics()["node_deaths"] == 1)
            edge.data(BASE_MS + 400, [temp(value=3.0)], seq=1)
            expect_rebirth(edge)
            await until(lambda: len(rebirth_logs(caplog)) == 3)
            assert rebirth_logs(caplog)[2][0] == "WARNING"
            assert host.metrics()["rebirths_requested"] == 3
        finally:
            edge.stop()
            await host.close()

    with caplog.at_level(logging.INFO, logger="plantos.edge.sparkplug"):
        asyncio.run(main())
