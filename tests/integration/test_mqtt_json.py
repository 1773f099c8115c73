"""The MQTT JSON connector against a real Mosquitto broker and a paho publisher: topic
captures into tag paths, documents carrying several tags, timestamps in each format,
quality, unknown tags, malformed and oversized payloads (and a fuzzed handler), the
connector under the Supervisor across a broker restart, a TLS listener with a CA made in
the test (and a server the CA did not sign refused), and user name with password."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import random
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.mqtt.json_config import MqttJsonSpec
from plantos.edge.mqtt.json_connector import MqttJsonConnector
from plantos.edge.supervisor import Supervisor
from tests.support import mosquitto as mosquitto_support
from tests.support.certs import make_ca, make_server_certificate
from tests.support.mosquitto import (
    Broker,
    ListenerTls,
    mosquitto_binary,
    mosquitto_passwd_binary,
    running_mosquitto,
)
from tests.support.waiting import WAIT_S, gather, until

pytestmark = pytest.mark.timeout(60)

BASE_NS = 1_750_000_000_000_000_000
BASE_MS = BASE_NS // 1_000_000
NO_BROKER = "the mosquitto broker binary (/usr/sbin/mosquitto) is not installed"

ST10 = "plant-a/assembly/line-3/st-10"
TAGS = {
    f"{ST10}/speed": 1,
    f"{ST10}/temperature": 2,
    f"{ST10}/good_count": 3,
    f"{ST10}/scrap_count": 4,
    f"{ST10}/running": 5,
    "plant-a/assembly/line-3/st-20/speed": 6,
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if mosquitto_binary() is None:
        pytest.skip(NO_BROKER)
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


def make_connector(
    url: str, subscriptions: list[dict[str, Any]], **fields: Any
) -> MqttJsonConnector:
    spec = MqttJsonSpec.model_validate(
        {
            "kind": "mqtt-json",
            "name": fields.pop("name", "uns"),
            "broker": url,
            "interval": "50ms",
            "subscriptions": subscriptions,
            **fields,
        }
    )
    return MqttJsonConnector(spec, TAGS, clock=ManualClock(BASE_NS), connect_timeout_s=WAIT_S)


UNS = {
    "topic": "acme/{site}/{area}/{line}/{station}/{signal}",
    "tag": "{site}/{area}/{line}/{station}/{signal}",
    "value": "$.value",
    "timestamp": "$.timestamp",
    "quality": "$.quality",
}


class Publisher:
    """A plain paho client publishing with QoS 1 and waiting for the broker's PUBACK."""

    def __init__(
        self, broker: Broker, *, ca_file: Path | None = None, user: tuple[str, str] | None = None
    ) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{random.random()}")
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        if user is not None:
            self.client.username_pw_set(*user)
        connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: connected.set()
        self.client.connect(broker.host, broker.port, 10)
        self.client.loop_start()
        assert connected.wait(WAIT_S), "the publisher could not connect"

    def send(self, topic: str, payload: bytes | str | dict[str, Any]) -> None:
        body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
        self.client.publish(topic, body, qos=1).wait_for_publish(WAIT_S)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextlib.contextmanager
def publisher(broker: Broker, **kwargs: Any) -> Iterator[Publisher]:
    pub = Publisher(broker, **kwargs)
    try:
        yield pub
    finally:
        pub.stop()


def rows(b: SampleBatch) -> list[tuple[int, int, float, int]]:
    return list(
        zip(b.tag_id.tolist(), b.ts.tolist(), b.value.tolist(), b.quality.tolist(), strict=True)
    )


def count(n: int) -> Callable[[SampleBatch], bool]:
    return lambda b: len(b) >= n


# ----------------------------------------------------------------------------- mapping


