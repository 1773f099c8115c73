"""A waveform snapshot as one OPC UA array value, against a real asyncua server on
127.0.0.1: the connector expands it into its samples at the tag's sample rate, all in one
batch or (when the buffer cannot take it) none; a value carrying the Overflow info bit is
counted, logged once per collect and keeps its status code as quality. The demo's CNC
cell writes each snapshot so, even when the simulator hands it out over two scans."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from asyncua import ua
from asyncua.server.server import Server

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.demo.devices.opcua_device import OpcUaDevice
from plantos.demo.devices.specs import opcua_spec
from plantos.edge.opcua import OpcUaConnector, OpcUaSpec
from plantos.model import TagDef
from plantos.model.plant import Waveform
from tests.support.ports import free_port

pytestmark = pytest.mark.timeout(30)

WAVE = "s/a/l/cnc-01/spindle_vibration_waveform"
SPEED = "s/a/l/cnc-01/spindle_speed"
SAMPLES = 64
RATE_HZ = 1000.0
T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
T0_NS = 1_767_592_800_000_000_000
MS_NS = 1_000_000


class Cell:
    """An asyncua server with a ``Double[]`` waveform variable and a scalar speed."""

    async def start(self) -> Cell:
        self.url = f"opc.tcp://127.0.0.1:{free_port()}/test/"
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(self.url)
        ns = await self.server.register_namespace("urn:plantos:test")
        objects = self.server.nodes.objects
        empty = ua.Variant([], ua.VariantType.Double, is_array=True)
        self.wave = await objects.add_variable(ua.NodeId("Wave", ns), "Wave", empty)
        self.speed = await objects.add_variable(ua.NodeId("Speed", ns), "Speed", 0.0)
        await self.server.start()
        return self

    async def snapshot(self, k: int, *, code: int = quality.GOOD) -> list[float]:
        """Write snapshot ``k`` (taken ``k`` seconds after T0) and return its values."""
        values = (k * 1000.0 + np.arange(SAMPLES)).tolist()
        dv = ua.DataValue(
            ua.Variant(values, ua.VariantType.Double, is_array=True),
            StatusCode=ua.StatusCode(ua.UInt32(code)),
            SourceTimestamp=T0 + timedelta(seconds=k),
        )
        await self.server.write_attribute_value(self.wave.nodeid, dv)
        return values

    async def stop(self) -> None:
        await self.server.stop()


def spec(url: str, **overrides: Any) -> OpcUaSpec:
    doc: dict[str, Any] = {
        "kind": "opcua",
        "name": "cnc",
        "endpoint": url,
        "publishing_interval": "50ms",
        "sampling_interval": "10ms",
        "tags": [
            {"tag": WAVE, "node": "ns=2;s=Wave", "sample_rate_hz": RATE_HZ},
            {"tag": SPEED, "node": "ns=2;s=Speed"},
        ],
    }
    return OpcUaSpec.model_validate(doc | overrides)


async def collect_until(
    conn: OpcUaConnector, done: Callable[[list[SampleBatch]], bool], timeout_s: float = 5.0
) -> list[SampleBatch]:
    """Every batch collected until ``done`` says enough (each batch kept apart)."""
    got: list[SampleBatch] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not done(got):
        got.append(await conn.collect())
        await asyncio.sleep(0.02)
    return got


def waves(batches: list[SampleBatch]) -> SampleBatch:
    all_ = SampleBatch.concat(batches) if batches else SampleBatch.empty()
    return all_.select(all_.tag_id == 1)


def test_an_array_arrives_as_its_samples_at_the_sample_rate_each_snapshot_in_one_batch() -> None:
    async def body() -> None:
        cell = await Cell().start()
        conn = OpcUaConnector(spec(cell.url), {WAVE: 1, SPEED: 2}, clock=WallClock())
        await conn.connect()
        try:
            written = [await cell.snapshot(k) for k in range(3)]
            got = await collect_until(conn, lambda b: len(waves(b)) >= 3 * SAMPLES)
        finally:
            await conn.close()
            await cell.stop()
        batch = waves(got)
        expected_ts = [T0_NS + k * 1_000_000_000 + i * MS_NS for k in range(3) for i in range(64)]
        assert batch.ts.tolist() == expected_ts
        assert batch.value.tolist() == [v for values in written for v in values]
        assert (batch.quality == quality.GOOD).all()
        for part in got:  # never a part of a snapshot in one batch and the rest in another
            per_snapshot = np.unique((part.ts[part.tag_id == 1] - T0_NS) // 1_000_000_000)
            counts = [int(((part.ts - T0_NS) // 1_000_000_000 == k).sum()) for k in per_snapshot]
            assert all(n == SAMPLES for n in counts), counts
        assert conn.metrics()["dropped_notifications"] == 0

    asyncio.run(body())


def test_a_snapshot_the_buffer_cannot_take_whole_is_dropped_whole() -> None:
    async def body() -> None:
        cell = await Cell().start()
        s = spec(cell.url, buffer_size=SAMPLES + SAMPLES // 2)
        conn = OpcUaConnector(s, {WAVE: 1, SPEED: 2}, clock=WallClock())
        await conn.connect()
        try:
            await cell.snapshot(0)
            await cell.snapshot(1)
            await asyncio.sleep(0.5)  # both published; nothing collected in between
            batch = waves([await conn.collect()])
            dropped = conn.metrics()["dropped_notifications"]
        finally:
            await conn.close()
            await cell.stop()
        assert batch.ts.tolist() == [T0_NS + i * MS_NS for i in range(SAMPLES)]
        assert dropped == 1

    asyncio.run(body())


def test_values_with_the_overflow_bit_are_counted_logged_once_and_keep_their_quality(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flagged = quality.OVERFLOW  # Good, but the server's queue dropped values before it

    async def body() -> tuple[list[SampleBatch], dict[str, Any]]:
        cell = await Cell().start()
        conn = OpcUaConnector(spec(cell.url), {WAVE: 1, SPEED: 2}, clock=WallClock())
        await conn.connect()
        try:
            for i in range(3):
                dv = ua.DataValue(
                    ua.Variant(100.0 + i, ua.VariantType.Double),
                    StatusCode=ua.StatusCode(ua.UInt32(flagged)),
                    SourceTimestamp=T0 + timedelta(milliseconds=i),
                )
                await cell.server.write_attribute_value(cell.speed.nodeid, dv)
            await cell.snapshot(1, code=flagged)
            await asyncio.sleep(0.5)  # all of it published before the one collect
            with caplog.at_level(logging.WARNING, logger="plantos.edge.opcua"):
                got = [await conn.collect(), await conn.collect()]
            return got, conn.metrics()
        finally:
            await conn.close()
            await cell.stop()

    got, metrics = asyncio.run(body())
    batch = SampleBatch.concat(got)
    speed = batch.select(batch.tag_id == 2)
    wave = batch.select(batch.tag_id == 1)
    assert speed.value[speed.quality == flagged].tolist() == [100.0, 101.0, 102.0]
    assert len(wave) == SAMPLES and (wave.quality == flagged).all()
    assert metrics["overflow_samples"] == 3 + SAMPLES
    overflow_lines = [r for r in caplog.records if "Overflow bit" in r.getMessage()]
    assert len(overflow_lines) == 1  # one line for the interval, none for the empty one after
    assert f"{3 + SAMPLES} samples" in overflow_lines[0].getMessage()


def test_the_demo_cell_writes_a_snapshot_handed_out_over_two_scans_as_one_array() -> None:
    async def body() -> SampleBatch:
        tags = [
            TagDef(
                WAVE,
                "s/a/l/cnc-01",
                "spindle_vibration_waveform",
                "float",
                "m/s^2",
                None,
                100_000,
                waveform=Waveform(RATE_HZ, SAMPLES, 300_000_000_000),
            ),
            TagDef(SPEED, "s/a/l/cnc-01", "spindle_speed", "float", "rpm", None, 1_000_000_000),
        ]
        ids = {WAVE: 1, SPEED: 2}
        port = free_port()
        device = OpcUaDevice(tags, ids, port=port)
        await device.start()
        s = opcua_spec(tags, device.endpoint)
        conn = OpcUaConnector(s, ids, clock=WallClock())
        await conn.connect()
        try:
            ts = T0_NS + np.arange(SAMPLES, dtype=np.int64) * MS_NS
            burst = SampleBatch.of(np.full(SAMPLES, 1), ts, np.arange(SAMPLES, dtype=float))
            await device.write(SampleBatch.of([1], [T0_NS - 1_000_000_000], [9.0]))  # primed
            await device.write(burst.select(np.arange(40)))  # the first scan's part
            await asyncio.sleep(0.3)  # published: nothing of it may have arrived yet
            early = waves([await conn.collect()])
            await device.write(burst.select(np.arange(40, SAMPLES)))
            got = await collect_until(conn, lambda b: len(waves(b)) >= SAMPLES)
            assert device.writes == 1
            assert conn.metrics()["notifications"] <= 3  # the snapshot and the initial values
        finally:
            await conn.close()
            await device.stop()
        assert early.value[early.quality == quality.GOOD].tolist() == []  # only the initial Bad
        batch = waves(got)
        return batch.select(batch.quality == quality.GOOD)

    batch = asyncio.run(body())
    assert batch.ts.tolist() == (T0_NS + np.arange(SAMPLES) * MS_NS).tolist()
    assert batch.value.tolist() == list(map(float, range(SAMPLES)))
