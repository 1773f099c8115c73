"""MQTT: each message published as its JSON envelope, QoS 1, to a topic made from the
message (``plantos/notify/{kind}`` by default; ``{kind}`` and ``{ordering_key}`` are
filled in). A message counts as delivered once the broker acknowledged it (PUBACK).

The session is opened the one way PlantOS opens MQTT sessions
(:func:`plantos.edge.mqtt.server.open_session`) and kept between rounds; a broken one
is dropped and reopened on the next round. QoS 1 may hand a subscriber a message twice:
subscribers de-duplicate on the envelope's ``id``.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import paho.mqtt.client as mqtt

from plantos.edge.mqtt.server import MqttServer, close_session, open_session, publish_confirmed
from plantos.integration.channels.base import DeliveryResult, OutboundMessage
from plantos.integration.channels.ordering import OrderGate

_FIELDS = {"kind", "ordering_key"}


class MqttChannel:
    """Publishes messages to ``server``."""

    def __init__(
        self,
        server: MqttServer,
        *,
        client_id: str,
        topic: str = "plantos/notify/{kind}",
        qos: int = 1,
        timeout_s: float = 5.0,
        name: str = "mqtt",
    ) -> None:
        fields = {f for _text, f, _spec, _conv in string.Formatter().parse(topic) if f}
        if not fields <= _FIELDS:
            raise ValueError(f"topic may use {sorted(_FIELDS)}, got {sorted(fields)} in {topic!r}")
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        self._server = server
        self._client_id = client_id
        self._topic = topic
        self._qos = qos
        self._timeout_s = timeout_s
        self._name = name
        self._client: mqtt.Client | None = None

    @property
    def name(self) -> str:
        return self._name

    def topic_for(self, message: OutboundMessage) -> str:
        """The topic ``message`` goes to; wildcards or empty levels are refused."""
        topic = self._topic.format(kind=message.kind, ordering_key=message.ordering_key or "")
        if "+" in topic or "#" in topic or "//" in topic or topic.endswith("/") or not topic:
            raise ValueError(f"topic {topic!r} is not a valid topic to publish to")
        return topic

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        """Publish in order; once the broker is unreachable, the rest of the round is
        retried later without waiting for each message's own time-out."""
        gate, results = OrderGate(), []
        for index, message in enumerate(messages):
            try:
                result = gate.held(message) or await self._publish(message)
            except ConnectionError as exc:
                await self.close()
                results += [DeliveryResult.retry_later(m.key, str(exc)) for m in messages[index:]]
                break
            gate.record(message, result)
            results.append(result)
        return results

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await close_session(client)

    async def _publish(self, message: OutboundMessage) -> DeliveryResult:
        """Delivered or rejected; an unreachable broker raises ConnectionError."""
        try:
            topic = self.topic_for(message)
            body = message.json_bytes()
        except ValueError as exc:
            return DeliveryResult.rejected(message.key, str(exc))
        if self._client is None:
            self._client = await open_session(
                self._server, client_id=self._client_id, timeout_s=self._timeout_s
            )
        await publish_confirmed(self._client, topic, body, qos=self._qos, timeout_s=self._timeout_s)
        return DeliveryResult.delivered(message.key)
