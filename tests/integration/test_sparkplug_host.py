"""The Sparkplug B host application against a real Mosquitto broker, with an edge node
simulated by paho-mqtt and the PlantOS codec: births with aliases, data by alias, seq
gaps and unknown aliases answered with a Rebirth NCMD, stale and current NDEATHs,
malformed payloads, and the host's STATE birth, death and Will. The device level: DBIRTH
and DDATA by alias, DDATA without DBIRTH, DDEATH and NDEATH marking device tags, and the
host under the Supervisor across a broker restart on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import queue
import random
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug import (
    DataType,
    Metric,
    bdseq_metric,
    decode_payload,
    encode_payload,
)
from plantos.edge.sparkplug.host import SparkplugHost
from plantos.edge.supervisor import Supervisor
from tests.support import mosquitto as mosquitto_support
from tests.support.mosquitto import Broker, mosquitto_binary, running_mosquitto
from tests.support.waiting import WAIT_S, gather, until

pytestmark = pytest.mark.timeout(30)

BASE_NS = 1_750_000_000_000_000_000
BASE_MS = BASE_NS // 1_000_000

TEMP, COUNT, RUNNING, OTHER_NODE_TEMP = 1, 2, 3, 9
D1_TEMP, D1_SPEED, D1_ALARM, D2_SPEED = 21, 22, 23, 31


def tag_map(group: str) -> dict[tuple[str, str, str | None, str], int]:
    return {
        (group, "E1", None, "Line/Temperature"): TEMP,
        (group, "E1", None, "Line/Count"): COUNT,
        (group, "E1", None, "Line/Running"): RUNNING,
        (group, "E2", None, "Line/Temperature"): OTHER_NODE_TEMP,
    }


def device_tag_map(group: str) -> dict[tuple[str, str, str | None, str], int]:
    """The node's tags plus two devices of E1; D1 reuses the node's metric name."""
    return {
        **tag_map(group),
        (group, "E1", "D1", "Line/Temperature"): D1_TEMP,
        (group, "E1", "D1", "Dev/Speed"): D1_SPEED,
        (group, "E1", "D1", "Dev/Alarm"): D1_ALARM,
        (group, "E1", "D2", "Dev/Speed"): D2_SPEED,
    }


def make_host(
    broker: Broker,
    group: str,
    host_id: str,
    tags: dict[tuple[str, str, str | None, str], int] | None = None,
) -> SparkplugHost:
    return SparkplugHost(
        server=MqttServer(broker.host, broker.port),
        host_id=host_id,
        group_filter=group,
        tag_map=tag_map(group) if tags is None else tags,
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

    def device_topic(self, kind: str, device: str) -> str:
        return f"{self.topic(kind)}/{device}"

    def device_message(
        self, kind: str, device: str, ts_ms: int, metrics: list[Metric], *, birth: bool = False
    ) -> None:
        """DBIRTH/DDATA/DDEATH: the node's next seq, datatypes on the wire only in a birth."""
        self.seq = (self.seq + 1) % 256
        self.publish(
            self.device_topic(kind, device),
            encode_payload(
                timestamp_ms=ts_ms, seq=self.seq, metrics=metrics, include_datatype=birth
            ),
        )

    def dbirth(self, device: str, ts_ms: int, metrics: list[Metric]) -> None:
        self.device_message("DBIRTH", device, ts_ms, metrics, birth=True)

    def ddata(self, device: str, ts_ms: int, metrics: list[Metric]) -> None:
        self.device_message("DDATA", device, ts_ms, metrics)

    def ddeath(self, device: str, ts_ms: int) -> None:
        self.device_message("DDEATH", device, ts_ms, [])


def temp(alias: int = 10, value: float = 21.5, ts_ms: int | None = None) -> Metric:
    return Metric(alias=alias, datatype=DataType.Double, value=value, timestamp_ms=ts_ms)


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


# ----------------------------------------------------------------------------- devices