def test_captures_become_tags_with_timestamp_and_quality(broker: Broker) -> None:
    async def main() -> None:
        conn = make_connector(f"mqtt://{broker.host}:{broker.port}", [UNS])
        await conn.connect()
        try:
            assert list(conn.tag_ids) == [1, 2, 3, 4, 5, 6]
            with publisher(broker) as pub:
                topic = f"acme/{ST10}"
                pub.send(f"{topic}/speed", {"value": 12.5, "timestamp": BASE_MS, "quality": 0})
                pub.send(
                    f"{topic}/temperature",
                    {"value": "81.25", "timestamp": BASE_MS + 1, "quality": "uncertain"},
                )
                pub.send(
                    f"{topic}/running", {"value": True, "timestamp": BASE_MS + 2, "quality": "good"}
                )
                pub.send(
                    "acme/plant-a/assembly/line-3/st-20/speed",
                    {"value": None, "timestamp": BASE_MS + 3, "quality": 0},
                )
                pub.send(f"{topic}/no_such_signal", {"value": 1, "timestamp": 1, "quality": 0})
                pub.send(
                    f"{topic}/good_count",
                    {"value": 7, "timestamp": BASE_MS + 4, "quality": 0x80310000},
                )
                b = await gather(conn, count(5))
                await until(lambda: conn.metrics()["unknown_tags"] == 1)
            ms = 1_000_000
            got = rows(b)
            assert got[0] == (1, BASE_NS, 12.5, quality.GOOD)
            assert got[1] == (2, BASE_NS + ms, 81.25, quality.UNCERTAIN)
            assert got[2] == (5, BASE_NS + 2 * ms, 1.0, quality.GOOD)
            assert got[3][:2] == (6, BASE_NS + 3 * ms) and math.isnan(got[3][2])
            assert got[3][3] == quality.BAD  # null: no value, whatever the quality said
            assert got[4] == (3, BASE_NS + 4 * ms, 7.0, quality.BAD_NO_COMMUNICATION)
            m = conn.metrics()
            assert (m["messages"], m["samples_buffered"], m["malformed"]) == (6, 5, 0)
            assert m["connected"] is True and m["last_message_age_s"] == 0.0
        finally:
            await conn.close()
        assert conn.metrics()["connected"] is False

    asyncio.run(main())


@pytest.mark.parametrize(
    ("fmt", "stamp"),
    [
        ("epoch_ms", BASE_MS + 250),
        ("epoch_s", (BASE_MS + 250) / 1000),
        ("iso8601", "2025-06-15T17:06:40.250+02:00"),
    ],
)
def test_one_document_feeds_several_tags_with_its_timestamp(
    broker: Broker, fmt: str, stamp: object
) -> None:
    async def main() -> None:
        topic = f"acme/{ST10}/metrics/{fmt}"
        conn = make_connector(
            f"mqtt://{broker.host}:{broker.port}",
            [
                {
                    "topic": topic,
                    "timestamp": "$.meta.time",
                    "timestamp_format": fmt,
                    "fields": [
                        {"tag": f"{ST10}/good_count", "value": "$.counts.good"},
                        {"tag": f"{ST10}/scrap_count", "value": "$.counts['scrap']"},
                        {"tag": f"{ST10}/speed", "value": "$.speeds[-1]"},
                    ],
                }
            ],
            name=f"fields-{fmt}",
        )
        await conn.connect()
        try:
            with publisher(broker) as pub:
                doc = {"meta": {"time": stamp}, "counts": {"good": 120, "scrap": 3}}
                pub.send(topic, {**doc, "speeds": [1.0, 2.5]})
                b = await gather(conn, count(3))
            ts = BASE_NS + 250_000_000
            assert rows(b) == [
                (3, ts, 120.0, quality.GOOD),
                (4, ts, 3.0, quality.GOOD),
                (1, ts, 2.5, quality.GOOD),
            ]
        finally:
            await conn.close()

    asyncio.run(main())


def test_without_a_timestamp_path_the_receive_time_is_used(broker: Broker) -> None:
    async def main() -> None:
        conn = make_connector(
            f"mqtt://{broker.host}:{broker.port}",
            [{"topic": "bare/{signal}", "tag": f"{ST10}/{{signal}}", "value": "$"}],
            name="bare",
        )
        await conn.connect()
        try:
            with publisher(broker) as pub:
                pub.send("bare/speed", b"42")
                pub.send("bare/temperature", b'"-3.5"')
                b = await gather(conn, count(2))
            assert rows(b) == [(1, BASE_NS, 42.0, quality.GOOD), (2, BASE_NS, -3.5, quality.GOOD)]
        finally:
            await conn.close()

    asyncio.run(main())


# ----------------------------------------------------------------------------- bad input


