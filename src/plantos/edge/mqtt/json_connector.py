"""Plain MQTT with JSON payloads as a PlantOS connector (``kind: mqtt-json``).

The connector subscribes (the configured QoS) to the filters of its subscriptions, on a
clean session, or with ``ack_after_commit`` on a persistent one whose messages are
acknowledged to the broker only once their samples are committed
(:mod:`plantos.edge.mqtt.commit_acks`). It maps each arriving message in paho's network
thread: the first
subscription whose topic pattern matches it names the tags (from the topic's captures or
written out) and the JSON paths of their values, timestamp and quality. Samples wait in a
bounded buffer until :meth:`MqttJsonConnector.collect` hands them over; beyond
``max_buffer`` newer samples are dropped and counted.

Nothing a publisher sends can stop the connector. A tag path built from a topic that is
not a plant tag is counted as ``unknown_tags``; a payload that is too large, not UTF-8,
not JSON, or whose value, timestamp or quality cannot be read is counted as
``malformed`` (values of the same document that can be read are still used). Both are
logged at most once every ``log_interval_s``, naming the topic. A JSON ``null`` value
becomes NaN with a Bad quality: the publisher says it has no value.

Values keep their JSON type (:func:`~plantos.edge.mqtt.json_mapping.to_value`): strings
are text for ``text_tags`` (and for any tag when they are not numeric), integers stay
exact beyond 2**53, Booleans stay Booleans. Whether a value fits its tag is the ingest
gate's call: a value the tag cannot take arrives as a Bad sample with the reason.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from plantos.bus.ack import with_ack
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.edge.inbox import Row, SampleInbox
from plantos.edge.mqtt.commit_acks import PendingAcks
from plantos.edge.mqtt.json_config import MqttJsonSpec, MqttJsonSubscription
from plantos.edge.mqtt.json_mapping import (
    JsonPath,
    MappingError,
    to_quality,
    to_timestamp_ns,
    to_value,
)
from plantos.edge.mqtt.server import close_session, open_session, subscribe

log = logging.getLogger(__name__)


class _BoundedLog:
    """Logs at most one warning per interval and says how many were held back, so a
    publisher sending garbage many times a second cannot flood the log."""

    def __init__(self, name: str, interval_s: float) -> None:
        self.name = name
        self.interval_s = interval_s
        self._last = -math.inf
        self._suppressed = 0

    def warning(self, fmt: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self._suppressed += 1
            return
        extra = f" ({self._suppressed} similar suppressed)" if self._suppressed else ""
        self._last = now
        self._suppressed = 0
        log.warning("%s: " + fmt + extra, self.name, *args)


def _no_constants(text: str) -> float:
    raise ValueError(f"{text} is not JSON")


def decode_json(payload: bytes) -> object:
    """The JSON document of a payload; raises :class:`MappingError` for invalid UTF-8,
    invalid JSON (including ``NaN``/``Infinity``, which Python would otherwise accept)
    and nesting too deep to parse."""
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise MappingError("payload is not UTF-8") from None
    except ValueError as exc:
        raise MappingError(f"payload is not JSON: {str(exc)[:80]}") from None
    except RecursionError:
        raise MappingError("payload is nested too deeply") from None


@dataclass(frozen=True)
class _Route:
    """One subscription resolved against the plant's tags."""

    sub: MqttJsonSubscription
    fixed: tuple[int | None, ...]
    """Per target: the tag id of an explicit tag, None for a template."""


