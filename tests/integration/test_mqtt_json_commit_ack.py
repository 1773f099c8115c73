"""MQTT JSON with ``ack_after_commit`` against a real Mosquitto: a message is acknowledged
to the broker only once its samples are committed, so a core that dies before committing
gets the message again from its persistent session, and one that committed does not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from plantos.bus.ack import AckedBatch, acknowledge
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.edge.mqtt.json_config import MqttJsonSpec
from plantos.edge.mqtt.json_connector import MqttJsonConnector
from tests.integration.test_mqtt_json import Publisher
from tests.support.mosquitto import Broker, mosquitto_binary, running_mosquitto

pytestmark = pytest.mark.timeout(60)

TAG = "line/st-10/temperature"
WAIT_S = 10.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    with running_mosquitto(tmp_path) as b:
        yield b


def spec(port: int, **fields: object) -> MqttJsonSpec:
    return MqttJsonSpec.model_validate(
        {
            "kind": "mqtt-json",
            "name": "uns",
            "client_id": "plantos-uns-ack",
            "broker": f"mqtt://127.0.0.1:{port}",
            "interval": "50ms",
            "ack_after_commit": True,
            "subscriptions": [
                {"topic": "acme/{station}/{signal}", "tag": "line/{station}/{signal}",
                 "value": "$.value"}
            ],
            **fields,
        }
    )  # fmt: skip


async def take(connector: MqttJsonConnector, n: int) -> list[SampleBatch]:
    """Batches collected until they hold ``n`` samples."""
    batches: list[SampleBatch] = []
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while sum(len(b) for b in batches) < n:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"got {sum(len(b) for b in batches)} of {n} samples")
        batch = await connector.collect()
        if len(batch):
            batches.append(batch)
        await asyncio.sleep(0.05)
    return batches


def values(batches: list[SampleBatch]) -> list[float]:
    return [v for b in batches for v in b.value.tolist()]


def test_what_was_not_committed_comes_again_and_what_was_does_not(broker: Broker) -> None:
    async def main() -> None:
        first = MqttJsonConnector(spec(broker.port), {TAG: 1}, clock=WallClock())
        await first.connect()
        pub = await asyncio.to_thread(Publisher, broker)
        try:
            for v in (1, 2, 3):
                await asyncio.to_thread(pub.send, "acme/st-10/temperature", {"value": v})
            got = await take(first, 3)
            assert values(got) == [1.0, 2.0, 3.0]
            assert all(isinstance(b, AckedBatch) for b in got)
            assert first.metrics()["awaiting_commit"] == 3
            await first.close()  # the core dies before its historian committed them

            second = MqttJsonConnector(spec(broker.port), {TAG: 1}, clock=WallClock())
            await second.connect()
            again = await take(second, 3)
            assert values(again) == [1.0, 2.0, 3.0]  # the broker delivered them again
            acknowledge(reversed(again))  # committed; acknowledged in arrival order anyway
            await asyncio.to_thread(pub.send, "acme/st-10/temperature", {"value": 4})
            acknowledge(await take(second, 1))
            assert second.metrics()["awaiting_commit"] == 0
            await asyncio.sleep(0.5)  # the PUBACKs reach the broker
            await second.close()

            third = MqttJsonConnector(spec(broker.port), {TAG: 1}, clock=WallClock())
            await third.connect()
            await asyncio.sleep(1.0)
            assert len(await third.collect()) == 0  # nothing committed comes again
            await third.close()
        finally:
            await asyncio.to_thread(pub.stop)

    asyncio.run(main())


def test_ack_after_commit_needs_a_qos_that_resends() -> None:
    with pytest.raises(ValidationError, match="needs qos 1 or 2"):
        spec(1883, qos=0)