def test_malformed_and_oversized_payloads_are_counted_and_the_connector_carries_on(
    broker: Broker,
) -> None:
    async def main() -> None:
        conn = make_connector(
            f"mqtt://{broker.host}:{broker.port}",
            [{"topic": "bad/{signal}", "tag": f"{ST10}/{{signal}}", "value": "$.v"}],
            name="bad",
            max_payload_bytes=64,
        )
        await conn.connect()
        try:
            with publisher(broker) as pub:
                bad: list[bytes] = [
                    b"\xff\xfe not utf-8",
                    b"{not json",
                    b'{"v": NaN}',
                    b'{"v": {"nested": 1}}',
                    b'{"v": [1]}',
                    b'{"w": 1}',
                    b"[1, 2]",
                    b'{"v": 1, "pad": "' + b"x" * 64 + b'"}',
                ]
                for payload in bad:
                    pub.send("bad/speed", payload)
                await until(lambda: conn.metrics()["messages"] == len(bad))
                m = conn.metrics()
                assert (m["malformed"], m["oversized"], m["samples_buffered"]) == (len(bad), 1, 0)
                pub.send("bad/speed", b'{"v": "fast"}')  # not a number, but a value:
                pub.send("bad/speed", b'{"v": 5}')  # the gate marks the text Bad
                b = await gather(conn, count(2))
            assert rows(b)[1] == (1, BASE_NS, 5.0, quality.GOOD)
            assert b.exact is not None and b.exact.tolist() == ["fast", None]
            assert conn.metrics()["connected"] is True
        finally:
            await conn.close()

    asyncio.run(main())


def test_a_document_with_one_bad_field_still_gives_the_good_ones(broker: Broker) -> None:
    async def main() -> None:
        conn = make_connector(
            f"mqtt://{broker.host}:{broker.port}",
            [
                {
                    "topic": "partial",
                    "fields": [
                        {"tag": f"{ST10}/good_count", "value": "$.good"},
                        {"tag": f"{ST10}/scrap_count", "value": "$.scrap"},
                    ],
                }
            ],
            name="partial",
        )
        await conn.connect()
        try:
            with publisher(broker) as pub:
                pub.send("partial", {"good": 9, "scrap": {"n/a": True}})
                b = await gather(conn, count(1))
            assert rows(b) == [(3, BASE_NS, 9.0, quality.GOOD)]
            assert conn.metrics()["malformed"] == 1
        finally:
            await conn.close()

    asyncio.run(main())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_payloads = st.binary(max_size=200) | _json.map(lambda d: json.dumps(d).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=st.lists(_payloads, min_size=1, max_size=5))
def test_the_handler_never_raises_and_counts_every_message(payloads: list[bytes]) -> None:
    """Each message gives one sample or one count of malformed, whatever its bytes."""
    conn = make_connector(
        "mqtt://127.0.0.1:1",
        [{"topic": "f/{signal}", "tag": f"{ST10}/{{signal}}", "value": "$", "quality": "$"}],
        max_payload_bytes=150,
    )
    for payload in payloads:
        conn.handle("f/speed", payload)
    m = conn.metrics()
    assert m["messages"] == len(payloads)
    assert m["malformed"] + m["samples_buffered"] == len(payloads)


# ----------------------------------------------------------------------------- supervisor


def test_connector_under_supervisor_survives_a_broker_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip(NO_BROKER)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    simple = {"topic": "sup/{signal}", "tag": f"{ST10}/{{signal}}", "value": "$"}

    async def main() -> None:
        with contextlib.ExitStack() as first:
            broker = first.enter_context(running_mosquitto(tmp_path / "a"))
            conn = make_connector(f"mqtt://{broker.host}:{broker.port}", [simple])
            sunk: list[SampleBatch] = []

            async def sink(batch: SampleBatch) -> None:
                sunk.append(batch)

            def collected() -> SampleBatch:
                return SampleBatch.concat(sunk) if sunk else SampleBatch.empty()

            supervisor = Supervisor(
                conn,
                sink,
                clock=ManualClock(BASE_NS),
                backoff_initial_s=0.05,
                backoff_max_s=0.2,
                rng=random.Random(0),
            )
            task = asyncio.create_task(supervisor.run())
            try:
                await until(lambda: supervisor.connected)
                # paho's blocking calls run off the event loop, which runs the Supervisor
                pub = await asyncio.to_thread(Publisher, broker)
                try:
                    await asyncio.to_thread(pub.send, "sup/speed", b"1.5")
                    await until(lambda: 1.5 in collected().value)
                finally:
                    await asyncio.to_thread(pub.stop)
                first.close()  # the broker goes away

                def marked_bad() -> bool:
                    b = collected()
                    return bool(
                        ((b.tag_id == 1) & (b.quality == quality.BAD_COMMUNICATION_ERROR)).any()
                    )

                await until(marked_bad)  # the Supervisor marks the tags bad and retries
                assert not supervisor.connected and supervisor.errors >= 1

                monkeypatch.setattr(mosquitto_support, "free_port", lambda: broker.port)
                with running_mosquitto(tmp_path / "b") as again:
                    await until(lambda: supervisor.connected and conn.metrics()["connected"])
                    assert supervisor.reconnects >= 1
                    sunk.clear()
                    pub = await asyncio.to_thread(Publisher, again)
                    try:
                        await asyncio.to_thread(pub.send, "sup/speed", b"2.5")
                        await until(lambda: 2.5 in collected().value)
                    finally:
                        await asyncio.to_thread(pub.stop)
                    assert rows(collected()) == [(1, BASE_NS, 2.5, quality.GOOD)]
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        assert conn.metrics()["connected"] is False

    asyncio.run(main())