class MqttJsonConnector:
    """Feeds plant tags from JSON documents on MQTT topics, as ``spec`` describes.

    ``tag_ids`` maps plant tag paths to ids; tag templates are filled from topic captures
    and looked up there at run time.
    """

    reports_by_exception = True
    """Devices publish when they have something to say; no fixed period is promised."""

    def __init__(
        self,
        spec: MqttJsonSpec,
        tag_ids: Mapping[str, int],
        *,
        clock: Clock | None = None,
        connect_timeout_s: float = 5.0,
        keepalive_s: int = 10,
        log_interval_s: float = 10.0,
        text_tags: Collection[int] = frozenset(),
    ) -> None:
        self.spec = spec
        self._text_tags = frozenset(text_tags)
        self.server = spec.mqtt_server()
        self.clock = clock or WallClock()
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self._paths = dict(tag_ids)
        self._routes = [
            _Route(s, tuple(self._paths[t.text] if t.explicit else None for t, _ in s.targets()))
            for s in spec.subscriptions
        ]
        plant_paths = list(self._paths)
        self._tag_ids = sorted(
            {
                self._paths[path]
                for s in spec.subscriptions
                for template, _ in s.targets()
                for path in template.candidates(plant_paths)
            }
        )
        self._malformed_log = _BoundedLog(spec.name, log_interval_s)
        self._unknown_log = _BoundedLog(spec.name, log_interval_s)

        self._inbox = SampleInbox(spec.max_buffer)
        self._acks = PendingAcks() if spec.ack_after_commit else None
        self._hand_over = threading.Lock()
        self._client: mqtt.Client | None = None
        self._lost: str | None = None
        self._closing = False
        self._last_message_ns: int | None = None

        self.messages = 0
        self.malformed = 0
        self.oversized = 0
        self.unknown_tags = 0

    # ------------------------------------------------------------------ Connector

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def interval_s(self) -> float:
        return self.spec.interval / 1e9

    @property
    def tag_ids(self) -> Sequence[int]:
        """Every plant tag a subscription can name, explicit or from its template."""
        return self._tag_ids

    async def connect(self) -> None:
        await self.close()
        self._lost = None
        self._closing = False
        client = await open_session(
            self.server,
            client_id=self.spec.client_id or f"plantos-{self.spec.name}",
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            clean_session=self._acks is None,
            keepalive_s=self.keepalive_s,
            timeout_s=self.connect_timeout_s,
            manual_ack=self._acks is not None,
        )
        self._client = client
        try:
            await subscribe(
                client,
                [(f, self.spec.qos) for f in self.spec.filters()],
                timeout_s=self.connect_timeout_s,
            )
        except ConnectionError as exc:
            await self.close()
            raise ConnectionError(f"MQTT server {self.server}: {exc}") from exc

    async def collect(self) -> SampleBatch:
        if self._client is None:
            raise ConnectionError("the MQTT JSON connector is not connected")
        if self._lost is not None:
            raise ConnectionError(f"lost the MQTT server {self.server}: {self._lost}")
        if self._acks is None:
            return self._inbox.take()
        client = self._client
        with self._hand_over:  # the samples and the ids of the messages they came from
            batch = self._inbox.take()
            ack = self._acks.ticket(client.ack)
        if not len(batch):  # nothing to store (malformed, unknown tags): acknowledge now
            ack()
            return batch
        return with_ack(batch, ack)

    async def close(self) -> None:
        """Disconnect and stop paho's thread; safe to call twice."""
        client, self._client = self._client, None
        if client is None:
            return
        self._closing = True
        await close_session(client)
        if self._acks is not None:
            self._acks.forget()

    def metrics(self) -> dict[str, Any]:
        last = self._last_message_ns
        return {
            "connected": self._client is not None and self._lost is None,
            "messages": self.messages,
            "samples_buffered": self._inbox.accepted,
            "dropped": self._inbox.dropped,
            "malformed": self.malformed,
            "oversized": self.oversized,
            "unknown_tags": self.unknown_tags,
            "awaiting_commit": 0 if self._acks is None else self._acks.waiting(),
            "last_message_age_s": None if last is None else (self.clock.now_ns() - last) / 1e9,
        }

    # ------------------------------------------------------------------ paho's thread

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if not self._closing:
            self._lost = f"disconnected ({rc})"
            log.warning("%s: disconnected from %s: %s", self.name, self.server, rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self._acks is None:
            self.handle(msg.topic, bytes(msg.payload))
            return
        with self._hand_over:
            self.handle(msg.topic, bytes(msg.payload))
            self._acks.received(msg.mid, msg.qos)

    def handle(self, topic: str, payload: bytes) -> None:
        """Map one message into the buffer; never raises, whatever the publisher sent."""
        self.messages += 1
        now_ns = self.clock.now_ns()
        self._last_message_ns = now_ns
        try:
            rows, problems = self._rows(topic, payload, now_ns)
        except MappingError as exc:
            rows, problems = [], str(exc)
        except Exception as exc:  # a bad message must never stop paho's thread
            rows, problems = [], repr(exc)
        self._inbox.put_rows(rows)
        if problems:
            self.malformed += 1
            self._malformed_log.warning("malformed message on %s: %s", topic, problems)

    def _rows(self, topic: str, payload: bytes, now_ns: int) -> tuple[list[Row], str]:
        """The samples of one message, and what could not be read in it ("" if nothing)."""
        for route in self._routes:
            captures = route.sub.topic.match(topic)
            if captures is not None:
                break
        else:
            return [], ""  # only a broker ignoring our filters sends this
        targets: list[tuple[int, JsonPath]] = []
        for (template, path), fixed in zip(route.sub.targets(), route.fixed, strict=True):
            tag_id = fixed if fixed is not None else self._paths.get(template.render(captures))
            if tag_id is None:
                self.unknown_tags += 1
                self._unknown_log.warning(
                    "%s on %s is not a plant tag", template.render(captures), topic
                )
            else:
                targets.append((tag_id, path))
        if not targets:
            return [], ""
        limit = self.spec.max_payload_bytes
        if len(payload) > limit:
            self.oversized += 1
            return [], f"{len(payload)} bytes, more than max_payload_bytes {limit}"
        doc = decode_json(payload)
        sub = route.sub
        ts = now_ns
        if sub.timestamp is not None:
            ts = to_timestamp_ns(sub.timestamp.get(doc), sub.timestamp_format)
        code = quality.GOOD if sub.quality is None else to_quality(sub.quality.get(doc))
        rows: list[Row] = []
        problems: list[str] = []
        for tag_id, path in targets:
            try:
                raw = path.get(doc)
                if raw is None:  # the publisher has no value: NaN, and Bad whatever it says
                    rows.append((tag_id, ts, math.nan, code if code & quality.BAD else quality.BAD))
                else:
                    value = to_value(raw, text=tag_id in self._text_tags)
                    rows.append((tag_id, ts, value, code))
            except MappingError as exc:
                problems.append(str(exc))
        return rows, "; ".join(problems)