def d1_birth_metrics(temp_value: float = 50.0) -> list[Metric]:
    return [
        Metric(name="Line/Temperature", alias=100, datatype=DataType.Double, value=temp_value),
        Metric(name="Dev/Speed", alias=101, datatype=DataType.Int32, value=1200),
        Metric(name="Dev/Alarm", alias=102, datatype=DataType.Boolean, value=False),
        Metric(name="Dev/Note", alias=103, datatype=DataType.String, value="n"),
    ]


def d2_birth_metrics(speed: int = 700) -> list[Metric]:
    return [Metric(name="Dev/Speed", alias=200, datatype=DataType.UInt16, value=speed)]


def d1_speed(value: int) -> Metric:
    return Metric(alias=101, datatype=DataType.Int32, value=value)


def d2_speed(value: int) -> Metric:
    return Metric(alias=200, datatype=DataType.UInt16, value=value)


async def birth_node_and_devices(host: SparkplugHost, edge: EdgeNode, ts_ms: int) -> SampleBatch:
    """NBIRTH, then DBIRTH of D1 and D2; returns the samples of the three births."""
    edge.birth(ts_ms)
    edge.dbirth("D1", ts_ms + 10, d1_birth_metrics())
    edge.dbirth("D2", ts_ms + 20, d2_birth_metrics())
    return await gather(host, lambda b: has(D2_SPEED)(b) and has(RUNNING)(b))


