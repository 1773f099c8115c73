"""The Sparkplug B host against an edge node of another stack: pysparkplug, in its own
process (see tests/support/pysparkplug_peer.py), through a private Mosquitto. Text,
Int64 beyond 2**53, UInt64 2**64-1, Booleans, DateTime and Doubles arrive exact; a
rebirth repeating values with their original timestamps stores nothing twice once
through the ingest gate; a restarted edge node brings every tag back."""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.normalise import Normaliser
from plantos.edge.sparkplug.host import SparkplugHost
from tests.support.mosquitto import Broker
from tests.support.pysparkplug_peer import MetricSpec, PeerNode
from tests.support.waiting import gather

pytestmark = pytest.mark.timeout(120)

GROUP, NODE = "Plant", "Cell7"
PROGRAM, BIG, UBIG, RUNNING, TEMP, STARTED, BLOB = range(1, 8)
NAMES = {
    "Line/Program": PROGRAM,
    "Line/Parts": BIG,
    "Line/Total": UBIG,
    "Line/Running": RUNNING,
    "Line/Temperature": TEMP,
    "Line/Started": STARTED,
    "Line/Raw": BLOB,
}


def specs(ts_ms: int, program: str = "P-100 \u00e9tape 2") -> list[MetricSpec]:
    return [
        ("Line/Program", "STRING", program, ts_ms),
        ("Line/Parts", "INT64", 2**53 + 1, ts_ms),
        ("Line/Total", "UINT64", 2**64 - 1, ts_ms),
        ("Line/Running", "BOOLEAN", True, ts_ms),
        ("Line/Temperature", "DOUBLE", 21.5, ts_ms),
        ("Line/Started", "DATETIME", ts_ms - 60_000, ts_ms),
    ]


def host_for(broker: Broker, host_id: str) -> SparkplugHost:
    return SparkplugHost(
        server=MqttServer(broker.host, broker.port),
        host_id=host_id,
        group_filter=GROUP,
        tag_map={(GROUP, NODE, None, name): tag for name, tag in NAMES.items()},
        clock=WallClock(),
        interval_s=0.05,
        log_interval_s=0.0,
    )


def latest(batch: SampleBatch, tag: int) -> tuple[int, object, int]:
    """(ts, exact value or float, quality) of the tag's last sample."""
    i = int(np.flatnonzero(batch.tag_id == tag)[-1])
    exact = batch.exact_column()[i]
    return (
        int(batch.ts[i]),
        float(batch.value[i]) if exact is None else exact,
        int(batch.quality[i]),
    )


def has_all(batch: SampleBatch) -> bool:
    return set(NAMES.values()) - {BLOB} <= set(batch.tag_id.tolist())


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_every_scalar_type_arrives_exact(broker: Broker) -> None:
    async def run() -> None:
        host = host_for(broker, "types")
        await host.connect()
        ts = now_ms()
        node = PeerNode(broker.host, broker.port, GROUP, NODE, specs(ts))
        try:
            b = await gather(host, has_all)
            ns = ts * 1_000_000
            assert latest(b, PROGRAM) == (ns, "P-100 \u00e9tape 2", quality.GOOD)
            assert latest(b, BIG) == (ns, 2**53 + 1, quality.GOOD)
            assert latest(b, UBIG) == (ns, 2**64 - 1, quality.GOOD)
            assert latest(b, RUNNING) == (ns, 1.0, quality.GOOD)
            assert latest(b, TEMP) == (ns, 21.5, quality.GOOD)
            assert latest(b, STARTED) == (ns, float(ts - 60_000), quality.GOOD)  # epoch ms
            # data after the birth, by name as pysparkplug sends it: a huge string too
            huge = "L" * 200_000
            node.update(
                [
                    ("Line/Program", "STRING", huge, ts + 5),
                    ("Line/Parts", "INT64", -(2**63), ts + 5),
                ]
            )
            b = await gather(host, lambda b: len(b) >= 2)
            assert latest(b, PROGRAM)[1] == huge
            assert latest(b, BIG)[1] == -(2**63)
            assert host.metrics()["non_numeric"] == 0 and host.metrics()["malformed"] == 0
        finally:
            node.stop()
            await host.close()

    asyncio.run(run())


def test_a_value_no_tag_can_hold_is_counted_and_logged_by_name(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> None:
        host = host_for(broker, "bytes")
        await host.connect()
        ts = now_ms()
        node = PeerNode(
            broker.host, broker.port, GROUP, NODE, [*specs(ts), ("Line/Raw", "BYTES", "", ts)]
        )
        try:
            await gather(host, has_all)
            assert host.metrics()["non_numeric"] >= 1
        finally:
            node.stop()
            await host.close()

    with caplog.at_level(logging.WARNING):
        asyncio.run(run())
    assert "Line/Raw (Bytes)" in caplog.text


def test_a_rebirth_stores_no_duplicate_and_a_restart_restores_every_tag(broker: Broker) -> None:
    async def run() -> None:
        host = host_for(broker, "rebirth")
        gate = Normaliser(np.array(sorted(NAMES.values())), clock=WallClock())
        await host.connect()
        ts = now_ms()
        node = PeerNode(broker.host, broker.port, GROUP, NODE, specs(ts))
        stored: list[SampleBatch] = []
        try:
            stored.append(gate(await gather(host, has_all)))
            node.update([("Line/Temperature", "DOUBLE", 22.5, ts + 10)])
            stored.append(gate(await gather(host, lambda b: 22.5 in b.value)))
            # a rebirth: NDEATH, then NBIRTH repeating every value with its timestamp
            births = host.metrics()["edge_nodes_online"], host.metrics()["restated"]
            node.rebirth()
            # pysparkplug's clean disconnect sends an NDEATH (QoS 0) that may or may not
            # arrive: with it, the birth brings the tags back from BadNoCommunication;
            # without, the host itself drops the unchanged repeats (``restated``)
            reborn = await gather(
                host,
                lambda b: has_all(b) or host.metrics()["restated"] >= births[1] + len(NAMES) - 1,
            )
            stored.append(gate(reborn))
            if TEMP in reborn.tag_id:
                assert latest(reborn, TEMP) == ((ts + 10) * 1_000_000, 22.5, quality.GOOD)
            # a restart of the edge node process: every tag comes back Good
            node.kill()
            node = PeerNode(broker.host, broker.port, GROUP, NODE, specs(ts + 20, "P-200"))
            restarted = await gather(host, has_all)
            stored.append(gate(restarted))
            for tag in set(NAMES.values()) - {BLOB}:
                assert latest(restarted, tag)[2] == quality.GOOD
            assert latest(restarted, PROGRAM)[1] == "P-200"
        finally:
            node.stop()
            await host.close()
        rows = SampleBatch.concat(stored)
        good = rows.quality == quality.GOOD
        keys = list(zip(rows.tag_id[good].tolist(), rows.ts[good].tolist(), strict=True))
        assert len(keys) == len(set(keys)), "a value was stored twice"

    asyncio.run(run())
