"""PlantOS as a Sparkplug B edge node against a real Mosquitto broker: births, data by
alias with seq, report by exception, historical data and the stream seq, the Quality
property, the NDEATH Will, Rebirth NCMDs, the primary host's STATE, PlantOS's own
SparkplugHost receiving end to end, and cross-decoding with the reference definition."""

from __future__ import annotations

import asyncio
import json
import math
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug import (
    REBIRTH_METRIC,
    STREAM_PARTS,
    STREAM_SEQ_METRIC,
    DataType,
    DecodedPayload,
    Metric,
    decode_payload,
    encode_payload,
    schema,
)
from plantos.edge.sparkplug.host import SparkplugHost
from plantos.edge.sparkplug.node import NodeMetric, SparkplugEdgeNode
from tests.support.mosquitto import Broker, free_port
from tests.support.waiting import WAIT_S, gather, until

pytestmark = pytest.mark.timeout(60)

BASE_NS = 1_750_000_000_000_000_000
BASE_MS = BASE_NS // 1_000_000

TEMP, COUNT, RUNNING, SPEED, LEVEL, ENERGY = 1, 2, 3, 11, 12, 21
METRICS = [
    NodeMetric(TEMP, "Line/Temperature", DataType.Double),
    NodeMetric(COUNT, "Line/Count", DataType.Int32),
    NodeMetric(RUNNING, "Line/Running", DataType.Boolean),
    NodeMetric(SPEED, "Dev/Speed", DataType.UInt16, device="D1"),
    NodeMetric(LEVEL, "Dev/Level", DataType.Float, device="D1"),
    NodeMetric(ENERGY, "Meter/Energy", DataType.Int64, device="D2"),
]
NAMES = {m.tag_id: m.name for m in METRICS}


class Observer:
    """A plain paho client recording what arrives."""

    def __init__(self, broker: Broker, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._subscribed = threading.Event()
        self.client.on_message = lambda c, u, msg: self.received.put(msg)
        self.client.on_subscribe = lambda c, u, mid, rcs, props: self._subscribed.set()
        self.client.connect(broker.host, broker.port, 10)
        self.client.loop_start()
        self._marker = f"marker/{client_id}"
        self.subscribe(self._marker)

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(WAIT_S), f"no SUBACK for {topic}"

    def next_message(self) -> mqtt.MQTTMessage:
        return self.received.get(timeout=WAIT_S)

    def until_marker(self) -> list[mqtt.MQTTMessage]:
        """What arrived before a marker published now: only the retained messages of a
        fresh subscription are sure to come first (MQTT orders per connection only)."""
        self.publish(self._marker, b"", qos=1)
        got: list[mqtt.MQTTMessage] = []
        while (msg := self.next_message()).topic != self._marker:
            got.append(msg)
        return got

    async def next(self) -> mqtt.MQTTMessage:
        """The next message, waited for in a thread so the node's event loop keeps running."""
        return await asyncio.to_thread(self.next_message)

    async def quiet(self) -> list[mqtt.MQTTMessage]:
        return await asyncio.to_thread(self.until_marker)

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(WAIT_S)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_node(broker: Broker, group: str, **kwargs: Any) -> SparkplugEdgeNode:
    return SparkplugEdgeNode(
        server=MqttServer(broker.host, broker.port),
        group_id=group,
        edge_node_id="E1",
        metrics=kwargs.pop("metrics", METRICS),
        clock=kwargs.pop("clock", ManualClock(BASE_NS)),
        **kwargs,
    )


def topic(group: str, kind: str, device: str | None = None) -> str:
    return f"spBv1.0/{group}/{kind}/E1" + (f"/{device}" if device else "")


def decode(msg: mqtt.MQTTMessage) -> DecodedPayload:
    return decode_payload(bytes(msg.payload))


async def expect(observer: Observer, *topics: str) -> list[mqtt.MQTTMessage]:
    got = [await observer.next() for _ in topics]
    assert [m.topic for m in got] == list(topics)
    return got


async def births(observer: Observer, group: str) -> list[DecodedPayload]:
    """The NBIRTH and both DBIRTHs, in this order (messages of one node keep their order)."""
    got = await expect(
        observer,
        topic(group, "NBIRTH"),
        topic(group, "DBIRTH", "D1"),
        topic(group, "DBIRTH", "D2"),
    )
    return [decode(m) for m in got]


def by_name(payload: DecodedPayload) -> dict[str | None, Metric]:
    return {m.name: m for m in payload.metrics}


def batch(rows: list[tuple[int, int, float]], codes: list[int] | None = None) -> SampleBatch:
    tag, ts_ms, value = zip(*rows, strict=True)
    return SampleBatch.of(tag, [(BASE_MS + t) * 1_000_000 for t in ts_ms], value, codes)


def aliases_of(births: list[DecodedPayload]) -> dict[int, tuple[str, DataType]]:
    return {
        m.alias: (m.name or "", m.datatype)
        for b in births
        for m in b.metrics
        if m.alias is not None
    }


def ncmd(group: str, metrics: list[Metric]) -> tuple[str, bytes]:
    return topic(group, "NCMD"), encode_payload(timestamp_ms=BASE_MS, seq=None, metrics=metrics)


REBIRTH = Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, value=True)