def test_connect_raises_when_no_broker_listens() -> None:
    conn = make_connector(f"mqtt://127.0.0.1:{mosquitto_support.free_port()}", [UNS])
    conn.connect_timeout_s = 1.0
    with pytest.raises(ConnectionError, match="cannot reach MQTT server"):
        asyncio.run(conn.connect())


# ----------------------------------------------------------------------------- TLS, login

SIMPLE = {"topic": "sec/{signal}", "tag": f"{ST10}/{{signal}}", "value": "$"}


def test_tls_with_the_ca_that_signed_the_server_and_refusal_without_it(tmp_path: Path) -> None:
    if mosquitto_binary() is None:
        pytest.skip(NO_BROKER)
    ca_file, ca_key, ca_cert = make_ca(tmp_path, "plant-ca")
    rogue_file, _, _ = make_ca(tmp_path, "rogue-ca")
    cert_file, key_file = make_server_certificate(tmp_path, ca_key, ca_cert)

    async def main(broker: Broker) -> None:
        url = f"mqtts://{broker.host}:{broker.port}"
        conn = make_connector(url, [SIMPLE], ca_file=str(ca_file))
        await conn.connect()
        try:
            with publisher(broker, ca_file=ca_file) as pub:
                pub.send("sec/speed", b"3.25")
                b = await gather(conn, count(1))
            assert rows(b) == [(1, BASE_NS, 3.25, quality.GOOD)]
        finally:
            await conn.close()

        refused = make_connector(url, [SIMPLE], ca_file=str(rogue_file), name="rogue")
        with pytest.raises(ConnectionError, match="certificate verify failed"):
            await refused.connect()
        plain = make_connector(f"mqtt://{broker.host}:{broker.port}", [SIMPLE], name="plain")
        plain.connect_timeout_s = 1.0
        with pytest.raises(ConnectionError):  # a plain client on a TLS-only listener
            await plain.connect()

    with warnings.catch_warnings():
        # paho-mqtt leaves the socket of a failed TLS handshake to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        with running_mosquitto(tmp_path, tls=ListenerTls(ca_file, cert_file, key_file)) as broker:
            asyncio.run(main(broker))
        gc.collect()


def test_user_name_and_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip(NO_BROKER)
    if mosquitto_passwd_binary() is None:
        pytest.skip("mosquitto_passwd is not installed, so no password file can be made")
    users = {"plantos": "s3cret-pw", "line-3": "pub-pw"}

    async def main(broker: Broker) -> None:
        url = f"mqtt://{broker.host}:{broker.port}"
        login = {"username": "plantos", "password_env": "UNS_MQTT_PASSWORD"}
        monkeypatch.setenv("UNS_MQTT_PASSWORD", "s3cret-pw")
        conn = make_connector(url, [SIMPLE], **login)
        await conn.connect()
        try:
            with publisher(broker, user=("line-3", "pub-pw")) as pub:
                pub.send("sec/temperature", b"55")
                b = await gather(conn, count(1))
            assert rows(b) == [(2, BASE_NS, 55.0, quality.GOOD)]
        finally:
            await conn.close()

        monkeypatch.setenv("UNS_MQTT_PASSWORD", "wrong")
        with pytest.raises(ConnectionError, match="refused the connection"):
            await make_connector(url, [SIMPLE], name="wrong", **login).connect()
        monkeypatch.delenv("UNS_MQTT_PASSWORD")
        with pytest.raises(ConnectionError, match="UNS_MQTT_PASSWORD is not set"):
            await make_connector(url, [SIMPLE], name="unset", **login).connect()

    with running_mosquitto(tmp_path, users=users) as broker:
        asyncio.run(main(broker))
