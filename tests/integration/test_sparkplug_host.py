"""The Sparkplug B host application against a real Mosquitto broker, with an edge node
simulated by paho-mqtt and the PlantOS codec: births with aliases, data by alias, seq
gaps and unknown aliases answered with a Rebirth NCMD, stale and current NDEATHs,
malformed payloads, and the host's STATE birth, death and Will."""

from __future__ import annotations

import asyncio
import json
import math
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.sparkplug import (
    DataType,
    Metric,
    bdseq_metric,
    decode_payload,
    encode_payload,
)
from plantos.edge.sparkplug.host import SparkplugHost
from tests.support.mosquitto import Broker, mosquitto_binary, running_mosquitto

pytestmark = pytest.mark.timeout(30)

BASE_NS = 1_750_000_000_000_000_000
BASE_MS = BASE_NS // 1_000_000
WAIT_S = 5.0

TEMP, COUNT, RUNNING, OTHER_NODE_TEMP = 1, 2, 3, 9


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


def tag_map(group: str) -> dict[tuple[str, str, str | None, str], int]:
    return {
        (group, "E1", None, "Line/Temperature"): TEMP,
        (group, "E1", None, "Line/Count"): COUNT,
        (group, "E1", None, "Line/Running"): RUNNING,
        (group, "E2", None, "Line/Temperature"): OTHER_NODE_TEMP,
    }


def make_host(broker: Broker, group: str, host_id: str) -> SparkplugHost:
    return SparkplugHost(
        broker_host=broker.host,
        broker_port=broker.port,
        host_id=host_id,
        group_filter=group,
        tag_map=tag_map(group),
        clock=ManualClock(BASE_NS),
        interval_s=0.05,
    )


class MqttPeer:
    """A plain paho client that records what arrives on its subscriptions."""

    def __init__(self, broker: Broker, client_id: str, will: tuple[str, bytes] | None = None):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1)
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._subscribed = threading.Event()
        self.client.on_message = lambda c, u, msg: self.received.put(msg)
        self.client.on_subscribe = lambda c, u, mid, rcs, props: self._subscribed.set()
        self.client.connect(broker.host, broker.port, 10)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(WAIT_S), f"no SUBACK for {topic}"

    def next_message(self, timeout: float = WAIT_S) -> mqtt.MQTTMessage:
        return self.received.get(timeout=timeout)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=0).wait_for_publish(WAIT_S)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class EdgeNode(MqttPeer):
    """A Sparkplug edge node: birth with aliases, data by alias, NCMD received."""

    def __init__(self, broker: Broker, group: str, node: str = "E1", bdseq: int = 0):
        self.group, self.node, self.bdseq, self.seq = group, node, bdseq, 0
        death = encode_payload(timestamp_ms=BASE_MS, seq=None, metrics=[bdseq_metric(bdseq)])
        super().__init__(broker, f"edge-{group}-{node}", will=(self.topic("NDEATH"), death))
        self.subscribe(self.topic("NCMD"))

    def topic(self, kind: str) -> str:
        return f"spBv1.0/{self.group}/{kind}/{self.node}"

    def birth(self, ts_ms: int, temp: float = 20.0) -> None:
        self.seq = 0
        self.publish(
            self.topic("NBIRTH"),
            encode_payload(
                timestamp_ms=ts_ms,
                seq=0,
                metrics=[
                    bdseq_metric(self.bdseq),
                    Metric(name="Node Control/Rebirth", datatype=DataType.Boolean, value=False),
                    Metric(name="Line/Temperature", alias=10, datatype=DataType.Double, value=temp),
                    Metric(name="Line/Count", alias=11, datatype=DataType.Int32, value=-5),
                    Metric(name="Line/Running", alias=12, datatype=DataType.Boolean, value=True),
                    Metric(name="Line/Label", alias=13, datatype=DataType.String, value="x"),
                    Metric(name="Line/Unmapped", alias=14, datatype=DataType.Float, value=1.5),
                ],
            ),
        )

    def data(self, ts_ms: int, metrics: list[Metric], *, seq: int | None = None) -> None:
        self.seq = (self.seq + 1) % 256 if seq is None else seq
        self.publish(
            self.topic("NDATA"),
            encode_payload(
                timestamp_ms=ts_ms, seq=self.seq, metrics=metrics, include_datatype=False
            ),
        )

    def death(self, bdseq: int, ts_ms: int) -> None:
        payload = encode_payload(timestamp_ms=ts_ms, seq=None, metrics=[bdseq_metric(bdseq)])
        self.publish(self.topic("NDEATH"), payload)


def temp(alias: int = 10, value: float = 21.5, ts_ms: int | None = None) -> Metric:
    return Metric(alias=alias, datatype=DataType.Double, value=value, timestamp_ms=ts_ms)


