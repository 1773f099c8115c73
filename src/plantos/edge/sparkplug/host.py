"""A Sparkplug B Host Application as a PlantOS connector (Sparkplug 3.0, chapter 5).

:class:`SparkplugHost` connects to one MQTT server with paho-mqtt, announces itself with
retained ``spBv1.0/STATE/<host_id>`` messages (a Will for offline), subscribes to the
Sparkplug namespace and turns the metrics named in ``tag_map`` (and, with
``metric_names``, every metric whose name is a tag path) into samples.
:meth:`SparkplugHost.collect` hands over what arrived since the previous call as one
:class:`SampleBatch`.

It is built from three parts, each testable alone:

* :mod:`~plantos.edge.sparkplug.transport`: paho's thread, a bounded queue, a worker;
* :mod:`~plantos.edge.sparkplug.session`: every edge node's session (births, deaths,
  ``seq`` checks, rebirth requests, duplicate stream numbers): the state machine;
* :mod:`~plantos.edge.sparkplug.decoding`: payloads to sample columns (columnar and exact).

Commit acknowledgement (:mod:`~plantos.edge.sparkplug.commits`): a batch holding samples of
a PlantOS edge gateway's numbered stream is handed over as an
:class:`~plantos.bus.ack.AckedBatch`; once the historian writer acknowledges it (and every
batch before it), the host publishes the committed stream number per edge node, retained
at QoS 1 (:mod:`~plantos.edge.sparkplug.acks`), and the gateway frees its spool up to
there. At connect the host first reads those retained messages, so a restarted core drops
what an earlier run already committed when the gateway sends it again.

Every scalar metric value becomes a sample (timestamp: the metric's, else the payload's,
else the clock; quality: the metric's ``quality``, else Good): numbers and Booleans,
Int64 and UInt64 exact beyond 2**53, String, Text and UUID as text, DateTime as the
integer milliseconds since the epoch the specification defines
(:func:`~plantos.edge.sparkplug.decoding.sample_value`); whether it fits the tag's type
is the ingest gate's call. ``is_historical`` metrics are kept and counted; null metrics in
data messages become NaN with a Bad quality, while a null in a birth (no value yet) adds
no sample. Values no tag can hold (arrays, DataSet, Template, Bytes, File) are counted
as ``non_numeric`` and logged with the metric's name; a birth's repeat of a value
already handed over is counted as ``restated`` and not handed over again. Malformed
messages are counted and logged at most once every ``log_interval_s``; they never stop
the host. Samples wait for :meth:`collect`, at most ``max_buffer`` of them; while there is
no room for a batch, messages wait undecoded in the transport's queue; samples that do
not fit all the same are counted in ``dropped`` (numbered stream samples are refused
instead and come again).
A STATE ``online: false`` on this host's own id while connected makes it republish its
online STATE.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from plantos.bus.ack import with_ack
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.core.timeunits import NS_PER_MS
from plantos.edge.mqtt.server import (
    MqttServer,
    Will,
    close_session,
    open_session,
    publish_confirmed,
    subscribe,
)
from plantos.edge.sparkplug.acks import (
    COMMIT_NAMESPACE,
    commit_topic,
    decode_commit,
    encode_commit,
    parse_commit_topic,
)
from plantos.edge.sparkplug.codec import (
    NAMESPACE,
    SparkplugDecodeError,
    StateTopic,
    format_topic,
)
from plantos.edge.sparkplug.commits import CommitTracker, Handover, NodeKey
from plantos.edge.sparkplug.decoding import TagIndex, TagKey
from plantos.edge.sparkplug.session import EdgeSessions
from plantos.edge.sparkplug.transport import BATCH_BYTES, Transport

log = logging.getLogger(__name__)

_BATCH_SAMPLES = BATCH_BYTES // 4
"""Metrics a batch of messages holds at most, by and large: a metric by alias takes at
least four bytes on the wire."""
_REPUBLISH_S = 1.0
"""At most this often per edge node, a replay of committed data re-sends the node's ack."""
_COUNTS = (
    "malformed",
    "rebirths_requested",
    "seq_gaps",
    "unknown_aliases",
    "historical",
    "non_numeric",
    "duplicates_dropped",
    "restated",
    "stale_deaths",
    "node_deaths",
    "device_deaths",
    "discarded_awaiting_rebirth",
    "refused_full",
)


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
        self.log_interval_s = log_interval_s
        self.state_topic = format_topic(StateTopic(host_id))
        self._tags = TagIndex(tag_map, metric_names or {})
        self._handover = Handover(max_buffer)
        self._commits = CommitTracker(self._publish_commit)
        self._transport = Transport(
            name=self._name,
            handle=self._handle_batch,
            max_queued_bytes=max_queued_bytes,
            linger_s=linger_s,
            on_error=self._log_bounded,
            ready=self._has_room,
        )
        self._sessions = EdgeSessions(
            name=self._name,
            tags=self._tags,
            handover=self._handover,
            clock=self.clock,
            rebirth_retry_s=rebirth_retry_s,
            on_state=self._handle_state,
            on_other=self._handle_commit,
            on_replayed=self._replayed,
            committed=lambda key: self._commits.committed.get(key, -1),
            log_bounded=self._log_bounded,
            warn=lambda text: log.warning("%s: %s", self._name, text),
        )
        self._client: mqtt.Client | None = None
        self._state_ts_ms = 0
        self._last_log = -math.inf
        self._suppressed_logs = 0
        self._republished: dict[NodeKey, float] = {}
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
        return self._tags.tag_ids

    async def connect(self) -> None:
        """Connect with a STATE Will, read the retained commit acknowledgements, subscribe
        to the namespace, then publish STATE online (chapter 5)."""
        await self.close()
        self._sessions.nodes.clear()
        self._state_ts_ms = self.clock.now_ns() // NS_PER_MS
        client = await open_session(
            self.server,
            client_id=f"plantos-host-{self.host_id}",
            on_message=self._transport.on_message,
            on_disconnect=self._transport.on_disconnect,
            will=Will(self.state_topic, self._state_payload(False), qos=1, retain=True),
            keepalive_s=self.keepalive_s,
            timeout_s=self.connect_timeout_s,
        )
        self._client = client
        self._transport.start(client)
        try:
            # First, on their own: the retained acknowledgements are queued before any data.
            await subscribe(
                client,
                [(f"{COMMIT_NAMESPACE}/{self.host_id}/#", 1)],
                timeout_s=self.connect_timeout_s,
            )
            await subscribe(
                client,
                [(f"{NAMESPACE}/{self.group_filter}/#", 1), (self.state_topic, 1)],
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
        for node in self._commits.nodes():  # commits made while the link was down
            self._publish_commit(node, self._commits.of_node(node))

    async def collect(self) -> SampleBatch:
        """What arrived since the last call; samples of numbered streams come as an
        :class:`AckedBatch` to acknowledge once committed."""
        if self._client is None:
            raise ConnectionError("the Sparkplug host is not connected")
        if self._transport.lost is not None:
            raise ConnectionError(f"lost the MQTT server: {self._transport.lost}")
        batch, marks = self._handover.take()
        if not marks:
            return batch
        ack = self._commits.ticket(marks)
        if not len(batch):  # numbered messages without a sample for us: nothing to store
            ack()
            return batch
        return with_ack(batch, ack)

    async def close(self) -> None:
        """Wait (at most ``connect_timeout_s``) for the commits of what was handed over, so
        the gateways hear of them, then publish STATE offline, disconnect and stop paho's
        thread and the worker; safe to call twice. Messages still queued are not handled."""
        client = self._client
        if client is None:
            return
        if client.is_connected() and self._transport.lost is None:
            await self._await_commits()
        self._client = None
        self._transport.closing = True
        if client.is_connected() and self._transport.lost is None:
            self._state_ts_ms = self.clock.now_ns() // NS_PER_MS
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
        await self._transport.stop(join_timeout_s=self.connect_timeout_s)

    async def _await_commits(self) -> None:
        """A core stopping drains its bus after its sources: the batches collected last are
        committed after this close began. Without their commit messages a restarted core
        would take them again from the gateways' replay and store them twice. A batch lost
        on the way (its source cancelled mid-hand-over) is never committed: hence the bound."""
        deadline = time.monotonic() + self.connect_timeout_s
        while self._commits.pending() and time.monotonic() < deadline:
            if self._transport.lost is not None:
                return
            await asyncio.sleep(0.02)

    def metrics(self) -> dict[str, Any]:
        counts = self._sessions.counts
        transport = self._transport
        return {
            "connected": self._client is not None and transport.lost is None,
            "messages": transport.messages,
            "messages_dropped": transport.messages_dropped,
            "samples_buffered": self._handover.inbox.accepted,
            "dropped": self._handover.inbox.dropped,
            **{name: counts[name] for name in _COUNTS},
            "state_republished": self.state_republished,
            "columnar_messages": counts["columnar_messages"],
            "handling_seconds": round(transport.handling_s, 3),
            "edge_nodes_online": sum(n.born for n in self._sessions.nodes.values()),
            "commit_batches_pending": self._commits.pending(),
        }

    # ------------------------------------------------------------------ messages

    def _has_room(self) -> bool:
        """Room in the hand-over for a batch of messages (or it is empty): else they wait
        in the transport's queue (see :mod:`~plantos.edge.sparkplug.transport`)."""
        handover = self._handover
        return handover.room() >= min(_BATCH_SAMPLES, handover.inbox.max_samples)

    def _handle_batch(self, client: mqtt.Client, batch: list[tuple[str, bytes]]) -> None:
        self._sessions.handle_batch(client, batch)

    def _state_payload(self, online: bool) -> bytes:
        return json.dumps({"online": online, "timestamp": self._state_ts_ms}).encode()

    def _handle_state(self, client: mqtt.Client, topic: StateTopic, payload: bytes) -> None:
        if topic.host_id != self.host_id or self._transport.closing:
            return
        try:
            state = json.loads(payload)
        except ValueError as exc:
            raise SparkplugDecodeError(f"STATE payload is not JSON: {exc}") from None
        if isinstance(state, dict) and state.get("online") is False:
            self.state_republished += 1
            client.publish(self.state_topic, self._state_payload(True), qos=1, retain=True)

    def _handle_commit(self, client: mqtt.Client, text: str, payload: bytes) -> bool:
        """A commit acknowledgement of this host (retained from an earlier run, or its own
        echo): what is committed need not be taken again."""
        parsed = parse_commit_topic(text)
        if parsed is None:
            return False
        host_id, group_id, edge_node_id = parsed
        if host_id != self.host_id:
            return True
        committed = decode_commit(payload)
        self._commits.seed((group_id, edge_node_id), committed)
        accepted = self._sessions.accepted
        for device, n in committed.items():
            key = (group_id, edge_node_id, device)
            if n > accepted.get(key, -1):
                accepted[key] = n
        return True

    def _publish_commit(self, node: NodeKey, committed: dict[str | None, int]) -> None:
        """Tell the edge node what is committed; skipped while disconnected (every node's
        numbers are published again at the next connect)."""
        client = self._client
        if client is None or self._transport.lost is not None:
            return
        payload = encode_commit(committed, timestamp_ms=self.clock.now_ns() // NS_PER_MS)
        client.publish(commit_topic(self.host_id, *node), payload, qos=1, retain=True)

    def _replayed(self, node: NodeKey) -> None:
        """A node sends again what is committed: it may have missed the acknowledgement."""
        now = time.monotonic()
        if now - self._republished.get(node, -math.inf) >= _REPUBLISH_S:
            self._republished[node] = now
            self._publish_commit(node, self._commits.of_node(node))

    def _log_bounded(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_log < self.log_interval_s:
            self._suppressed_logs += 1
            return
        extra = f" ({self._suppressed_logs} similar suppressed)" if self._suppressed_logs else ""
        self._last_log = now
        self._suppressed_logs = 0
        log.warning("%s: %s%s", self._name, text, extra)
