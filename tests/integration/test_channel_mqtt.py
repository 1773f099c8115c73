"""The MQTT channel against a private Mosquitto: each message arrives once acknowledged
(QoS 1) on its topic as the JSON envelope with its idempotency key; a broker that goes
away and comes back on the same port gets the messages on the next round."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any
from uuid import uuid4

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from plantos.edge.mqtt.server import MqttServer
from plantos.integration.channels import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.mqtt import MqttChannel
from tests.support import mosquitto as mosquitto_support
from tests.support.mosquitto import Broker, mosquitto_binary, running_mosquitto

pytestmark = pytest.mark.timeout(60)

CREATED = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


class Subscriber:
    """A paho client subscribed to ``plantos/#`` that keeps (topic, envelope)."""

    def __init__(self, broker: Broker) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.arrived = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid4().hex[:8]}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("plantos/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.ready.wait(5), "subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.arrived:
            self.received.append((msg.topic, json.loads(msg.payload)))
            self.arrived.notify_all()

    def wait_for(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, 5), self.received
            return list(self.received)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def message(kind: str = "maintenance_alert", asset: str = "cnc-07") -> OutboundMessage:
    return OutboundMessage(uuid4(), kind, {"asset": asset}, CREATED, ordering_key=asset)


def deliver(channel: MqttChannel, batch: list[OutboundMessage]) -> list[DeliveryResult]:
    async def run() -> list[DeliveryResult]:
        try:
            return await channel.deliver(batch)
        finally:
            await channel.close()

    return asyncio.run(run())


def test_messages_arrive_on_their_topics_with_their_keys(broker: Broker) -> None:
    subscriber = Subscriber(broker)
    try:
        channel = MqttChannel(
            MqttServer(broker.host, broker.port),
            client_id="plantos-notify",
            topic="plantos/notify/{kind}/{ordering_key}",
        )
        batch = [message(), message("work_order_opened"), message(asset="press-2")]
        results = deliver(channel, batch)
        received = subscriber.wait_for(3)
    finally:
        subscriber.stop()
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 3
    assert sorted((topic, env["id"]) for topic, env in received) == sorted(
        [
            ("plantos/notify/maintenance_alert/cnc-07", str(batch[0].key)),
            ("plantos/notify/work_order_opened/cnc-07", str(batch[1].key)),
            ("plantos/notify/maintenance_alert/press-2", str(batch[2].key)),
        ]
    )
    assert received[0][1]["payload"] == {"asset": "cnc-07"}


def test_a_broker_that_is_down_then_back_gets_the_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker is not installed")
    port = mosquitto_support.free_port()
    channel = MqttChannel(MqttServer("127.0.0.1", port), client_id="plantos-erp", timeout_s=1.0)
    batch = [message(), message(), message(asset="press-2")]
    down = asyncio.run(channel.deliver(batch))
    assert [r.outcome for r in down] == [Outcome.RETRY_LATER] * 3
    assert "cannot reach MQTT server" in down[0].reason
    assert len({r.reason for r in down}) == 1  # one attempt, the rest of the round waits
    monkeypatch.setattr(mosquitto_support, "free_port", lambda: port)
    with running_mosquitto(tmp_path) as back:
        subscriber = Subscriber(back)
        try:
            results = deliver(channel, batch)
            received = subscriber.wait_for(3)
        finally:
            subscriber.stop()
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 3
    assert {env["id"] for _t, env in received} == {str(m.key) for m in batch}


def test_a_topic_that_would_be_a_wildcard_is_rejected(broker: Broker) -> None:
    channel = MqttChannel(
        MqttServer(broker.host, broker.port), client_id="p", topic="plantos/{ordering_key}"
    )
    odd = OutboundMessage(uuid4(), "alert", {}, CREATED, ordering_key="line-1/#")
    none = OutboundMessage(uuid4(), "alert", {}, CREATED)
    nan = OutboundMessage(uuid4(), "alert", {"x": float("inf")}, CREATED, ordering_key="a")
    results = deliver(channel, [odd, none, nan])
    assert [r.outcome for r in results] == [Outcome.REJECTED] * 3
    assert "'plantos/line-1/#' is not a valid topic" in results[0].reason
    assert "not plain JSON" in results[2].reason


def test_a_topic_template_with_unknown_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="topic may use"):
        MqttChannel(MqttServer("127.0.0.1", 1883), client_id="p", topic="plantos/{site}")
