"""Value types through the MQTT JSON connector and the ingest gate, over a private Mosquitto.

JSON strings feed text tags as text, JSON integers stay exact to 64 bits and beyond,
Booleans stay Booleans. A value its tag cannot take is still delivered and the gate marks
it Bad with the reason; what cannot be a sample at all (malformed JSON, an object where a
number is expected) is counted and logged with its topic, and the connector carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.mqtt.json_config import MqttJsonSpec
from plantos.edge.mqtt.json_connector import MqttJsonConnector
from plantos.edge.normalise import Normaliser
from plantos.model.plant import TagDef
from tests.integration.test_mqtt_json import BASE_NS, NO_BROKER, publisher
from tests.support.mosquitto import Broker, mosquitto_binary, running_mosquitto
from tests.support.waiting import WAIT_S, gather, until

pytestmark = pytest.mark.timeout(60)

CELL = "plant-a/assembly/line-3/st-30"
TYPES = {"program": "text", "parts": "int", "energy": "uint", "running": "bool", "speed": "float"}
IDS = {f"{CELL}/{signal}": i for i, signal in enumerate(TYPES, start=1)}
DEFS = {
    IDS[f"{CELL}/{signal}"]: TagDef(
        path=f"{CELL}/{signal}",
        asset=CELL,
        signal=signal,
        dtype=dtype,
        unit=None,
        range=None,
        sampling_ns=1_000_000_000,
        max_length=32 if dtype == "text" else None,
    )
    for signal, dtype in TYPES.items()
}
PROGRAM, PARTS, ENERGY, RUNNING, SPEED = IDS.values()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if mosquitto_binary() is None:
        pytest.skip(NO_BROKER)
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


def connector(broker: Broker) -> MqttJsonConnector:
    spec = MqttJsonSpec.model_validate(
        {
            "kind": "mqtt-json",
            "name": "cell",
            "broker": f"mqtt://{broker.host}:{broker.port}",
            "interval": "50ms",
            "max_payload_bytes": 300_000,
            "subscriptions": [
                {"topic": "cell/{signal}", "tag": f"{CELL}/{{signal}}", "value": "$.v"}
            ],
        }
    )
    text = {i for i, tag in DEFS.items() if tag.dtype == "text"}
    return MqttJsonConnector(
        spec, IDS, clock=ManualClock(BASE_NS), connect_timeout_s=WAIT_S, text_tags=text
    )


def through_gate(batch: SampleBatch) -> SampleBatch:
    gate = Normaliser(np.array(list(DEFS), dtype=np.int32), clock=ManualClock(BASE_NS), tags=DEFS)
    return gate(batch)


def samples(batch: SampleBatch) -> list[tuple[int, object, int]]:
    """(tag id, exact value, quality) of each sample, in arrival order."""
    exact = batch.exact_column()
    return [
        (int(t), exact[i] if exact[i] is not None else float(batch.value[i]), int(q))
        for i, (t, q) in enumerate(zip(batch.tag_id, batch.quality, strict=True))
    ]


def test_text_exact_integers_and_booleans_arrive_as_sent(broker: Broker) -> None:
    huge = "Ü" * 100_000  # far beyond the tag's 32 characters: the gate cuts it, Bad

    async def main() -> SampleBatch:
        conn = connector(broker)
        await conn.connect()
        try:
            with publisher(broker) as pub:
                for topic, body in [
                    ("cell/program", '{"v": "P-100 Überdruck"}'),
                    ("cell/program", '{"v": ""}'),
                    ("cell/program", '{"v": "0042"}'),  # a product code, not 42
                    ("cell/parts", '{"v": 9007199254740993}'),
                    ("cell/parts", '{"v": -9223372036854775808}'),
                    ("cell/energy", '{"v": 18446744073709551615}'),
                    ("cell/energy", '{"v": "18446744073709551614"}'),
                    ("cell/running", '{"v": true}'),
                    ("cell/speed", '{"v": 12.5}'),
                    ("cell/program", f'{{"v": "{huge}"}}'),
                ]:
                    pub.send(topic, body)
                return await gather(conn, lambda b: len(b) >= 10)
        finally:
            await conn.close()

    batch = asyncio.run(main())
    assert samples(batch) == [
        (PROGRAM, "P-100 Überdruck", quality.GOOD),
        (PROGRAM, "", quality.GOOD),
        (PROGRAM, "0042", quality.GOOD),
        (PARTS, 2**53 + 1, quality.GOOD),
        (PARTS, -(2**63), quality.GOOD),
        (ENERGY, 2**64 - 1, quality.GOOD),
        (ENERGY, 2**64 - 2, quality.GOOD),
        (RUNNING, 1.0, quality.GOOD),
        (SPEED, 12.5, quality.GOOD),
        (PROGRAM, huge, quality.GOOD),  # the connector delivers all of it
    ]
    gated = samples(through_gate(batch))
    assert gated[:-1] == samples(batch)[:-1]
    assert gated[-1] == (PROGRAM, huge[:32], quality.BAD_OUT_OF_RANGE)


def test_values_a_tag_cannot_take_arrive_bad_with_the_reason(broker: Broker) -> None:
    async def main() -> tuple[SampleBatch, MqttJsonConnector]:
        conn = connector(broker)
        await conn.connect()
        try:
            with publisher(broker) as pub:
                for topic, body in [
                    ("cell/speed", '{"v": "fast"}'),  # text into a float tag
                    ("cell/parts", '{"v": 18446744073709551615}'),  # beyond int
                    ("cell/energy", '{"v": -1}'),  # below uint
                    ("cell/parts", '{"v": 2.5}'),  # not whole
                    ("cell/program", '{"v": 42}'),  # a number into a text tag
                    ("cell/running", '{"v": 2}'),  # not a Boolean
                ]:
                    pub.send(topic, body)
                return await gather(conn, lambda b: len(b) >= 6), conn
        finally:
            await conn.close()

    batch, conn = asyncio.run(main())
    assert conn.metrics()["malformed"] == 0  # all of them delivered, none dropped
    mismatch, out = quality.BAD_TYPE_MISMATCH, quality.BAD_OUT_OF_RANGE
    assert [(t, q) for t, _v, q in samples(through_gate(batch))] == [
        (SPEED, mismatch),
        (PARTS, out),
        (ENERGY, out),
        (PARTS, mismatch),
        (PROGRAM, mismatch),
        (RUNNING, out),
    ]


def test_what_cannot_be_a_sample_is_counted_and_logged_with_its_topic(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [
        ("cell/speed", b'{"v": {"value": 12.5}}'),  # a nested object where a number is
        ("cell/parts", b'{"v": [1, 2]}'),
        ("cell/program", b'{"v": "unterminated'),
        ("cell/energy", b'{"v": 1e999}'),  # JSON reads it as infinity
    ]

    async def main() -> tuple[SampleBatch, MqttJsonConnector]:
        conn = connector(broker)
        conn._malformed_log.interval_s = 0  # every one logged, to check each names its topic
        await conn.connect()
        try:
            with publisher(broker) as pub:
                for topic, body in bad:
                    pub.send(topic, body)
                await until(lambda: conn.metrics()["messages"] == len(bad))
                pub.send("cell/speed", b'{"v": 7}')
                return await gather(conn, lambda b: len(b) >= 1), conn
        finally:
            await conn.close()

    with caplog.at_level(logging.WARNING, logger="plantos.edge.mqtt.json_connector"):
        batch, conn = asyncio.run(main())
    assert samples(batch) == [(SPEED, 7.0, quality.GOOD)]
    assert conn.metrics()["malformed"] == len(bad)
    logged = [r.getMessage() for r in caplog.records]
    for topic, _ in bad:
        assert any(f"malformed message on {topic}: " in line for line in logged), topic
    assert any("a JSON object" in line for line in logged)
