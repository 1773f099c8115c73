"""A Sparkplug B Host Application as a PlantOS connector (Sparkplug 3.0, chapter 5).

:class:`SparkplugHost` connects to one MQTT server with paho-mqtt (its network loop runs
in paho's own thread), announces itself with retained ``spBv1.0/STATE/<host_id>``
messages (a Will for offline), subscribes to the Sparkplug namespace and turns the
metrics named in ``tag_map`` into samples. :meth:`SparkplugHost.collect` hands over
what arrived since the previous call as one :class:`SampleBatch`.

What the host does with each message (all in paho's thread):

* NBIRTH: records bdSeq, the aliases and datatypes of the node's metrics and the
  node's ``seq``; forgets the node's devices (a new NBIRTH is followed by new DBIRTHs).
* DBIRTH: records the device's aliases and datatypes.
* NDATA/DDATA/DBIRTH/DDEATH: ``seq`` must be one more than the node's previous
  message (255 wraps to 0). A gap, an alias not announced in the birth, or data from a
  node whose birth this host has not seen sends an NCMD ``Node Control/Rebirth = true``
  to the node, marks the node's tags ``UncertainLastUsableValue`` (last value, now) if
  the node is alive (born and not dead: a dead node's tags stay Bad), and discards the
  node's data messages until its next NBIRTH (the request is repeated after
  ``rebirth_retry_s`` if no NBIRTH comes). No reorder timeout is configured.
* NDEATH: only when its bdSeq equals the bdSeq of the node's current NBIRTH: all
  the node's and its devices' tags become ``BadNoCommunication`` with NaN at the host's
  current time. A stale NDEATH (an older session's Will) is counted and ignored.
* DDEATH: the device's tags become ``BadNoCommunication`` with NaN at the DDEATH
  payload's timestamp.
* A STATE ``online: false`` on this host's own id while connected makes it republish
  its online STATE.

Numeric and Boolean metric values become samples (timestamp: the metric's, else the
payload's, else the clock); ``is_historical`` metrics are kept and counted; null
metrics become NaN with a Bad quality; other values (strings, arrays, ...) are counted
as ``non_numeric`` and skipped. Malformed messages are counted and logged at most once
every ``log_interval_s``; they never stop the host.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.edge.mqtt.server import (
    MqttServer,
    Will,
    close_session,
    open_session,
    publish_confirmed,
    subscribe,
)
from plantos.edge.sparkplug.codec import (
    NAMESPACE,
    REBIRTH_METRIC,
    DataType,
    DecodedPayload,
    MessageType,
    Metric,
    SparkplugDecodeError,
    StateTopic,
    Topic,
    decode_payload,
    encode_payload,
    format_topic,
    next_seq,
    parse_topic,
)

log = logging.getLogger(__name__)

TagKey = tuple[str, str, str | None, str]
_NS_PER_MS = 1_000_000


@dataclass
class _Scope:
    """What a birth announced for one edge node or device."""

    aliases: dict[int, str] = field(default_factory=dict)
    datatypes: dict[int | str, DataType] = field(default_factory=dict)

    def learn(self, metrics: Sequence[Metric]) -> None:
        self.aliases.clear()
        self.datatypes.clear()
        for m in metrics:
            if m.name is not None:
                self.datatypes[m.name] = m.datatype
                if m.alias is not None:
                    self.aliases[m.alias] = m.name
                    self.datatypes[m.alias] = m.datatype


@dataclass
class _Node:
    born: bool = False
    bdseq: int | None = None
    last_seq: int | None = None
    scope: _Scope = field(default_factory=_Scope)
    devices: dict[str, _Scope] = field(default_factory=dict)
    awaiting_rebirth: bool = False
    rebirth_sent_at: float = -math.inf


class _RebirthNeeded(Exception):
    """Raised inside message handling: the node must send a new birth sequence."""


class SparkplugHost:
    """A Sparkplug B Host Application feeding the tags in ``tag_map``.

    ``tag_map`` maps ``(group_id, edge_node_id, device_id or None, metric name)`` to a
    tag id. ``group_filter`` is one group id or ``+`` for all groups.
    """

    def __init__(
        self,
        *,
        server: MqttServer,
        host_id: str,
        tag_map: Mapping[TagKey, int],
        group_filter: str = "+",
        clock: Clock | None = None,
        name: str | None = None,
        interval_s: float = 0.2,
        connect_timeout_s: float = 5.0,
        keepalive_s: int = 10,
        max_buffer: int = 100_000,
        rebirth_retry_s: float = 5.0,
        log_interval_s: float = 10.0,
    ) -> None:
        format_topic(StateTopic(host_id))  # raises ValueError for an id with / + #
        if group_filter != "+" and ("/" in group_filter or "#" in group_filter):
            raise ValueError(f"group_filter must be one group id or '+', got {group_filter!r}")
        self.server = server
        self.host_id = host_id
        self.group_filter = group_filter
        self.clock = clock or WallClock()
        self._name = name or f"sparkplug:{host_id}"
        self._interval_s = interval_s
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.max_buffer = max_buffer
        self.rebirth_retry_s = rebirth_retry_s
        self.log_interval_s = log_interval_s
        self.state_topic = format_topic(StateTopic(host_id))

        self._tag_map = dict(tag_map)
        self._tag_ids = sorted(set(self._tag_map.values()))
        self._node_tags: dict[tuple[str, str], list[int]] = {}
        self._device_tags: dict[tuple[str, str, str], list[int]] = {}
        for (group, node, device, _metric), tag_id in self._tag_map.items():
            self._node_tags.setdefault((group, node), []).append(tag_id)
            if device is not None:
                self._device_tags.setdefault((group, node, device), []).append(tag_id)

        self._lock = threading.Lock()
        self._buf: list[tuple[int, int, float, int]] = []
        self._last_value: dict[int, float] = {}
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._client: mqtt.Client | None = None
        self._lost: str | None = None
        self._closing = False
        self._state_ts_ms = 0
        self._last_log = -math.inf
        self._suppressed_logs = 0

        self.messages = 0
        self.samples_buffered = 0
        self.dropped = 0
        self.malformed = 0
        self.rebirths_requested = 0
        self.seq_gaps = 0
        self.unknown_aliases = 0
        self.historical = 0
        self.non_numeric = 0
        self.stale_deaths = 0
        self.node_deaths = 0
        self.device_deaths = 0
        self.discarded_awaiting_rebirth = 0
        self.state_republished = 0

    # ------------------------------------------------------------------ Connector

    @property
    def name(self) -> str:
        return self._name

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @property
    def tag_ids(self) -> Sequence[int]:
        return self._tag_ids

    async def connect(self) -> None:
        """Connect with a STATE Will, subscribe, then publish STATE online (chapter 5)."""
        await self.close()
        self._nodes.clear()
        self._lost = None
        self._closing = False
        self._state_ts_ms = self.clock.now_ns() // _NS_PER_MS
        client = await open_session(
            self.server,
            client_id=f"plantos-host-{self.host_id}",
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            will=Will(self.state_topic, self._state_payload(False), qos=1, retain=True),
            keepalive_s=self.keepalive_s,
            timeout_s=self.connect_timeout_s,
        )
        self._client = client
        try:
            await subscribe(
                client,
                [(f"{NAMESPACE}/{self.group_filter}/#", 0), (self.state_topic, 1)],
                timeout_s=self.connect_timeout_s,
            )
            await publish_confirmed(
                client,
                self.state_topic,
                self._state_payload(True),
                retain=True,
                timeout_s=self.connect_timeout_s,
            )
        except ConnectionError as exc:
            await self.close()
            raise ConnectionError(f"MQTT server {self.server}: {exc}") from exc

    async def collect(self) -> SampleBatch:
        if self._client is None:
            raise ConnectionError("the Sparkplug host is not connected")
        if self._lost is not None:
            raise ConnectionError(f"lost the MQTT server: {self._lost}")
        with self._lock:
            rows, self._buf = self._buf, []
        if not rows:
            return SampleBatch.empty()
        tag_id, ts, value, q = zip(*rows, strict=True)
        return SampleBatch.of(tag_id, ts, value, q)

    async def close(self) -> None:
        """Publish STATE offline, disconnect and stop paho's thread; safe to call twice."""
        client, self._client = self._client, None
        if client is None:
            return
        self._closing = True
        if client.is_connected() and self._lost is None:
            self._state_ts_ms = self.clock.now_ns() // _NS_PER_MS
            try:
                await publish_confirmed(
                    client,
                    self.state_topic,
                    self._state_payload(False),
                    retain=True,
                    timeout_s=self.connect_timeout_s,
                )
            except ConnectionError as exc:  # the link died meanwhile: the Will says it
                log.info("%s: STATE offline not published: %s", self._name, exc)
        await close_session(client)

    def metrics(self) -> dict[str, Any]:
        return {
            "connected": self._client is not None and self._lost is None,
            "messages": self.messages,
            "samples_buffered": self.samples_buffered,
            "dropped": self.dropped,
            "malformed": self.malformed,
            "rebirths_requested": self.rebirths_requested,
            "seq_gaps": self.seq_gaps,
            "unknown_aliases": self.unknown_aliases,
            "historical": self.historical,
            "non_numeric": self.non_numeric,
            "stale_deaths": self.stale_deaths,
            "node_deaths": self.node_deaths,
            "device_deaths": self.device_deaths,
            "discarded_awaiting_rebirth": self.discarded_awaiting_rebirth,
            "state_republished": self.state_republished,
            "edge_nodes_online": sum(n.born for n in self._nodes.values()),
        }

    # ------------------------------------------------------------------ paho callbacks

    def _state_payload(self, online: bool) -> bytes:
        return json.dumps({"online": online, "timestamp": self._state_ts_ms}).encode()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if not self._closing:
            self._lost = f"disconnected ({rc})"
            log.warning("%s: disconnected from the MQTT server: %s", self._name, rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.messages += 1
        try:
            topic = parse_topic(msg.topic)
            if isinstance(topic, StateTopic):
                self._handle_state(client, topic, bytes(msg.payload))
            else:
                self._handle(client, topic, bytes(msg.payload))
        except SparkplugDecodeError as exc:
            self.malformed += 1
            self._log_bounded("malformed message on %s: %s", msg.topic, exc)
        except Exception as exc:  # a bad message must never stop paho's thread
            self.malformed += 1
            self._log_bounded("cannot handle message on %s: %r", msg.topic, exc)

    # ------------------------------------------------------------------ message handling

    def _handle_state(self, client: mqtt.Client, topic: StateTopic, payload: bytes) -> None:
        if topic.host_id != self.host_id or self._closing:
            return
        try:
            state = json.loads(payload)
        except ValueError as exc:
            raise SparkplugDecodeError(f"STATE payload is not JSON: {exc}") from None
        if isinstance(state, dict) and state.get("online") is False:
            client.publish(self.state_topic, self._state_payload(True), qos=1, retain=True)
            self.state_republished += 1

    def _handle(self, client: mqtt.Client, topic: Topic, payload: bytes) -> None:
        key = (topic.group_id, topic.edge_node_id)
        node = self._nodes.setdefault(key, _Node())
        kind = topic.message_type
        if kind in (MessageType.NCMD, MessageType.DCMD):
            return
        scope = node.scope
        if topic.device_id is not None:
            scope = node.devices.get(topic.device_id) or _Scope()
        datatypes = None if kind in (MessageType.NBIRTH, MessageType.DBIRTH) else scope.datatypes
        decoded = decode_payload(payload, datatypes=datatypes)
        now_ns = self.clock.now_ns()

        if kind is MessageType.NBIRTH:
            self._nbirth(topic, node, decoded, now_ns)
            return
        if kind is MessageType.NDEATH:
            self._ndeath(topic, node, decoded, now_ns)
            return
        if node.awaiting_rebirth or not node.born:
            self.discarded_awaiting_rebirth += 1
            self._request_rebirth(client, topic, node, now_ns, "no birth seen")
            return
        try:
            self._check_seq(node, decoded)
            if kind is MessageType.DBIRTH:
                assert topic.device_id is not None
                device = node.devices.setdefault(topic.device_id, _Scope())
                device.learn(decoded.metrics)
                self._samples(topic, decoded, device, now_ns)
            elif kind is MessageType.DDEATH:
                assert topic.device_id is not None
                node.devices.pop(topic.device_id, None)
                self.device_deaths += 1
                ts = decoded.timestamp_ms * _NS_PER_MS if decoded.timestamp_ms else now_ns
                tags = self._device_tags.get((topic.group_id, topic.edge_node_id, topic.device_id))
                self._mark(tags or [], ts, quality.BAD_NO_COMMUNICATION, keep_value=False)
            else:  # NDATA, DDATA
                if topic.device_id is not None and topic.device_id not in node.devices:
                    raise _RebirthNeeded(f"DDATA from device {topic.device_id!r} without DBIRTH")
                self._samples(topic, decoded, scope, now_ns)
        except _RebirthNeeded as exc:
            self._request_rebirth(client, topic, node, now_ns, str(exc))

    def _nbirth(self, topic: Topic, node: _Node, decoded: DecodedPayload, now_ns: int) -> None:
        bdseq = next((m.value for m in decoded.metrics if m.name == "bdSeq"), None)
        if decoded.seq is None:
            raise SparkplugDecodeError("NBIRTH without seq")
        if not isinstance(bdseq, int) or isinstance(bdseq, bool):
            raise SparkplugDecodeError("NBIRTH without an integer bdSeq metric")
        node.born = True
        node.bdseq = bdseq
        node.last_seq = decoded.seq
        node.awaiting_rebirth = False
        node.devices.clear()
        node.scope.learn(decoded.metrics)
        self._samples(topic, decoded, node.scope, now_ns)

    def _ndeath(self, topic: Topic, node: _Node, decoded: DecodedPayload, now_ns: int) -> None:
        bdseq = next((m.value for m in decoded.metrics if m.name == "bdSeq"), None)
        if not node.born or bdseq is None or bdseq != node.bdseq:
            self.stale_deaths += 1
            log.info(
                "%s: ignoring NDEATH of %s/%s with bdSeq %s (current birth: %s)",
                self._name, topic.group_id, topic.edge_node_id, bdseq, node.bdseq,
            )  # fmt: skip
            return
        node.born = False
        node.devices.clear()
        node.last_seq = None
        self.node_deaths += 1
        tags = self._node_tags.get((topic.group_id, topic.edge_node_id), [])
        self._mark(tags, now_ns, quality.BAD_NO_COMMUNICATION, keep_value=False)

    def _check_seq(self, node: _Node, decoded: DecodedPayload) -> None:
        expected = next_seq(node.last_seq) if node.last_seq is not None else None
        if decoded.seq is None or decoded.seq != expected:
            self.seq_gaps += 1
            raise _RebirthNeeded(f"seq {decoded.seq} where {expected} was expected")
        node.last_seq = decoded.seq

    def _samples(self, topic: Topic, decoded: DecodedPayload, scope: _Scope, now_ns: int) -> None:
        payload_ns = decoded.timestamp_ms * _NS_PER_MS if decoded.timestamp_ms else now_ns
        rows: list[tuple[int, int, float, int]] = []
        for m in decoded.metrics:
            name = m.name
            if name is None:
                name = scope.aliases.get(m.alias) if m.alias is not None else None
                if name is None:
                    self.unknown_aliases += 1
                    raise _RebirthNeeded(f"alias {m.alias} was not in the birth")
            tag_id = self._tag_map.get((topic.group_id, topic.edge_node_id, topic.device_id, name))
            if tag_id is None:
                continue
            ts = m.timestamp_ms * _NS_PER_MS if m.timestamp_ms is not None else payload_ns
            if m.is_null:
                rows.append((tag_id, ts, math.nan, quality.BAD))
                continue
            v = m.value
            if isinstance(v, bool | int | float):
                value = float(v)
            else:
                self.non_numeric += 1
                continue
            if m.is_historical:
                self.historical += 1
            rows.append((tag_id, ts, value, quality.GOOD))
        # all-or-nothing: a message with an unknown alias adds no samples
        for tag_id, _ts, value, _q in rows:
            self._last_value[tag_id] = value
        self._append(rows)

    def _request_rebirth(
        self, client: mqtt.Client, topic: Topic, node: _Node, now_ns: int, why: str
    ) -> None:
        first = not node.awaiting_rebirth
        now = time.monotonic()
        if first and node.born:  # a dead node's tags stay Bad (NDEATH), not "last usable"
            tags = self._node_tags.get((topic.group_id, topic.edge_node_id), [])
            self._mark(tags, now_ns, quality.UNCERTAIN_LAST_USABLE_VALUE, keep_value=True)
        elif not first and now - node.rebirth_sent_at < self.rebirth_retry_s:
            return
        node.awaiting_rebirth = True
        node.rebirth_sent_at = now
        ncmd = Topic(NAMESPACE, topic.group_id, MessageType.NCMD, topic.edge_node_id)
        body = encode_payload(
            timestamp_ms=now_ns // _NS_PER_MS,
            seq=None,
            metrics=[Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, value=True)],
        )
        client.publish(format_topic(ncmd), body, qos=0, retain=False)
        self.rebirths_requested += 1
        log.warning(
            "%s: requested a rebirth of %s/%s: %s",
            self._name, topic.group_id, topic.edge_node_id, why,
        )  # fmt: skip

    def _mark(self, tags: Sequence[int], ts_ns: int, code: int, *, keep_value: bool) -> None:
        rows = [
            (t, ts_ns, self._last_value.get(t, math.nan) if keep_value else math.nan, code)
            for t in tags
        ]
        self._append(rows)

    def _append(self, rows: list[tuple[int, int, float, int]]) -> None:
        if not rows:
            return
        with self._lock:
            room = self.max_buffer - len(self._buf)
            if room < len(rows):
                self.dropped += len(rows) - max(room, 0)
                rows = rows[: max(room, 0)]
            self._buf.extend(rows)
        self.samples_buffered += len(rows)

    def _log_bounded(self, fmt: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log < self.log_interval_s:
            self._suppressed_logs += 1
            return
        extra = f" ({self._suppressed_logs} similar suppressed)" if self._suppressed_logs else ""
        self._last_log = now
        self._suppressed_logs = 0
        log.warning("%s: " + fmt + extra, self._name, *args)
