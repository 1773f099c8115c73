"""A waveform written sample by sample over OPC UA arrives whole even where it is flat:
with ``trigger: status-value-timestamp`` every new SourceTimestamp is a notification,
while the default (status and value) drops a value equal to the one before."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import ua
from asyncua.server.server import Server

from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.opcua import OpcUaConnector, OpcUaSpec
from tests.support.ports import free_port

WAVE = "s/a/l/cnc-01/spindle_vibration_waveform"
FLAT = "s/a/l/cnc-01/spindle_vibration_flat"
SAMPLES = 64
T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


async def collect(conn: OpcUaConnector, want: int, timeout_s: float = 5.0) -> SampleBatch:
    got: list[SampleBatch] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got.append(await conn.collect())
        if len(SampleBatch.concat(got)) >= want:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # anything beyond ``want`` would show up now
    got.append(await conn.collect())
    return SampleBatch.concat(got)


def test_a_flat_snapshot_arrives_whole_only_with_the_timestamp_trigger() -> None:
    async def body() -> None:
        url = f"opc.tcp://127.0.0.1:{free_port()}/test/"
        server = Server()
        await server.init()
        server.set_endpoint(url)
        ns = await server.register_namespace("urn:plantos:test")
        wave = await server.nodes.objects.add_variable(ua.NodeId("Wave", ns), "Wave", 0.0)
        flat = await server.nodes.objects.add_variable(ua.NodeId("Flat", ns), "Flat", 0.0)
        await server.start()
        doc: dict[str, Any] = {
            "kind": "opcua",
            "name": "cnc",
            "endpoint": url,
            "publishing_interval": "50ms",
            "sampling_interval": "10ms",
            "queue_size": 2 * SAMPLES,
            "tags": [
                {"tag": WAVE, "node": "ns=2;s=Wave", "trigger": "status-value-timestamp"},
                {"tag": FLAT, "node": "ns=2;s=Flat"},
            ],
        }
        conn = OpcUaConnector(OpcUaSpec.model_validate(doc), {WAVE: 1, FLAT: 2}, clock=WallClock())
        await conn.connect()
        try:
            for i in range(SAMPLES):  # a stopped spindle: the same reading, sample after sample
                ts = T0 + timedelta(microseconds=100 * i)
                for node in (wave, flat):
                    value = ua.DataValue(ua.Variant(0.5, ua.VariantType.Double), SourceTimestamp=ts)
                    await server.write_attribute_value(node.nodeid, value)
            batch = await collect(conn, SAMPLES + 1)
        finally:
            await conn.close()
            await server.stop()
        written = batch.value == 0.5  # the initial value is reported too: not counted
        assert int((written & (batch.tag_id == 1)).sum()) == SAMPLES
        assert int((written & (batch.tag_id == 2)).sum()) == 1

    asyncio.run(body())