# ----------------------------------------------------------------------------- births


def test_births_carry_every_metric_bdseq_rebirth_and_aliases(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-births")
        observer.subscribe("spBv1.0/GB/#")
        node = make_node(broker, "GB")
        try:
            await node.connect()
            assert node.online
            nb, d1, d2 = await expect(
                observer,
                topic("GB", "NBIRTH"),
                topic("GB", "DBIRTH", "D1"),
                topic("GB", "DBIRTH", "D2"),
            )
            assert [m.qos for m in (nb, d1, d2)] == [0, 0, 0]
            births = [decode(m) for m in (nb, d1, d2)]
            assert [b.seq for b in births] == [0, 1, 2]
            assert all(b.timestamp_ms == BASE_MS for b in births)
            metrics = by_name(births[0])
            bdseq, rebirth = metrics["bdSeq"], metrics[REBIRTH_METRIC]
            assert (bdseq.datatype, bdseq.value, bdseq.alias) == (DataType.Int64, 0, None)
            assert (rebirth.datatype, rebirth.value, rebirth.alias) == (
                DataType.Boolean,
                False,
                None,
            )
            node_names = {m.name for m in births[0].metrics} - {"bdSeq", REBIRTH_METRIC}
            assert node_names == {
                "Line/Temperature",
                "Line/Count",
                "Line/Running",
                STREAM_SEQ_METRIC,
            }
            assert {m.name for m in births[1].metrics} == {
                "Dev/Speed",
                "Dev/Level",
                STREAM_SEQ_METRIC,
            }
            assert {m.name for m in births[2].metrics} == {"Meter/Energy", STREAM_SEQ_METRIC}
            with_alias = [m for b in births for m in b.metrics if m.alias is not None]
            assert len({m.alias for m in with_alias}) == len(with_alias) == 9  # unique node-wide
            assert all(m.is_null and m.value is None for m in with_alias)  # no value known yet
            declared = {m.name: m.datatype for m in METRICS}
            assert all(
                declared.get(m.name or "", DataType.UInt64) == m.datatype for m in with_alias
            )
            await node.close()  # the next message of the node's connection is its NDEATH
            await expect(observer, topic("GB", "NDEATH"))

            late = Observer(broker, "obs-births-late")  # a retained birth would reach it
            late.subscribe("spBv1.0/GB/#")
            assert await late.quiet() == []
            late.stop()
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


# ----------------------------------------------------------------------------- data


def test_data_by_alias_one_message_per_scope_with_seq(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-data")
        observer.subscribe("spBv1.0/GD/#")
        node = make_node(broker, "GD")
        try:
            await node.connect()
            aliases = aliases_of(await births(observer, "GD"))
            sent = await node.publish(
                batch(
                    [
                        (TEMP, 20, 21.5),
                        (SPEED, 10, 1199.6),  # rounded for UInt16
                        (COUNT, 10, -7.0),
                        (99, 10, 5.0),  # not a metric
                        (RUNNING, 15, 2.0),  # Boolean: value != 0
                        (LEVEL, 5, 0.25),
                        (ENERGY, 30, -(2.0**40)),
                    ]
                )
            )
            assert sent == 6
            nd, dd1, dd2 = await expect(
                observer,
                topic("GD", "NDATA"),
                topic("GD", "DDATA", "D1"),
                topic("GD", "DDATA", "D2"),
            )
            assert [m.qos for m in (nd, dd1, dd2)] == [0, 0, 0]
            for raw in (nd, dd1, dd2):  # by alias only, without name or datatype
                wire = schema.Payload.FromString(bytes(raw.payload))
                assert all(
                    not m.HasField("name") and not m.HasField("datatype") for m in wire.metrics
                )
            datatypes: dict[int | str, DataType] = {a: dt for a, (_n, dt) in aliases.items()}
            data = [decode_payload(bytes(m.payload), datatypes=datatypes) for m in (nd, dd1, dd2)]
            assert [d.seq for d in data] == [3, 4, 5]
            assert [
                [(aliases[m.alias][0], m.timestamp_ms - BASE_MS, m.value) for m in d.metrics]  # type: ignore[index, operator]
                for d in data
            ] == [
                [
                    ("Line/Count", 10, -7),
                    ("Line/Running", 15, True),
                    ("Line/Temperature", 20, 21.5),
                ],
                [("Dev/Level", 5, 0.25), ("Dev/Speed", 10, 1200)],
                [("Meter/Energy", 30, -(2**40))],
            ]
            m = node.metrics()
            assert (m["unknown_tags"], m["samples_sent"], m["messages"]) == (1, 6, 6)
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_large_batches_split_in_time_order_and_seq_wraps(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-split")
        observer.subscribe("spBv1.0/GS/#")
        node = make_node(broker, "GS", max_metrics_per_message=2, report_by_exception=False)
        try:
            await node.connect()
            assert [b.seq for b in await births(observer, "GS")] == [0, 1, 2]
            n = 600  # 300 NDATA: seq 3..255, then 0..46
            times = np.arange(n)[::-1]  # handed over newest first
            await node.publish(batch([(TEMP, int(t), float(t)) for t in times]))
            got = [decode(await observer.next()) for _ in range(n // 2)]
            assert [p.seq for p in got] == [(3 + i) % 256 for i in range(n // 2)]
            stamps = [m.timestamp_ms - BASE_MS for p in got for m in p.metrics]  # type: ignore[operator]
            assert stamps == list(range(n))
            await node.close()
            await expect(observer, topic("GS", "NDEATH"))
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_a_10000_sample_publish_is_fast(broker: Broker) -> None:
    async def main() -> None:
        node = make_node(broker, "GP", data_qos=1)
        try:
            await node.connect()
            rng = np.random.default_rng(1)
            tags = rng.choice([TEMP, COUNT, RUNNING, SPEED, LEVEL, ENERGY], 10_000)
            ts = BASE_NS + np.arange(10_000, dtype=np.int64) * 1_000_000
            started = time.perf_counter()
            sent = await node.publish(SampleBatch.of(tags, ts, rng.random(10_000) * 100))
            elapsed = time.perf_counter() - started
            assert sent + node.metrics()["suppressed_by_exception"] == 10_000
            assert elapsed < 2.0, f"publishing 10,000 samples took {elapsed:.2f} s"
        finally:
            await node.close()

    asyncio.run(main())


def test_report_by_exception_drops_repeats_of_value_and_quality(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-rbe")
        observer.subscribe("spBv1.0/GR/NDATA/#")
        node = make_node(broker, "GR")
        try:
            await node.connect()
            rows = [(TEMP, 1, 5.0), (TEMP, 2, 5.0), (TEMP, 3, 6.0), (COUNT, 1, 1.0), (TEMP, 4, 6.0)]
            assert await node.publish(batch(rows)) == 3
            values = [m.value for m in decode(await observer.next()).metrics]
            assert values == [5.0, 1, 6.0]  # time order: TEMP@1, COUNT@1, TEMP@3
            assert await node.publish(batch([(TEMP, 5, 6.0), (COUNT, 5, 1.0)])) == 0
            bad = quality.BAD_SENSOR_FAILURE
            # same value, other quality: sent; then a NaN Bad repeated: sent once
            sent = await node.publish(
                batch(
                    [(TEMP, 6, 6.0), (TEMP, 7, math.nan), (TEMP, 8, math.nan)],
                    [bad, bad, bad],
                )
            )
            assert sent == 2
            assert node.metrics()["suppressed_by_exception"] == 5
            assert len(decode(await observer.next()).metrics) == 2
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_historical_publish_sends_everything_flagged_with_stream_seq(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-hist")
        observer.subscribe("spBv1.0/GH/#")
        node = make_node(broker, "GH")
        try:
            await node.connect()
            aliases = aliases_of(await births(observer, "GH"))
            await node.publish(batch([(TEMP, 50, 7.0)]))
            await observer.next()
            rows = [(TEMP, 10, 7.0), (TEMP, 11, 7.0), (SPEED, 10, 3.0)]
            assert await node.publish(batch(rows), historical=True, stream_seq=2**40) == 3
            nd, dd = await expect(observer, topic("GH", "NDATA"), topic("GH", "DDATA", "D1"))
            for msg, n_samples in ((nd, 2), (dd, 1)):
                metrics = decode(msg).metrics
                samples, (stream,) = metrics[:n_samples], metrics[n_samples:]
                assert all(m.is_historical for m in samples)
                assert aliases[stream.alias] == (STREAM_SEQ_METRIC, DataType.UInt64)  # type: ignore[index]
                assert (stream.value, stream.is_historical) == (2**40 * STREAM_PARTS, False)
            assert node.metrics()["suppressed_by_exception"] == 0

            # the rebirth shows the newest values (historical ones are older) and stream seqs
            observer.publish(*ncmd("GH", [REBIRTH]))
            _cmd, nb, d1, _d2 = await expect(
                observer,
                topic("GH", "NCMD"),
                topic("GH", "NBIRTH"),
                topic("GH", "DBIRTH", "D1"),
                topic("GH", "DBIRTH", "D2"),
            )
            born = by_name(decode(nb))
            assert (born["Line/Temperature"].value, born["Line/Temperature"].timestamp_ms) == (
                7.0,
                BASE_MS + 50,
            )
            assert born[STREAM_SEQ_METRIC].value == 2**40 * STREAM_PARTS
            assert by_name(decode(d1))["Dev/Speed"].value == 3
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_bad_samples_carry_the_quality_property(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-quality")
        observer.subscribe("spBv1.0/GQ/#")
        node = make_node(broker, "GQ")
        try:
            await node.connect()
            await births(observer, "GQ")
            rows = [(TEMP, 1, math.nan), (COUNT, 1, 4.0), (RUNNING, 1, 1.0), (SPEED, 1, 70_000.0)]
            codes = [quality.BAD_NO_COMMUNICATION, quality.UNCERTAIN_LAST_USABLE_VALUE, 0, 0]
            await node.publish(batch(rows, codes))
            nd, dd = await expect(observer, topic("GQ", "NDATA"), topic("GQ", "DDATA", "D1"))
            got = [(m.is_null, m.value, m.quality) for m in decode(nd).metrics]
            assert got == [
                (True, None, quality.BAD_NO_COMMUNICATION),
                (False, 4, quality.UNCERTAIN_LAST_USABLE_VALUE),
                (False, True, None),
            ]
            # 70,000 does not fit a UInt16: sent as null and BadOutOfRange
            assert [(m.is_null, m.quality) for m in decode(dd).metrics] == [
                (True, quality.BAD_OUT_OF_RANGE)
            ]
            assert node.metrics()["out_of_range"] == 1
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


# ----------------------------------------------------------------------------- session


def test_will_is_ndeath_with_bdseq_and_connect_again_births_last_values(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-will")
        observer.subscribe("spBv1.0/GW/#")
        node = make_node(broker, "GW")
        try:
            await node.connect()
            await births(observer, "GW")
            await node.publish(batch([(TEMP, 1, 30.5), (SPEED, 1, 9.0)]))
            await expect(observer, topic("GW", "NDATA"), topic("GW", "DDATA", "D1"))
            assert node._client is not None
            sock = node._client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)  # no DISCONNECT: the broker sends the Will
            (death,) = await expect(observer, topic("GW", "NDEATH"))
            payload = decode(death)
            assert payload.seq is None
            assert [(m.name, m.datatype, m.value) for m in payload.metrics] == [
                ("bdSeq", DataType.Int64, 0)
            ]
            await until(lambda: not node.online)
            with pytest.raises(ConnectionError):
                await node.publish(batch([(TEMP, 2, 31.0)]))

            await node.connect()
            assert node.metrics()["reconnects"] == 1
            nb, d1, _d2 = await expect(
                observer,
                topic("GW", "NBIRTH"),
                topic("GW", "DBIRTH", "D1"),
                topic("GW", "DBIRTH", "D2"),
            )
            born = by_name(decode(nb))
            assert decode(nb).seq == 0
            assert born["bdSeq"].value == 1
            assert born["Line/Temperature"].value == 30.5
            assert by_name(decode(d1))["Dev/Speed"].value == 9

            await node.close()
            (death,) = await expect(observer, topic("GW", "NDEATH"))
            assert by_name(decode(death))["bdSeq"].value == 1
            assert not node.online
            await node.close()  # safe twice
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_rebirth_ncmd_is_answered_and_other_commands_ignored(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-rebirth")
        observer.subscribe("spBv1.0/GC/+/E1/#")
        node = make_node(broker, "GC")
        try:
            await node.connect()
            await births(observer, "GC")
            await node.publish(batch([(COUNT, 1, 12.0)]))
            await observer.next()
            write = Metric(name="Line/Count", datatype=DataType.Int32, value=99)
            observer.publish(*ncmd("GC", [write]))
            dcmd = encode_payload(timestamp_ms=BASE_MS, seq=None, metrics=[write])
            observer.publish(topic("GC", "DCMD", "D1"), dcmd)
            observer.publish(*ncmd("GC", [REBIRTH]))
            got = await expect(
                observer,
                topic("GC", "NCMD"),
                topic("GC", "DCMD", "D1"),
                topic("GC", "NCMD"),
                topic("GC", "NBIRTH"),
                topic("GC", "DBIRTH", "D1"),
                topic("GC", "DBIRTH", "D2"),
            )
            reborn = [decode(m) for m in got[3:]]
            assert [b.seq for b in reborn] == [0, 1, 2]
            assert by_name(reborn[0])["bdSeq"].value == 0  # same session, same bdSeq
            assert by_name(reborn[0])["Line/Count"].value == 12  # not written: read-only
            m = node.metrics()
            assert (m["rebirths_answered"], m["ignored_commands"], m["births"]) == (1, 2, 2)
            await node.publish(batch([(COUNT, 2, 13.0)]))
            assert decode(await observer.next()).seq == 3
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_primary_host_state_gates_births(broker: Broker) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-state")
        observer.subscribe("spBv1.0/GT/#")
        state = "spBv1.0/STATE/primary-t"
        node = make_node(broker, "GT", primary_host_id="primary-t")
        try:
            await node.connect()
            assert not node.online
            assert node.metrics()["births"] == 0  # none before the host is online
            with pytest.raises(ConnectionError, match="primary host"):
                await node.publish(batch([(TEMP, 1, 1.0)]))

            def announce(online: bool, ts: int) -> None:
                body = json.dumps({"online": online, "timestamp": ts}).encode()
                observer.publish(state, body, qos=1, retain=True)

            announce(True, 100)
            await expect(observer, topic("GT", "NBIRTH"), topic("GT", "DBIRTH", "D1"))
            await observer.next()
            await until(lambda: node.online)
            assert await node.publish(batch([(TEMP, 1, 1.0)])) == 1
            await observer.next()

            announce(False, 50)  # older than the online STATE: ignored
            announce(False, 200)
            (death,) = await expect(observer, topic("GT", "NDEATH"))
            assert by_name(decode(death))["bdSeq"].value == 0
            await until(lambda: not node.online)

            announce(True, 300)
            nb, _d1, _d2 = await expect(
                observer,
                topic("GT", "NBIRTH"),
                topic("GT", "DBIRTH", "D1"),
                topic("GT", "DBIRTH", "D2"),
            )
            assert by_name(decode(nb))["Line/Temperature"].value == 1.0
            await until(lambda: node.online)

            # a new session finds the retained online STATE and births inside connect()
            await node.close()
            await expect(observer, topic("GT", "NDEATH"))
            await node.connect()
            assert node.online
            assert [b.seq for b in await births(observer, "GT")] == [0, 1, 2]
        finally:
            await node.close()
            observer.publish(state, b"", qos=1, retain=True)  # clear the retained STATE
            observer.stop()

    asyncio.run(main())


def test_connect_raises_when_no_broker_listens() -> None:
    async def main() -> None:
        node = SparkplugEdgeNode(
            server=MqttServer("127.0.0.1", free_port()),
            group_id="G",
            edge_node_id="E1",
            metrics=METRICS,
            connect_timeout_s=2.0,
        )
        with pytest.raises(ConnectionError):
            await node.connect()
        assert not node.online
        await node.close()

    asyncio.run(main())


def test_invalid_configuration_is_refused() -> None:
    server = MqttServer("127.0.0.1", 1)
    bad: list[dict[str, Any]] = [
        {"metrics": [NodeMetric(1, "s", DataType.Bytes)]},  # no sample is bytes
        {"metrics": [NodeMetric(1, "bdSeq", DataType.Int64)]},
        {"metrics": [NodeMetric(1, "a", DataType.Double), NodeMetric(1, "b", DataType.Double)]},
        {"metrics": [NodeMetric(1, "a", DataType.Double, device="D/1")]},
        {"metrics": METRICS, "data_qos": 2},
        {"metrics": METRICS, "edge_node_id": "E+"},
    ]
    for kwargs in bad:
        kwargs.setdefault("edge_node_id", "E1")
        with pytest.raises(ValueError):
            SparkplugEdgeNode(server=server, group_id="G", **kwargs)


# ----------------------------------------------------------------------------- end to end


def test_plantos_host_receives_what_the_node_publishes(broker: Broker) -> None:
    async def main() -> None:
        tag_map = {("GE", "E1", m.device, m.name): 100 + m.tag_id for m in METRICS}
        host = SparkplugHost(
            server=MqttServer(broker.host, broker.port),
            host_id="host-e2e",
            group_filter="GE",
            tag_map=tag_map,
            clock=ManualClock(BASE_NS),
        )
        node = make_node(broker, "GE", data_qos=1)
        try:
            await node.connect()  # born before the host listens: the host must ask
            await host.connect()
            rows = [
                (TEMP, 1, 21.25),
                (COUNT, 1, -3.0),
                (RUNNING, 2, 0.0),
                (SPEED, 1, 1500.0),
                (LEVEL, 3, 0.5),
                (ENERGY, 4, 2.0**50),
            ]
            # first NDATA: the host has seen no birth, requests one, the node answers
            await node.publish(batch(rows))
            await until(lambda: node.metrics()["rebirths_answered"] == 1)
            later = [(tag, ts + 10, value + 1) for tag, ts, value in rows]
            later[2] = (RUNNING, 12, 1.0)
            await node.publish(batch(later), stream_seq=7)
            expected = {
                100 + tag: ((BASE_MS + ts) * 1_000_000, value) for tag, ts, value in rows + later
            }
            seen: dict[int, tuple[int, float]] = {}

            def collected_all() -> bool:
                return all(seen.get(t) == v for t, v in expected.items())

            deadline = asyncio.get_running_loop().time() + WAIT_S
            while not collected_all():
                got = await host.collect()
                for t, ts, v, q in zip(
                    got.tag_id.tolist(),
                    got.ts.tolist(),
                    got.value.tolist(),
                    got.quality.tolist(),
                    strict=True,
                ):
                    assert q == quality.GOOD
                    if ts >= seen.get(t, (0, 0.0))[0]:
                        seen[t] = (ts, v)
                assert asyncio.get_running_loop().time() < deadline, f"host saw {seen}"
                await asyncio.sleep(0.02)
            assert host.metrics()["malformed"] == 0
        finally:
            await node.close()
            await host.close()

    asyncio.run(main())


def test_a_change_discarded_before_the_birth_comes_with_the_births_that_answer(
    broker: Broker,
) -> None:
    """A node born before the host listens, silent, then one change: the host discards
    that data (no birth seen) and asks for a rebirth. The births restate the change, so
    the host shows it although the node sends nothing more (a plain node: its births'
    stream number is null, their values are samples)."""

    async def main() -> None:
        host = SparkplugHost(
            server=MqttServer(broker.host, broker.port),
            host_id="host-silent",
            group_filter="GQ",
            tag_map={("GQ", "E1", m.device, m.name): m.tag_id for m in METRICS},
            clock=ManualClock(BASE_NS),
        )
        node = make_node(broker, "GQ")
        try:
            await node.connect()
            await host.connect()
            await node.publish(batch([(TEMP, 5, 21.5), (SPEED, 5, 1500.0)]))
            await until(lambda: node.metrics()["rebirths_answered"] == 1)
            got = await gather(host, lambda b: {TEMP, SPEED} <= set(b.tag_id.tolist()))
            assert host.metrics()["discarded_awaiting_rebirth"] >= 1
            columns = (got.tag_id.tolist(), got.ts.tolist(), got.value.tolist())
            shown = {tag: (ts, value) for tag, ts, value in zip(*columns, strict=True)}
            assert shown[TEMP] == ((BASE_MS + 5) * 1_000_000, 21.5)
            assert shown[SPEED] == ((BASE_MS + 5) * 1_000_000, 1500.0)
            assert set(got.tag_id.tolist()) == {TEMP, SPEED}, "a null in a birth is no sample"
            assert set(got.quality.tolist()) == {quality.GOOD}
        finally:
            await node.close()
            await host.close()

    asyncio.run(main())


# ----------------------------------------------------------------------------- reference proto


def test_reference_classes_decode_births_data_and_death(broker: Broker, reference_pb2: Any) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-ref")
        observer.subscribe("spBv1.0/GF/#")
        node = make_node(broker, "GF")
        try:
            await node.connect()
            (nb, *_dbirths) = await expect(
                observer,
                topic("GF", "NBIRTH"),
                topic("GF", "DBIRTH", "D1"),
                topic("GF", "DBIRTH", "D2"),
            )
            theirs = reference_pb2.Payload.FromString(bytes(nb.payload))
            assert theirs.seq == 0 and theirs.timestamp == BASE_MS
            metrics = {m.name: m for m in theirs.metrics}
            assert metrics["bdSeq"].long_value == 0
            assert metrics["bdSeq"].datatype == reference_pb2.Int64
            assert metrics[REBIRTH_METRIC].boolean_value is False
            assert metrics[REBIRTH_METRIC].datatype == reference_pb2.Boolean
            assert metrics["Line/Count"].datatype == reference_pb2.Int32
            assert metrics["Line/Count"].is_null

            codes = [0, quality.BAD_SENSOR_FAILURE]
            await node.publish(batch([(COUNT, 1, -2.0), (TEMP, 2, math.nan)], codes), stream_seq=5)
            theirs = reference_pb2.Payload.FromString(bytes((await observer.next()).payload))
            count, temp, stream = theirs.metrics
            assert (count.alias, count.int_value, count.timestamp) == (
                metrics["Line/Count"].alias,
                2**32 - 2,
                BASE_MS + 1,
            )
            assert temp.is_null and list(temp.properties.keys) == ["Quality", "PlantOS/StatusCode"]
            assert [v.int_value for v in temp.properties.values] == [0, quality.BAD_SENSOR_FAILURE]
            assert (stream.alias, stream.long_value) == (
                metrics[STREAM_SEQ_METRIC].alias,
                5 * STREAM_PARTS,
            )

            await node.close()
            theirs = reference_pb2.Payload.FromString(bytes((await observer.next()).payload))
            assert not theirs.HasField("seq")
            assert [(m.name, m.long_value) for m in theirs.metrics] == [("bdSeq", 0)]
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_reference_encoded_rebirth_ncmd_is_answered(broker: Broker, reference_pb2: Any) -> None:
    async def main() -> None:
        observer = Observer(broker, "obs-ref-ncmd")
        observer.subscribe("spBv1.0/GN/+/E1/#")
        node = make_node(broker, "GN")
        try:
            await node.connect()
            await births(observer, "GN")
            request = reference_pb2.Payload(timestamp=BASE_MS)
            request.metrics.add(
                name=REBIRTH_METRIC, datatype=reference_pb2.Boolean, boolean_value=True
            )
            observer.publish(topic("GN", "NCMD"), request.SerializeToString())
            await expect(
                observer,
                topic("GN", "NCMD"),
                topic("GN", "NBIRTH"),
                topic("GN", "DBIRTH", "D1"),
                topic("GN", "DBIRTH", "D2"),
            )
            assert node.metrics()["rebirths_answered"] == 1
        finally:
            await node.close()
            observer.stop()

    asyncio.run(main())


def test_a_connection_lost_during_publish_raises_and_a_retry_resends(broker: Broker) -> None:
    async def main() -> None:
        node = make_node(broker, "GL", data_qos=1, connect_timeout_s=2.0)
        try:
            await node.connect()
            assert node._client is not None
            sock = node._client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)
            with pytest.raises(ConnectionError):
                await node.publish(batch([(TEMP, 1, 5.0)]))
            await node.connect()
            # report by exception did not count the failed sample as published
            assert await node.publish(batch([(TEMP, 1, 5.0)])) == 1
        finally:
            await node.close()

    asyncio.run(main())


def test_a_numbered_batch_split_over_several_messages_arrives_whole(broker: Broker) -> None:
    """A batch larger than one message is split; every part carries its own number, so a
    PlantOS host keeps all parts and still drops a replay of any of them."""

    async def main() -> None:
        metrics = [NodeMetric(i, f"Tags/T{i}", DataType.Double) for i in range(1, 26)]
        host = SparkplugHost(
            server=MqttServer(broker.host, broker.port),
            host_id="host-split",
            group_filter="GS",
            tag_map={("GS", "E1", None, m.name): m.tag_id for m in metrics},
            clock=ManualClock(BASE_NS),
        )
        node = SparkplugEdgeNode(
            server=MqttServer(broker.host, broker.port),
            group_id="GS",
            edge_node_id="E1",
            metrics=metrics,
            clock=ManualClock(BASE_NS),
            data_qos=1,
            report_by_exception=False,
            max_metrics_per_message=10,
        )
        await host.connect()
        try:
            await node.connect()
            await until(lambda: host.metrics()["edge_nodes_online"] == 1)
            ids = np.arange(1, 26)
            big = SampleBatch.of(ids, BASE_NS + ids * 1_000_000, ids * 1.5)
            await node.publish(big, stream_seq=41)  # 25 samples: three messages
            await node.publish(big, stream_seq=41)  # a replay of the same batch
            got: list[SampleBatch] = []
            await until_async(lambda: _collect_into(host, got, 25))
            await asyncio.sleep(0.2)
            got.append(await host.collect())
            received = SampleBatch.concat(got)
            assert sorted(received.tag_id.tolist()) == ids.tolist()
            assert host.metrics()["duplicates_dropped"] == 3
        finally:
            await node.close()
            await host.close()

    asyncio.run(main())


async def _collect_into(host: SparkplugHost, got: list[SampleBatch], n: int) -> bool:
    got.append(await host.collect())
    return sum(len(b) for b in got) >= n


async def until_async(condition: Callable[[], Any], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