async def gather(
    host: SparkplugHost, done: Callable[[SampleBatch], bool], timeout: float = WAIT_S
) -> SampleBatch:
    """Collect until ``done`` holds for everything collected so far."""
    batches: list[SampleBatch] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        batches.append(await host.collect())
        total = SampleBatch.concat(batches)
        if done(total):
            return total
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out; got {total.tag_id.tolist()}, {total.value.tolist()}")
        await asyncio.sleep(0.02)


async def until(cond: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def has(tag: int, code: int | None = None) -> Callable[[SampleBatch], bool]:
    def check(b: SampleBatch) -> bool:
        mask = b.tag_id == tag
        if code is not None:
            mask &= b.quality == code
        return bool(mask.any())

    return check


def rows(b: SampleBatch, tag: int) -> list[tuple[int, float, int]]:
    m = b.tag_id == tag
    return list(zip(b.ts[m].tolist(), b.value[m].tolist(), b.quality[m].tolist(), strict=True))


def expect_rebirth(edge: EdgeNode) -> None:
    msg = edge.next_message()
    assert msg.topic == edge.topic("NCMD")
    payload = decode_payload(bytes(msg.payload))
    assert payload.seq is None
    assert [(m.name, m.datatype, m.value) for m in payload.metrics] == [
        ("Node Control/Rebirth", DataType.Boolean, True)
    ]


# ----------------------------------------------------------------------------- tests


def test_birth_and_data_by_alias_become_samples(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G1", "h1")
        await host.connect()
        edge = EdgeNode(broker, "G1")
        try:
            edge.birth(BASE_MS + 1000, temp=20.0)
            b = await gather(host, has(RUNNING))
            assert rows(b, TEMP) == [((BASE_MS + 1000) * 1_000_000, 20.0, quality.GOOD)]
            assert rows(b, COUNT) == [((BASE_MS + 1000) * 1_000_000, -5.0, quality.GOOD)]
            assert rows(b, RUNNING) == [((BASE_MS + 1000) * 1_000_000, 1.0, quality.GOOD)]
            assert host.metrics()["non_numeric"] == 0  # Line/Label is not mapped

            edge.data(
                BASE_MS + 2000,
                [
                    temp(value=22.25, ts_ms=BASE_MS + 1900),
                    Metric(alias=11, datatype=DataType.Int32, value=-7),  # payload timestamp
                    Metric(alias=12, datatype=DataType.Boolean, value=False),
                    Metric(alias=14, datatype=DataType.Float, value=2.5),  # not mapped
                    Metric(
                        alias=10,
                        datatype=DataType.Double,
                        value=19.0,
                        timestamp_ms=BASE_MS + 1500,
                        is_historical=True,
                    ),
                ],
            )
            b = await gather(host, has(RUNNING))
            assert rows(b, TEMP) == [
                ((BASE_MS + 1900) * 1_000_000, 22.25, quality.GOOD),
                ((BASE_MS + 1500) * 1_000_000, 19.0, quality.GOOD),
            ]
            assert rows(b, COUNT) == [((BASE_MS + 2000) * 1_000_000, -7.0, quality.GOOD)]
            assert rows(b, RUNNING) == [((BASE_MS + 2000) * 1_000_000, 0.0, quality.GOOD)]
            m = host.metrics()
            assert m["historical"] == 1
            assert m["rebirths_requested"] == 0 and m["malformed"] == 0
            assert m["edge_nodes_online"] == 1
            assert edge.received.empty()  # no NCMD for a well-behaved node
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_seq_gap_requests_rebirth_and_marks_tags_uncertain(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G2", "h2")
        await host.connect()
        edge = EdgeNode(broker, "G2")
        try:
            edge.birth(BASE_MS, temp=20.0)
            edge.data(BASE_MS + 100, [temp(value=21.0)])
            await gather(host, lambda b: 21.0 in b.value[b.tag_id == TEMP])

            edge.data(BASE_MS + 300, [temp(value=99.0)], seq=edge.seq + 2)  # one lost
            expect_rebirth(edge)
            b = await gather(host, has(TEMP, quality.UNCERTAIN_LAST_USABLE_VALUE))
            assert rows(b, TEMP) == [(BASE_NS, 21.0, quality.UNCERTAIN_LAST_USABLE_VALUE)]
            assert rows(b, COUNT) == [(BASE_NS, -5.0, quality.UNCERTAIN_LAST_USABLE_VALUE)]
            assert host.metrics()["rebirths_requested"] == 1
            assert host.metrics()["seq_gaps"] == 1

            # data while the rebirth is pending is discarded; the new birth resumes the flow
            edge.data(BASE_MS + 400, [temp(value=98.0)])
            edge.birth(BASE_MS + 500, temp=23.0)
            edge.data(BASE_MS + 600, [temp(value=24.0)])
            b = await gather(host, lambda b: 24.0 in b.value)
            assert [v for _, v, _ in rows(b, TEMP)] == [23.0, 24.0]
            assert host.metrics()["discarded_awaiting_rebirth"] == 1
            assert host.metrics()["rebirths_requested"] == 1
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_unknown_alias_requests_rebirth(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G3", "h3")
        await host.connect()
        edge = EdgeNode(broker, "G3")
        try:
            edge.birth(BASE_MS)
            await gather(host, has(TEMP))
            edge.data(BASE_MS + 100, [temp(value=30.0), temp(alias=77, value=1.0)])
            expect_rebirth(edge)
            b = await gather(host, has(TEMP, quality.UNCERTAIN_LAST_USABLE_VALUE))
            assert 30.0 not in b.value  # the message with the unknown alias is dropped whole
            assert host.metrics()["unknown_aliases"] == 1
            assert host.metrics()["rebirths_requested"] == 1
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_data_from_a_node_without_birth_requests_rebirth(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G4", "h4")
        await host.connect()
        edge = EdgeNode(broker, "G4")
        try:
            edge.data(BASE_MS, [temp(value=1.0)], seq=5)
            expect_rebirth(edge)
            await until(lambda: host.metrics()["rebirths_requested"] == 1)
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_ndeath_with_stale_bdseq_is_ignored_and_current_marks_bad(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G5", "h5")
        await host.connect()
        edge = EdgeNode(broker, "G5", bdseq=3)
        try:
            edge.birth(BASE_MS)
            await gather(host, has(RUNNING))
            edge.death(2, BASE_MS + 100)  # the Will of an older session
            await until(lambda: host.metrics()["stale_deaths"] == 1)
            edge.data(BASE_MS + 200, [temp(value=25.0)])
            b = await gather(host, lambda b: 25.0 in b.value)
            assert not quality.is_bad(b.quality).any()

            edge.death(3, BASE_MS + 300)
            b = await gather(host, has(RUNNING, quality.BAD_NO_COMMUNICATION))
            for tag in (TEMP, COUNT, RUNNING):
                [(ts, value, code)] = rows(b, tag)
                assert ts == BASE_NS and math.isnan(value)  # the host's time of the death
                assert code == quality.BAD_NO_COMMUNICATION
            assert OTHER_NODE_TEMP not in b.tag_id
            assert host.metrics()["node_deaths"] == 1
            assert host.metrics()["edge_nodes_online"] == 0
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_malformed_payloads_are_counted_and_the_host_keeps_working(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G6", "h6")
        await host.connect()
        edge = EdgeNode(broker, "G6")
        try:
            edge.birth(BASE_MS)
            await gather(host, has(TEMP))
            good = encode_payload(
                timestamp_ms=BASE_MS + 100,
                seq=1,
                metrics=[temp(value=42.0)],
                include_datatype=False,
            )
            edge.publish(edge.topic("NDATA"), b"\xff\xff\xff\xff not protobuf")
            edge.publish(edge.topic("NDATA"), good[:-3])  # truncated inside the double
            edge.publish("spBv1.0/G6/NDATA", good)  # a topic with too few elements
            await until(lambda: host.metrics()["malformed"] == 3)
            edge.publish(edge.topic("NDATA"), good)
            b = await gather(host, lambda b: 42.0 in b.value)
            assert rows(b, TEMP)[-1] == ((BASE_MS + 100) * 1_000_000, 42.0, quality.GOOD)
            assert host.metrics()["rebirths_requested"] == 0
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_state_online_retained_then_offline_on_close(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G7", "h7")
        await host.connect()
        observer = MqttPeer(broker, "observer-h7")
        try:
            observer.subscribe("spBv1.0/STATE/h7")
            msg = observer.next_message()
            assert msg.retain and msg.qos == 1
            assert json.loads(msg.payload) == {"online": True, "timestamp": BASE_MS}
            await host.close()
            msg = observer.next_message()
            assert json.loads(msg.payload) == {"online": False, "timestamp": BASE_MS}
        finally:
            observer.stop()
            await host.close()

    asyncio.run(main())


def test_will_says_offline_when_the_connection_dies(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G8", "h8")
        await host.connect()
        observer = MqttPeer(broker, "observer-h8")
        try:
            observer.subscribe("spBv1.0/STATE/h8")
            assert json.loads(observer.next_message().payload)["online"] is True
            assert host._client is not None
            sock = host._client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)  # no DISCONNECT: the broker sends the Will
            msg = observer.next_message()
            assert json.loads(msg.payload) == {"online": False, "timestamp": BASE_MS}
            await until(lambda: not host.metrics()["connected"])
            with pytest.raises(ConnectionError):
                await host.collect()
        finally:
            observer.stop()
            await host.close()

    asyncio.run(main())


def test_connect_raises_when_no_broker_listens(tmp_path: Path) -> None:
    from tests.support.mosquitto import free_port

    host = SparkplugHost(
        broker_host="127.0.0.1",
        broker_port=free_port(),
        host_id="nobody",
        tag_map={},
        connect_timeout_s=1.0,
    )
    with pytest.raises(ConnectionError):
        asyncio.run(host.connect())
    assert np.asarray(host.tag_ids).size == 0
