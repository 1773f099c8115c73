"""A Sparkplug B Host Application as a PlantOS connector (Sparkplug 3.0, chapter 5).

:class:`SparkplugHost` connects to one MQTT server with paho-mqtt, announces itself with
retained ``spBv1.0/STATE/<host_id>`` messages (a Will for offline), subscribes to the
Sparkplug namespace and turns the metrics named in ``tag_map`` (and, with
``metric_names``, every metric whose name is a tag path) into samples.
:meth:`SparkplugHost.collect` hands over what arrived since the previous call as one
:class:`SampleBatch`.

Batches: paho's network thread queues each message (bounded in bytes; a message that
does not fit is counted in ``messages_dropped`` and its seq gap then asks the node for a
rebirth) and handles the queue itself, in arrival order, once 256 KiB are queued; a
worker thread of the host handles what is left once the oldest message has waited
``linger_s``. Runs of NDATA/DDATA in such a batch are decoded together
by :mod:`plantos.edge.sparkplug.columnar` straight into numpy columns, the metrics of
all messages of one edge node or device at once: that is what makes the host fast,
because the per-message numpy overhead is shared by every message waiting. A message
that the columnar decoder does not take (names, nulls, properties such as a quality,
strings, unknown aliases, malformed bytes, ...) takes the exact per-metric path
(:func:`decode_payload`), so both paths give the same samples, which the tests check.

What the host does with each message:

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
* NDATA/DDATA with the metric ``PlantOS/Stream Seq`` (a PlantOS edge gateway replaying
  its store-and-forward spool): a message whose stream seq is not above the highest
  seen for that edge node or device (kept across births and reconnects) is dropped
  whole and counted in ``duplicates_dropped``; the metric itself never is a sample.
* NDEATH: only when its bdSeq equals the bdSeq of the node's current NBIRTH: all
  the node's and its devices' tags become ``BadNoCommunication`` with NaN at the host's
  current time. A stale NDEATH (an older session's Will) is counted and ignored.
* DDEATH: the device's tags become ``BadNoCommunication`` with NaN at the DDEATH
  payload's timestamp.
* A STATE ``online: false`` on this host's own id while connected makes it republish
  its online STATE.

Numeric and Boolean metric values become samples (timestamp: the metric's, else the
payload's, else the clock; quality: the metric's ``quality``, else Good);
``is_historical`` metrics are kept and counted; null metrics in data messages become
NaN with a Bad quality, while a null in a birth (no value yet) adds no sample; other
values (strings, arrays, ...) are counted as ``non_numeric`` and skipped. Malformed
messages are counted and logged at most once every ``log_interval_s``; they never stop
the host. Samples wait in numpy chunks for :meth:`collect`, at most ``max_buffer`` of
them; the rest are counted in ``dropped``.
Samples of one edge node or device keep their order; between different ones, samples
handed over together may be grouped by node or device.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.edge.inbox import SampleInbox
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
    STREAM_SEQ_METRIC,
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
from plantos.edge.sparkplug.columnar import AliasTable, Envelope, Records, decode_records, envelope

log = logging.getLogger(__name__)

TagKey = tuple[str, str, str | None, str]
ScopeKey = tuple[str, str, str | None]
_NS_PER_MS = 1_000_000
_MAX_TS_MS = (2**63 - 1) // _NS_PER_MS  # later timestamps do not fit int64 ns
_DATA = (MessageType.NDATA, MessageType.DDATA)
_TOPIC_CACHE = 4096
_BATCH_BYTES = 256 * 1024
"""Messages are handled in batches of up to this much payload: enough to share the numpy
overhead over thousands of metrics, small enough for a low latency and a batch far below
``max_buffer`` samples."""


@dataclass
class _Scope:
    """What a birth announced for one edge node or device, and its columnar lookup."""

    aliases: dict[int, str] = field(default_factory=dict)
    datatypes: dict[int | str, DataType] = field(default_factory=dict)
    table: AliasTable | None = None
    stream_alias: int | None = None

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
    named_tags: set[int] = field(default_factory=set)
    """Tags its births mapped by name (``metric_names``), devices included."""


@dataclass
class _Group:
    """The data messages of one scope in a batch, decoded together."""

    scope: _Scope
    records: Records
    offsets: npt.NDArray[np.intp]
    accepted: list[int] = field(default_factory=list)
    payload_ns: list[int] = field(default_factory=list)
    flushed: int = 0


class _RebirthNeeded(Exception):
    """Raised inside message handling: the node must send a new birth sequence."""


class SparkplugHost:
    """A Sparkplug B Host Application feeding the tags in ``tag_map``.

    ``tag_map`` maps ``(group_id, edge_node_id, device_id or None, metric name)`` to a
    tag id. ``metric_names`` maps metric names to tag ids whatever group, node or device
    sends them (``tag_map`` wins). ``group_filter`` is one group id or ``+`` for all.
    """

    reports_by_exception = True
    """Sparkplug edge nodes report by exception; a node that dies says so (NDEATH)."""

    def __init__(
        self,
        *,
        server: MqttServer,
        host_id: str,
        tag_map: Mapping[TagKey, int],
        metric_names: Mapping[str, int] | None = None,
        group_filter: str = "+",
        clock: Clock | None = None,
        name: str | None = None,
        interval_s: float = 0.2,
        connect_timeout_s: float = 5.0,
        keepalive_s: int = 10,
        max_buffer: int = 1_000_000,
        max_queued_bytes: int = 64 * 1024 * 1024,
        linger_s: float = 0.01,
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
        self.max_queued_bytes = max_queued_bytes
        self.linger_s = linger_s
        self.rebirth_retry_s = rebirth_retry_s
        self.log_interval_s = log_interval_s
        self.state_topic = format_topic(StateTopic(host_id))

        self._tag_map = dict(tag_map)
        self._names = dict(metric_names or {})
        self._tag_ids = sorted(set(self._tag_map.values()) | set(self._names.values()))
        self._node_tags: dict[tuple[str, str], list[int]] = {}
        self._device_tags: dict[tuple[str, str, str], list[int]] = {}
        for (group, node, device, _metric), tag_id in self._tag_map.items():
            self._node_tags.setdefault((group, node), []).append(tag_id)
            if device is not None:
                self._device_tags.setdefault((group, node, device), []).append(tag_id)

        self._inbox = SampleInbox(max_buffer)
        self._last_value = np.full(max(self._tag_ids, default=0) + 1, np.nan)
        self._nodes: dict[tuple[str, str], _Node] = {}
        self._stream_seq: dict[ScopeKey, int] = {}  # kept across births and reconnects
        self._topics: dict[str, Topic | StateTopic | SparkplugDecodeError] = {}
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queued_bytes = 0
        self._queue_lock = threading.Lock()
        self._queued_since = 0.0
        self._handling = threading.Lock()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._lost: str | None = None
        self._closing = False
        self._state_ts_ms = 0
        self._last_log = -math.inf
        self._suppressed_logs = 0

        self.messages = 0
        self.messages_dropped = 0
        self.malformed = 0
        self.rebirths_requested = 0
        self.seq_gaps = 0
        self.unknown_aliases = 0
        self.historical = 0
        self.non_numeric = 0
        self.duplicates_dropped = 0
        self.stale_deaths = 0
        self.node_deaths = 0
        self.device_deaths = 0
        self.discarded_awaiting_rebirth = 0
        self.state_republished = 0
        self.columnar_messages = 0
        self.handling_s = 0.0
        """Time spent handling messages (decoding, checks, samples), not receiving them."""

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
        self._worker = threading.Thread(
            target=self._work, args=(client,), name=f"{self._name}-worker", daemon=True
        )
        self._worker.start()
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
        return self._inbox.take()

    async def close(self) -> None:
        """Publish STATE offline, disconnect and stop paho's thread and the worker; safe to
        call twice. Messages still queued are not handled."""
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
        worker, self._worker = self._worker, None
        self._wake.set()
        if worker is not None:
            await asyncio.to_thread(worker.join, self.connect_timeout_s)
        with self._queue_lock:
            self._queue.clear()
            self._queued_bytes = 0

    def metrics(self) -> dict[str, Any]:
        return {
            "connected": self._client is not None and self._lost is None,
            "messages": self.messages,
            "messages_dropped": self.messages_dropped,
            "samples_buffered": self._inbox.accepted,
            "dropped": self._inbox.dropped,
            "malformed": self.malformed,
            "rebirths_requested": self.rebirths_requested,
            "seq_gaps": self.seq_gaps,
            "unknown_aliases": self.unknown_aliases,
            "historical": self.historical,
            "non_numeric": self.non_numeric,
            "duplicates_dropped": self.duplicates_dropped,
            "stale_deaths": self.stale_deaths,
            "node_deaths": self.node_deaths,
            "device_deaths": self.device_deaths,
            "discarded_awaiting_rebirth": self.discarded_awaiting_rebirth,
            "state_republished": self.state_republished,
            "columnar_messages": self.columnar_messages,
            "handling_seconds": round(self.handling_s, 3),
            "edge_nodes_online": sum(n.born for n in self._nodes.values()),
        }

    # ------------------------------------------------------------------ threads

    def _state_payload(self, online: bool) -> bytes:
        return json.dumps({"online": online, "timestamp": self._state_ts_ms}).encode()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if not self._closing:
            self._lost = f"disconnected ({rc})"
            log.warning("%s: disconnected from the MQTT server: %s", self._name, rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """In paho's thread: queue the message; once a batch's worth is queued, handle it
        right here (one thread doing both is faster than two fighting over the GIL)."""
        self.messages += 1
        payload = bytes(msg.payload)
        with self._queue_lock:
            if self._queued_bytes + len(payload) > self.max_queued_bytes and self._queue:
                self.messages_dropped += 1
                return
            if not self._queue:
                self._queued_since = time.monotonic()
            self._queue.append((msg.topic, payload))
            self._queued_bytes += len(payload)
            full = self._queued_bytes >= _BATCH_BYTES
        if full:
            self._drain(client)
        else:
            self._wake.set()

    def _work(self, client: mqtt.Client) -> None:
        """The worker thread: handles what a quiet stream leaves queued, once the oldest
        queued message has waited ``linger_s``, until :meth:`close`. Waiting lets a busy
        stream fill a batch (a few numpy calls per batch instead of per message), which
        paho's thread then handles itself."""
        while not self._closing:
            if not self._wake.wait(0.5):
                continue
            self._wake.clear()
            while not self._closing:
                with self._queue_lock:
                    if not self._queue:
                        break
                    wait = self._queued_since + self.linger_s - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                    continue
                self._drain(client)

    def _drain(self, client: mqtt.Client) -> None:
        """Handle everything queued, a batch at a time, in order (one thread at a time)."""
        with self._handling:
            while not self._closing:
                batch: list[tuple[str, bytes]] = []
                size = 0
                with self._queue_lock:
                    while self._queue and size < _BATCH_BYTES:
                        batch.append(self._queue.popleft())
                        size += len(batch[-1][1])
                    self._queued_bytes -= size
                    self._queued_since = time.monotonic()
                if not batch:
                    return
                started = time.perf_counter()
                try:
                    self._handle_batch(client, batch)
                except Exception as exc:  # a bug must never stop paho's thread or the worker
                    self._log_bounded("cannot handle %d messages: %r", len(batch), exc)
                self.handling_s += time.perf_counter() - started

    def _handle_batch(self, client: mqtt.Client, batch: list[tuple[str, bytes]]) -> None:
        i = 0
        while i < len(batch):
            j = i
            while j < len(batch) and self._is_data(batch[j][0]):
                j += 1
            if j > i:
                self._data_run(client, batch[i:j])
                i = j
            else:
                self._handle_one(client, *batch[i])
                i += 1

    def _topic(self, text: str) -> Topic | StateTopic | SparkplugDecodeError:
        got = self._topics.get(text)
        if got is None:
            try:
                got = parse_topic(text)
            except SparkplugDecodeError as exc:
                got = exc
            if len(self._topics) >= _TOPIC_CACHE:
                self._topics.clear()
            self._topics[text] = got
        return got

    def _is_data(self, text: str) -> bool:
        topic = self._topic(text)
        return isinstance(topic, Topic) and topic.message_type in _DATA

    def _handle_one(self, client: mqtt.Client, text: str, payload: bytes) -> None:
        """The exact path for one message of any kind; never raises."""
        try:
            topic = self._topic(text)
            if isinstance(topic, SparkplugDecodeError):
                raise SparkplugDecodeError(str(topic))
            if isinstance(topic, StateTopic):
                self._handle_state(client, topic, payload)
            else:
                self._handle(client, topic, payload)
        except SparkplugDecodeError as exc:
            self.malformed += 1
            self._log_bounded("malformed message on %s: %s", text, exc)
        except Exception as exc:  # a bad message must never stop the worker
            self.malformed += 1
            self._log_bounded("cannot handle message on %s: %r", text, exc)

    # ------------------------------------------------------------------ columnar path

    def _data_run(self, client: mqtt.Client, run: list[tuple[str, bytes]]) -> None:
        """NDATA/DDATA messages in a row: decode each scope's messages together, then
        walk them in order, each through the same checks as :meth:`_handle`."""
        try:
            groups, place = self._decode_run(run)
        except Exception as exc:  # never lose the run to a bug here: the exact path remains
            self._log_bounded("columnar decoding failed: %r", exc)
            groups, place = [], {}
        for k, (text, payload) in enumerate(run):
            where = place.get(k)
            if where is None:
                self._flush(groups)
                self._handle_one(client, text, payload)
                continue
            group, index, env = where
            try:
                self._data_message(client, text, group, index, env, groups)
            except Exception as exc:  # as in _handle_one
                self.malformed += 1
                self._log_bounded("cannot handle message on %s: %r", text, exc)
        self._flush(groups)

    def _decode_run(
        self, run: list[tuple[str, bytes]]
    ) -> tuple[list[_Group], dict[int, tuple[_Group, int, Envelope]]]:
        """Columnar decoding of the messages whose scope has a birth with aliases;
        ``place[k]`` says where message ``k``'s metrics are. Tables do not change within
        a run: only births do that, and a run holds data messages only."""
        members: dict[ScopeKey, tuple[_Scope, list[tuple[int, Envelope]]]] = {}
        for k, (text, payload) in enumerate(run):
            topic = self._topic(text)
            assert isinstance(topic, Topic)
            node = self._nodes.get((topic.group_id, topic.edge_node_id))
            if node is None or not node.born or node.awaiting_rebirth:
                continue
            scope = node.scope if topic.device_id is None else node.devices.get(topic.device_id)
            if scope is None or scope.table is None:
                continue
            env = envelope(payload)
            if env is None or (env.seq or 0) > 255 or (env.timestamp_ms or 0) > _MAX_TS_MS:
                continue  # the exact path says what is wrong
            key = (topic.group_id, topic.edge_node_id, topic.device_id)
            members.setdefault(key, (scope, []))[1].append((k, env))
        groups: list[_Group] = []
        place: dict[int, tuple[_Group, int, Envelope]] = {}
        for scope, items in members.values():
            for part in self._decode_items(run, scope, items):
                group, picked = part
                groups.append(group)
                for index, (k, env) in enumerate(picked):
                    place[k] = (group, index, env)
        return groups, place

    def _decode_items(
        self, run: list[tuple[str, bytes]], scope: _Scope, items: list[tuple[int, Envelope]]
    ) -> Iterable[tuple[_Group, list[tuple[int, Envelope]]]]:
        """One group for all ``items``, else (one odd message must not send its
        neighbours down the exact path) one per message that decodes alone."""
        assert scope.table is not None
        tries = [items] if len(items) == 1 else [items, *([item] for item in items)]
        for attempt in tries:
            parts = [run[k][1][env.start : env.end] for k, env in attempt]
            lengths = np.fromiter(map(len, parts), dtype=np.intp, count=len(parts))
            starts = np.concatenate(([0], np.cumsum(lengths[:-1])))
            records = decode_records(b"".join(parts), starts, scope.table)
            if records is not None:
                offsets = np.concatenate(([0], np.cumsum(records.counts)))
                yield _Group(scope, records, offsets), attempt
                if attempt is items:
                    return

    def _data_message(
        self,
        client: mqtt.Client,
        text: str,
        group: _Group,
        index: int,
        env: Envelope,
        groups: list[_Group],
    ) -> None:
        """:meth:`_handle` for an NDATA/DDATA whose metrics ``group`` holds; samples of
        messages accepted before a rebirth request are flushed first, to keep the order."""
        topic = self._topic(text)
        assert isinstance(topic, Topic)
        node = self._nodes[(topic.group_id, topic.edge_node_id)]
        now_ns = self.clock.now_ns()
        if node.awaiting_rebirth or not node.born:  # an earlier message of the run
            self.discarded_awaiting_rebirth += 1
            self._flush(groups)
            self._request_rebirth(client, topic, node, now_ns, "no birth seen")
            return
        expected = (node.last_seq + 1) % 256 if node.last_seq is not None else None  # next_seq
        if env.seq is None or env.seq != expected:
            self.seq_gaps += 1
            self._flush(groups)
            self._request_rebirth(
                client, topic, node, now_ns, f"seq {env.seq} where {expected} was expected"
            )
            return
        node.last_seq = env.seq
        stream_alias = group.scope.stream_alias
        if stream_alias is not None:
            lo, hi = group.offsets[index], group.offsets[index + 1]
            hits = np.flatnonzero(group.records.alias[lo:hi] == stream_alias)
            if len(hits):
                seq = int(group.records.raw[lo + hits[0]])
                if self._duplicate((topic.group_id, topic.edge_node_id, topic.device_id), seq):
                    return
        group.accepted.append(index)
        group.payload_ns.append(env.timestamp_ms * _NS_PER_MS if env.timestamp_ms else now_ns)
        self.columnar_messages += 1

    def _flush(self, groups: list[_Group]) -> None:
        """Samples of the messages accepted so far, group by group, into the buffer."""
        for group in groups:
            if len(group.accepted) == group.flushed:
                continue
            table = group.scope.table
            assert table is not None
            accepted = np.array(group.accepted[group.flushed :], dtype=np.intp)
            payload_ns = np.array(group.payload_ns[group.flushed :], dtype=np.int64)
            group.flushed = len(group.accepted)
            rec, offsets = group.records, group.offsets
            counts = rec.counts[accepted]
            if len(accepted) == len(rec.counts):
                rows: slice | npt.NDArray[np.intp] = slice(None)
            else:
                starts = offsets[accepted]
                rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(
                    int(counts.sum())
                )
            alias = rec.alias[rows]
            tag = table.tag_id[alias]
            keep = tag >= 0
            ts_ms = rec.ts_ms[rows]
            ts = np.where(ts_ms >= 0, ts_ms * _NS_PER_MS, np.repeat(payload_ns, counts))
            value = rec.value[rows]
            self.historical += int(np.count_nonzero(rec.historical[rows] & keep))
            if not keep.all():
                tag, ts, value = tag[keep], ts[keep], value[keep]
            self._last_value[tag] = value  # a 1-D index assigns in order: the last one stays
            self._inbox.put(tag, ts, value, np.zeros(len(tag), dtype=np.uint32))

    def _duplicate(self, key: ScopeKey, stream_seq: int) -> bool:
        """True (and counted) when a message with ``stream_seq`` was seen already."""
        if stream_seq <= self._stream_seq.get(key, -1):
            self.duplicates_dropped += 1
            return True
        self._stream_seq[key] = stream_seq
        return False

    # ------------------------------------------------------------------ exact path

    def _handle_state(self, client: mqtt.Client, topic: StateTopic, payload: bytes) -> None:
        if topic.host_id != self.host_id or self._closing:
            return
        try:
            state = json.loads(payload)
        except ValueError as exc:
            raise SparkplugDecodeError(f"STATE payload is not JSON: {exc}") from None
        if isinstance(state, dict) and state.get("online") is False:
            self.state_republished += 1
            client.publish(self.state_topic, self._state_payload(True), qos=1, retain=True)

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
                self._learn(topic, node, device, decoded.metrics)
                self._samples(topic, decoded, device, now_ns)
            elif kind is MessageType.DDEATH:
                assert topic.device_id is not None
                device = node.devices.pop(topic.device_id, _Scope())
                self.device_deaths += 1
                ts = decoded.timestamp_ms * _NS_PER_MS if decoded.timestamp_ms else now_ns
                tags = self._device_tags.get((topic.group_id, topic.edge_node_id, topic.device_id))
                named = sorted(self._named(device) - set(self._tag_map.values()))
                self._mark([*(tags or []), *named], ts, quality.BAD_NO_COMMUNICATION)
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
        self._learn(topic, node, node.scope, decoded.metrics)
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
        self._mark([*tags, *self._node_names(node)], now_ns, quality.BAD_NO_COMMUNICATION)

    def _check_seq(self, node: _Node, decoded: DecodedPayload) -> None:
        expected = next_seq(node.last_seq) if node.last_seq is not None else None
        if decoded.seq is None or decoded.seq != expected:
            self.seq_gaps += 1
            raise _RebirthNeeded(f"seq {decoded.seq} where {expected} was expected")
        node.last_seq = decoded.seq

    def _tag_of(self, topic: Topic, name: str) -> int | None:
        tag_id = self._tag_map.get((topic.group_id, topic.edge_node_id, topic.device_id, name))
        return self._names.get(name) if tag_id is None else tag_id

    def _learn(self, topic: Topic, node: _Node, scope: _Scope, metrics: Sequence[Metric]) -> None:
        """Take a birth's aliases and datatypes, and build the scope's columnar lookup."""
        scope.learn(metrics)
        scope.stream_alias = next(
            (
                alias
                for alias, name in scope.aliases.items()
                if name == STREAM_SEQ_METRIC and scope.datatypes[alias] is DataType.UInt64
            ),
            None,
        )
        scope.table = AliasTable.build(
            (alias, scope.datatypes[alias], None if alias == scope.stream_alias else tag)
            for alias, name in scope.aliases.items()
            for tag in (self._tag_of(topic, name),)
        )
        node.named_tags |= self._named(scope)

    def _named(self, scope: _Scope) -> set[int]:
        """Tags a birth of ``scope`` maps by metric name (``metric_names``)."""
        return {self._names[n] for n in scope.datatypes if isinstance(n, str) and n in self._names}

    def _node_names(self, node: _Node) -> list[int]:
        """Tags the node's births mapped by name and ``tag_map`` does not already list."""
        return sorted(node.named_tags - set(self._tag_map.values()))

    def _samples(self, topic: Topic, decoded: DecodedPayload, scope: _Scope, now_ns: int) -> None:
        payload_ns = decoded.timestamp_ms * _NS_PER_MS if decoded.timestamp_ms else now_ns
        named: list[tuple[str, Metric]] = []
        for m in decoded.metrics:
            name = m.name
            if name is None:
                name = scope.aliases.get(m.alias) if m.alias is not None else None
                if name is None:
                    self.unknown_aliases += 1
                    raise _RebirthNeeded(f"alias {m.alias} was not in the birth")
            named.append((name, m))
        if topic.message_type in _DATA:
            stream = next((m for name, m in named if name == STREAM_SEQ_METRIC), None)
            if (
                stream is not None
                and stream.datatype is DataType.UInt64
                and isinstance(stream.value, int)
            ):
                key = (topic.group_id, topic.edge_node_id, topic.device_id)
                if self._duplicate(key, stream.value):
                    return
        rows: list[tuple[int, int, float, int]] = []
        birth = topic.message_type in (MessageType.NBIRTH, MessageType.DBIRTH)
        for name, m in named:
            tag_id = self._tag_of(topic, name) if name != STREAM_SEQ_METRIC else None
            if tag_id is None:
                continue
            ts = m.timestamp_ms * _NS_PER_MS if m.timestamp_ms is not None else payload_ns
            if m.is_null:
                if not birth:  # a birth's null only says "no value yet": not an observation
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
            rows.append((tag_id, ts, value, quality.GOOD if m.quality is None else m.quality))
        if rows:  # all-or-nothing: a message with an unknown alias adds no samples
            tag, ts_col, value_col, q = zip(*rows, strict=True)
            tags = np.array(tag, dtype=np.int32)
            values = np.array(value_col, dtype=np.float64)
            self._last_value[tags] = values
            self._inbox.put(
                tags, np.array(ts_col, dtype=np.int64), values, np.array(q, dtype=np.uint32)
            )

    def _request_rebirth(
        self, client: mqtt.Client, topic: Topic, node: _Node, now_ns: int, why: str
    ) -> None:
        first = not node.awaiting_rebirth
        now = time.monotonic()
        if first and node.born:  # a dead node's tags stay Bad (NDEATH), not "last usable"
            tags = self._node_tags.get((topic.group_id, topic.edge_node_id), [])
            self._mark(
                [*tags, *self._node_names(node)],
                now_ns,
                quality.UNCERTAIN_LAST_USABLE_VALUE,
                keep_value=True,
            )
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
        self.rebirths_requested += 1  # counted first: whoever sees the NCMD sees the count
        client.publish(format_topic(ncmd), body, qos=0, retain=False)
        log.warning(
            "%s: requested a rebirth of %s/%s: %s",
            self._name, topic.group_id, topic.edge_node_id, why,
        )  # fmt: skip

    def _mark(
        self, tags: Sequence[int], ts_ns: int, code: int, *, keep_value: bool = False
    ) -> None:
        if not tags:
            return
        ids = np.array(tags, dtype=np.int32)
        values = self._last_value[ids] if keep_value else np.full(len(ids), np.nan)
        self._inbox.put(
            ids,
            np.full(len(ids), ts_ns, dtype=np.int64),
            values,
            np.full(len(ids), code, np.uint32),
        )

    def _log_bounded(self, fmt: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log < self.log_interval_s:
            self._suppressed_logs += 1
            return
        extra = f" ({self._suppressed_logs} similar suppressed)" if self._suppressed_logs else ""
        self._last_log = now
        self._suppressed_logs = 0
        log.warning("%s: " + fmt + extra, self._name, *args)
