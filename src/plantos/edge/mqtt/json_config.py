"""``kind: mqtt-json`` in the ``connectors`` section: plain MQTT with JSON payloads on
unified-namespace topics, and which value in which document becomes which tag.

Topic patterns, tag templates and JSON paths are compiled while the YAML is validated,
so every mistake (a ``#`` in the middle, a tag placeholder the topic does not capture, a
JSON path that cannot be read, a subscription an earlier one hides) is reported with its
file and line by ``plantos check``.

>>> spec = MqttJsonSpec.model_validate({
...     "kind": "mqtt-json", "name": "uns",
...     "subscriptions": [{"topic": "acme/{area}/{signal}", "tag": "plant-a/{area}/{signal}",
...                        "value": "$.value"}],
... })
>>> spec.subscriptions[0].topic.filter, spec.qos, spec.interval
('acme/+/+', 1, 200000000)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from plantos.edge.durations import DurationNs
from plantos.edge.mqtt.json_mapping import JsonPath, TagTemplate, TimestampFormat, TopicPattern
from plantos.edge.mqtt.server import MqttServerFields

MAX_MQTT_PAYLOAD = 268_435_455
"""The largest payload the MQTT protocol can carry."""

Path = Annotated[JsonPath, PlainValidator(JsonPath.parse)]
Topic = Annotated[TopicPattern, PlainValidator(TopicPattern.parse)]
Tag = Annotated[TagTemplate, PlainValidator(TagTemplate.parse)]


def _uncaptured(topic: TopicPattern, tag: TagTemplate) -> str | None:
    missing = [n for n in tag.names if n not in topic.captures]
    if not missing:
        return None
    captured = ", ".join(f"{{{n}}}" for n in topic.captures) or "nothing"
    return (
        f"tag {tag.text!r} uses {', '.join(f'{{{n}}}' for n in missing)}, "
        f"but topic {topic.text!r} captures {captured}"
    )


class JsonField(BaseModel):
    """One tag read from a document that carries several."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: Tag
    value: Path


class MqttJsonSubscription(BaseModel):
    """Either ``tag`` + ``value`` (one tag per message) or ``fields`` (several)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Topic
    tag: Tag | None = None
    value: Path | None = None
    fields: list[JsonField] | None = Field(None, min_length=1)
    timestamp: Path | None = None
    """Where the source time stands; without it, the time the message arrived."""
    timestamp_format: TimestampFormat = "epoch_ms"
    quality: Path | None = None
    """An OPC UA status code number or good/uncertain/bad; without it, Good."""

    @field_validator("tag")
    @classmethod
    def _tag_captured(cls, tag: TagTemplate | None, info: ValidationInfo) -> TagTemplate | None:
        topic = info.data.get("topic")
        if tag is not None and topic is not None and (problem := _uncaptured(topic, tag)):
            raise ValueError(problem)
        return tag

    @field_validator("fields")
    @classmethod
    def _fields_captured(
        cls, fields: list[JsonField] | None, info: ValidationInfo
    ) -> list[JsonField] | None:
        topic = info.data.get("topic")
        for i, f in enumerate(fields or []):
            if topic is not None and (problem := _uncaptured(topic, f.tag)):
                raise ValueError(f"fields[{i}]: {problem}")
        return fields

    @model_validator(mode="after")
    def _one_form(self) -> MqttJsonSubscription:
        single = self.tag is not None or self.value is not None
        if single == (self.fields is not None):
            raise ValueError("give either tag and value, or fields (a list of tag and value)")
        if single and (self.tag is None or self.value is None):
            raise ValueError("tag and value go together")
        if "timestamp_format" in self.model_fields_set and self.timestamp is None:
            raise ValueError("timestamp_format needs a timestamp path")
        return self

    def targets(self) -> list[tuple[TagTemplate, JsonPath]]:
        """Each tag template with the path of its value, in the order written."""
        if self.tag is not None and self.value is not None:
            return [(self.tag, self.value)]
        return [(f.tag, f.value) for f in self.fields or []]


class MqttJsonSpec(MqttServerFields):
    """The broker fields (``broker``, ``username``, ``password_env``, TLS files) come from
    :class:`MqttServerFields`. A message is handled by the first subscription whose topic
    matches it, so specific topics go before general patterns."""

    kind: Literal["mqtt-json"]
    name: str = Field(min_length=1)
    client_id: str | None = Field(None, min_length=1)
    """Default ``plantos-<name>``; two clients with one id throw each other off the broker."""
    qos: Literal[0, 1, 2] = 1
    interval: DurationNs = 200_000_000
    """How often buffered samples are handed over."""
    max_payload_bytes: int = Field(65_536, ge=1, le=MAX_MQTT_PAYLOAD)
    max_buffer: int = Field(100_000, ge=1)
    """Samples held between hand-overs; newer ones are dropped (and counted) beyond it."""
    subscriptions: list[MqttJsonSubscription] = Field(min_length=1)
    ack_after_commit: bool = False
    """True: a persistent session whose messages are acknowledged to the broker only once
    the historian committed their samples, so the broker delivers again what a core that
    died had not committed (QoS 1 or 2; set the broker's in-flight limit, e.g. Mosquitto's
    ``max_inflight_messages``, to the messages per second times about half a second)."""

    @model_validator(mode="after")
    def _ack_needs_qos(self) -> MqttJsonSpec:
        if self.ack_after_commit and self.qos == 0:
            raise ValueError("ack_after_commit needs qos 1 or 2 (QoS 0 is never sent again)")
        return self

    @model_validator(mode="after")
    def _reachable(self) -> MqttJsonSpec:
        subs = self.subscriptions
        for j, later in enumerate(subs):
            for i, earlier in enumerate(subs[:j]):
                if earlier.topic.covers(later.topic):
                    raise ValueError(
                        f"subscriptions[{j}] ({later.topic.text!r}) is never used: "
                        f"subscriptions[{i}] ({earlier.topic.text!r}) matches all its topics "
                        "first; put the more specific topic first"
                    )
                if not later.topic.covers(earlier.topic) and earlier.topic.overlaps(later.topic):
                    raise ValueError(
                        f"subscriptions[{i}] ({earlier.topic.text!r}) and [{j}] "
                        f"({later.topic.text!r}) overlap without one containing the other; "
                        "a broker sends such messages once per filter, so make them disjoint"
                    )
        return self

    def filters(self) -> list[str]:
        """The filters to subscribe: those no other subscription contains, so the broker
        sends each message once (validation has ruled out equal and crossing filters)."""
        topics = [s.topic for s in self.subscriptions]
        return [t.filter for t in topics if not any(o is not t and o.covers(t) for o in topics)]