def test_device_birth_and_data_by_alias_become_samples(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G10", "h10", device_tag_map("G10"))
        await host.connect()
        edge = EdgeNode(broker, "G10")
        try:
            b = await birth_node_and_devices(host, edge, BASE_MS + 1000)
            ns = 1_000_000
            assert rows(b, TEMP) == [((BASE_MS + 1000) * ns, 20.0, quality.GOOD)]
            # the same metric name on D1 is its own tag (the key includes the device)
            assert rows(b, D1_TEMP) == [((BASE_MS + 1010) * ns, 50.0, quality.GOOD)]
            assert rows(b, D1_SPEED) == [((BASE_MS + 1010) * ns, 1200.0, quality.GOOD)]
            assert rows(b, D1_ALARM) == [((BASE_MS + 1010) * ns, 0.0, quality.GOOD)]
            assert rows(b, D2_SPEED) == [((BASE_MS + 1020) * ns, 700.0, quality.GOOD)]

            edge.ddata(
                "D1",
                BASE_MS + 2000,
                [
                    Metric(alias=100, datatype=DataType.Double, value=51.5),
                    d1_speed(-3),  # Int32 by alias: the datatype comes from the DBIRTH
                    Metric(
                        alias=102,
                        datatype=DataType.Boolean,
                        value=True,
                        timestamp_ms=BASE_MS + 1990,
                    ),
                ],
            )
            edge.ddata("D2", BASE_MS + 2100, [d2_speed(65535)])
            b = await gather(host, has(D2_SPEED))
            assert rows(b, D1_TEMP) == [((BASE_MS + 2000) * ns, 51.5, quality.GOOD)]
            assert rows(b, D1_SPEED) == [((BASE_MS + 2000) * ns, -3.0, quality.GOOD)]
            assert rows(b, D1_ALARM) == [((BASE_MS + 1990) * ns, 1.0, quality.GOOD)]
            assert rows(b, D2_SPEED) == [((BASE_MS + 2100) * ns, 65535.0, quality.GOOD)]
            assert TEMP not in b.tag_id  # device data never feeds the node's own tag
            m = host.metrics()
            assert m["rebirths_requested"] == 0 and m["malformed"] == 0
            assert m["unknown_aliases"] == 0 and m["seq_gaps"] == 0
            assert edge.received.empty()
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_ddata_without_dbirth_requests_rebirth(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G11", "h11", device_tag_map("G11"))
        await host.connect()
        edge = EdgeNode(broker, "G11")
        try:
            edge.birth(BASE_MS)
            edge.data(BASE_MS + 100, [temp(value=21.0)])
            await gather(host, lambda b: 21.0 in b.value)

            edge.ddata("D1", BASE_MS + 200, [d1_speed(5)])  # D1 never sent a DBIRTH
            expect_rebirth(edge)
            b = await gather(host, has(TEMP, quality.UNCERTAIN_LAST_USABLE_VALUE))
            assert rows(b, TEMP) == [(BASE_NS, 21.0, quality.UNCERTAIN_LAST_USABLE_VALUE)]
            # the node's tags include its devices'; D1 never had a value: no "last usable
            # value" is made up (a NaN that claims to be usable is what the gate marks
            # BadOutOfRange)
            assert rows(b, D1_SPEED) == []
            m = host.metrics()
            assert m["rebirths_requested"] == 1 and m["seq_gaps"] == 0 and m["malformed"] == 0

            # the rebirth: NBIRTH and DBIRTH, after which the device's data flows
            edge.birth(BASE_MS + 300)
            edge.dbirth("D1", BASE_MS + 310, d1_birth_metrics())
            edge.ddata("D1", BASE_MS + 320, [d1_speed(6)])
            b = await gather(host, lambda b: 6.0 in b.value[b.tag_id == D1_SPEED])
            assert rows(b, D1_SPEED) == [
                ((BASE_MS + 310) * 1_000_000, 1200.0, quality.GOOD),
                ((BASE_MS + 320) * 1_000_000, 6.0, quality.GOOD),
            ]
            assert host.metrics()["rebirths_requested"] == 1
            assert edge.received.empty()
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_ddeath_marks_only_that_devices_tags_bad(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G12", "h12", device_tag_map("G12"))
        await host.connect()
        edge = EdgeNode(broker, "G12")
        try:
            await birth_node_and_devices(host, edge, BASE_MS)

            edge.ddeath("D1", BASE_MS + 500)
            b = await gather(host, has(D1_SPEED, quality.BAD_NO_COMMUNICATION))
            assert sorted(set(b.tag_id.tolist())) == [D1_TEMP, D1_SPEED, D1_ALARM]
            for tag in (D1_TEMP, D1_SPEED, D1_ALARM):
                [(ts, value, code)] = rows(b, tag)
                assert ts == (BASE_MS + 500) * 1_000_000  # the DDEATH's timestamp
                assert math.isnan(value) and code == quality.BAD_NO_COMMUNICATION
            assert host.metrics()["device_deaths"] == 1

            # the node and its other device carry on, good
            edge.data(BASE_MS + 600, [temp(value=22.0)])
            edge.ddata("D2", BASE_MS + 700, [d2_speed(701)])
            b = await gather(host, has(D2_SPEED))
            assert rows(b, TEMP) == [((BASE_MS + 600) * 1_000_000, 22.0, quality.GOOD)]
            assert rows(b, D2_SPEED) == [((BASE_MS + 700) * 1_000_000, 701.0, quality.GOOD)]
            assert not quality.is_bad(b.quality).any()
            m = host.metrics()
            assert m["edge_nodes_online"] == 1 and m["node_deaths"] == 0
            assert m["rebirths_requested"] == 0
            assert edge.received.empty()
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_ndeath_marks_the_node_and_its_devices_bad(broker: Broker) -> None:
    async def main() -> None:
        host = make_host(broker, "G13", "h13", device_tag_map("G13"))
        await host.connect()
        edge = EdgeNode(broker, "G13", bdseq=7)
        try:
            await birth_node_and_devices(host, edge, BASE_MS)

            edge.death(7, BASE_MS + 900)
            b = await gather(host, has(D2_SPEED, quality.BAD_NO_COMMUNICATION))
            node_and_devices = [TEMP, COUNT, RUNNING, D1_TEMP, D1_SPEED, D1_ALARM, D2_SPEED]
            assert sorted(b.tag_id.tolist()) == sorted(node_and_devices)
            assert OTHER_NODE_TEMP not in b.tag_id
            for tag in node_and_devices:
                [(ts, value, code)] = rows(b, tag)
                assert ts == BASE_NS and math.isnan(value)  # the host's time of the death
                assert code == quality.BAD_NO_COMMUNICATION
            m = host.metrics()
            assert m["node_deaths"] == 1 and m["stale_deaths"] == 0
            assert m["edge_nodes_online"] == 0

            # the devices died with the node: their data needs a new birth sequence
            edge.ddata("D2", BASE_MS + 1000, [d2_speed(9)])
            expect_rebirth(edge)
            await until(lambda: host.metrics()["discarded_awaiting_rebirth"] == 1)
            # a dead node's tags stay Bad: no stale value comes back as "last usable"
            assert len(await host.collect()) == 0
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


# ----------------------------------------------------------------------------- supervisor


def test_host_under_supervisor_survives_a_broker_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    async def main() -> None:
        with contextlib.ExitStack() as first:
            broker = first.enter_context(running_mosquitto(tmp_path / "a"))
            tags = tag_map("G14")
            host = make_host(broker, "G14", "h14", tags)
            sunk: list[SampleBatch] = []

            async def sink(batch: SampleBatch) -> None:
                sunk.append(batch)

            def collected() -> SampleBatch:
                return SampleBatch.concat(sunk) if sunk else SampleBatch.empty()

            supervisor = Supervisor(
                host,
                sink,
                clock=ManualClock(BASE_NS),
                backoff_initial_s=0.05,
                backoff_max_s=0.2,
                rng=random.Random(0),
            )
            task = asyncio.create_task(supervisor.run())
            edge = EdgeNode(broker, "G14")
            try:
                edge.subscribe("spBv1.0/STATE/h14")  # as an edge node waits for its host
                # off the event loop, which runs the Supervisor
                msg = await asyncio.to_thread(edge.next_message)
                assert json.loads(msg.payload)["online"] is True
                edge.birth(BASE_MS, temp=20.0)
                await until(lambda: has(TEMP)(collected()))
                assert supervisor.connects == 1
            finally:
                edge.stop()
            first.close()  # the broker goes away; no STATE survives it (no persistence)

            # the link is lost: the Supervisor marks every tag bad and retries
            await until(lambda: has(TEMP, quality.BAD_COMMUNICATION_ERROR)(collected()))
            assert not supervisor.connected and supervisor.errors >= 1

            monkeypatch.setattr(mosquitto_support, "free_port", lambda: broker.port)
            with running_mosquitto(tmp_path / "b") as again:
                assert again.port == broker.port
                edge = EdgeNode(again, "G14")
                try:
                    edge.subscribe("spBv1.0/STATE/h14")
                    state = json.loads((await asyncio.to_thread(edge.next_message)).payload)
                    assert state["online"] is True  # republished by the reconnected host
                    await until(lambda: supervisor.connected)
                    assert supervisor.reconnects == 1
                    assert host.metrics()["edge_nodes_online"] == 0  # a new session

                    sunk.clear()
                    edge.birth(BASE_MS + 1000, temp=30.0)
                    edge.data(BASE_MS + 1100, [temp(value=31.0)])
                    await until(lambda: 31.0 in collected().value)
                    assert rows(collected(), TEMP) == [
                        ((BASE_MS + 1000) * 1_000_000, 30.0, quality.GOOD),
                        ((BASE_MS + 1100) * 1_000_000, 31.0, quality.GOOD),
                    ]
                    assert host.metrics()["rebirths_requested"] == 0
                finally:
                    edge.stop()
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            assert host.metrics()["connected"] is False

    asyncio.run(main())


def test_connect_raises_when_no_broker_listens(tmp_path: Path) -> None:
    from tests.support.mosquitto import free_port

    host = SparkplugHost(
        server=MqttServer("127.0.0.1", free_port()),
        host_id="nobody",
        tag_map={},
        connect_timeout_s=1.0,
    )
    with pytest.raises(ConnectionError):
        asyncio.run(host.connect())
    assert np.asarray(host.tag_ids).size == 0
