"""PlantOS as a Sparkplug B Edge Node (Sparkplug 3.0, chapters 4 to 6).

:class:`SparkplugEdgeNode` publishes the samples of known tags as metrics of one edge
node and its devices:

* Session: the MQTT Will is an NDEATH carrying the session's ``bdSeq`` (QoS 1, not
  retained); every :meth:`SparkplugEdgeNode.connect` uses the next ``bdSeq`` (0..255,
  wrapping). The node never reconnects by itself: its supervisor calls ``connect()``.
* Births: NBIRTH (``seq`` 0) with ``bdSeq``, ``Node Control/Rebirth`` = false and every
  node-level metric with name, alias, datatype and its last published value (``is_null``
  before any), then one DBIRTH per device; QoS 0, not retained. A Rebirth NCMD gets
  the same births again, with the same ``bdSeq``.
* Data: NDATA for node-level samples and one DDATA per device, metrics by alias with
  their own timestamps in time order, ``seq`` one more than the previous message.
  Report by exception drops a sample equal (value, exact value and quality) to what its
  metric last published. A sample that is not Good carries the ``Quality`` properties
  (see :mod:`plantos.edge.sparkplug.codec`); NaN is sent as ``is_null``. Text (String
  metrics) and integers beyond 2**53 (Int64, UInt64) are sent exactly; a value that does
  not fit its metric's datatype is sent as ``is_null`` with ``BadOutOfRange`` or
  ``BadTypeMismatch``, counted and logged (see :mod:`plantos.edge.sparkplug.node_values`).
* Primary host: with ``primary_host_id`` the node waits for that host's STATE online
  before its births. When the host goes offline it publishes NDEATH and, unlike the
  specification (which has it disconnect and walk to the next MQTT server), stays
  connected to its only server and births again when the host comes back.
* Commit acknowledgement: with ``commit_acks`` the node also follows the primary host's
  retained commit acknowledgement (:mod:`plantos.edge.sparkplug.acks`) and says which
  numbered batches the core's historian has committed (:attr:`committed_seq`).

Commands are never written anywhere: PlantOS is read-only towards devices; every NCMD
or DCMD metric other than a Rebirth request is counted and ignored.

Threading: paho delivers messages in its own thread; they are handed to the event loop
with ``call_soon_threadsafe``, so sequence numbers and last values are only touched in
the loop, and every message of one :meth:`SparkplugEdgeNode.publish` is handed to paho
before a rebirth can interleave.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from plantos.core import quality
from plantos.core.batch import Exact, SampleBatch, exact_held
from plantos.core.clock import Clock, WallClock
from plantos.core.timeunits import NS_PER_MS as _NS_PER_MS
from plantos.edge.mqtt.server import MqttServer, Will, close_session, open_session, subscribe
from plantos.edge.sparkplug.acks import commit_topic, decode_commit
from plantos.edge.sparkplug.codec import (
    NAMESPACE,
    REBIRTH_METRIC,
    STREAM_PARTS,
    STREAM_SEQ_METRIC,
    DataType,
    MessageType,
    Metric,
    SparkplugDecodeError,
    StateTopic,
    Topic,
    bdseq_metric,
    decode_payload,
    encode_payload,
    format_topic,
    next_seq,
    parse_topic,
)
from plantos.edge.sparkplug.columnar_encode import LONG_VALUE, encode_payloads, encode_seq
from plantos.edge.sparkplug.node_commits import PendingCommits
from plantos.edge.sparkplug.node_values import WIRE, MetricWires, same_exact

log = logging.getLogger(__name__)

_RESERVED = {"bdSeq", REBIRTH_METRIC, STREAM_SEQ_METRIC}
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Samples:
    """Samples of known metrics: metric index, ts, value, quality and exact value."""

    idx: Ints
    ts: Ints
    value: npt.NDArray[np.float64]
    codes: npt.NDArray[np.uint32]
    exact: Exact | None = None

    def pick(self, which: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> _Samples:
        exact = None if self.exact is None else self.exact[which]
        return _Samples(
            self.idx[which], self.ts[which], self.value[which], self.codes[which], exact
        )


@dataclass(frozen=True)
class NodeMetric:
    """A tag published as a metric; ``device`` None: a node-level metric, else the device's id."""

    tag_id: int
    name: str
    datatype: DataType
    device: str | None = None


class SparkplugEdgeNode:
    """One Sparkplug B edge node publishing the tags in ``metrics`` (see the module doc).

    ``data_qos=1`` (for store-and-forward) deviates from the specification's QoS 0 for
    NDATA/DDATA so that :meth:`publish` returns only once the server has every message.
    ``connect_timeout_s`` also bounds how long one publish waits for delivery.
    """

    def __init__(
        self,
        *,
        server: MqttServer,
        group_id: str,
        edge_node_id: str,
        metrics: Sequence[NodeMetric],
        clock: Clock | None = None,
        data_qos: int = 0,
        report_by_exception: bool = True,
        primary_host_id: str | None = None,
        commit_acks: bool = False,
        connect_timeout_s: float = 5.0,
        keepalive_s: int = 10,
        max_metrics_per_message: int = 5000,
    ) -> None:
        if data_qos not in (0, 1):
            raise ValueError(f"data_qos must be 0 or 1, got {data_qos!r}")
        if commit_acks and primary_host_id is None:
            raise ValueError("commit_acks needs the primary_host_id that acknowledges")
        if max_metrics_per_message < 2:
            raise ValueError(f"max_metrics_per_message must be >= 2, got {max_metrics_per_message}")
        self.server = server
        self.group_id = group_id
        self.edge_node_id = edge_node_id
        self.clock = clock or WallClock()
        self.data_qos = data_qos
        self.report_by_exception = report_by_exception
        self.primary_host_id = primary_host_id
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.max_metrics_per_message = max_metrics_per_message

        self._defs = list(metrics)
        self.devices = _check_metrics(self._defs)
        self._topics = [self._topic(MessageType.NDATA)] + [
            self._topic(MessageType.DDATA, d) for d in self.devices
        ]
        self._state_topic = format_topic(StateTopic(primary_host_id)) if primary_host_id else None
        self._commit_topic = (
            commit_topic(primary_host_id, group_id, edge_node_id)
            if commit_acks and primary_host_id
            else None
        )
        self._commits = PendingCommits([None, *self.devices])
        self.on_commit: Callable[[], None] | None = None
        """Called (in the event loop) whenever :attr:`committed_seq` moves."""
        n = len(self._defs)
        tag_ids = np.array([m.tag_id for m in self._defs], dtype=np.int64)
        self._tag_order = np.argsort(tag_ids, kind="stable")
        self._sorted_tags = tag_ids[self._tag_order]
        scope_of: dict[str | None, int] = {d: i + 1 for i, d in enumerate(self.devices)}
        scope_of[None] = 0
        self._scope = np.array([scope_of[m.device] for m in self._defs], dtype=np.int64)
        self._wires = MetricWires([m.datatype for m in self._defs])
        # Aliases: metric i is alias i; each scope's stream-seq metric follows them.
        self._stream_alias = [n + s for s in range(len(self.devices) + 1)]
        self._stream_seq: list[int | None] = [None] * (len(self.devices) + 1)
        self._last_value = np.full(n, np.nan)
        self._last_exact: Exact = np.full(n, None, dtype=object)
        self._exact_metric = np.zeros(n, dtype=np.bool_)
        """Metrics that have carried text or a big integer: only theirs compare exactly."""
        self._refused_logged: set[tuple[int, int]] = set()
        self._last_quality = np.full(n, quality.GOOD, dtype=np.uint32)
        self._last_ts = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        self._published = np.zeros(n, dtype=np.bool_)

        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lost = threading.Event()
        self._next_bdseq = 0
        self._bdseq = 0
        self._seq = 0
        self._born = False
        self._host_online = primary_host_id is None
        self._host_ts = -1
        self._connects = 0
        self.counters = dict.fromkeys(
            (
                "messages",
                "samples_sent",
                "suppressed_by_exception",
                "rebirths_answered",
                "births",
                "reconnects",
                "unknown_tags",
                "out_of_range",
                "type_mismatch",
                "ignored_commands",
                "malformed",
                "host_offline_deaths",
            ),
            0,
        )

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        """The MQTT session is up (births may still wait for the primary host)."""
        return self._client is not None and not self._lost.is_set()

    @property
    def acknowledges_commits(self) -> bool:
        """The primary host reports what its historian committed (:attr:`committed_seq`)."""
        return self._commit_topic is not None

    @property
    def committed_seq(self) -> int | None:
        """The newest ``stream_seq`` committed at the core with every one sent before it."""
        return self._commits.committed_seq

    @property
    def epoch(self) -> int:
        """Changes with every birth: the host may have lost what was sent before it and not
        committed, so a sender waiting for commits sends that again."""
        return self.counters["births"]

    @property
    def online(self) -> bool:
        """Connected, born, and (with a primary host) that host's STATE is online."""
        return self.connected and self._born and self._host_online

    async def connect(self) -> None:
        """Open a new session (next ``bdSeq``), subscribe to commands and, unless waiting
        for the primary host, publish the births; :class:`ConnectionError` if it fails."""
        await self.close()
        self._loop = asyncio.get_running_loop()
        self._bdseq, self._next_bdseq = self._next_bdseq, next_seq(self._next_bdseq)
        self._lost = threading.Event()
        self._born = False
        self._host_online = self.primary_host_id is None
        will = Will(self._topic(MessageType.NDEATH), self._death_payload(), qos=1, retain=False)
        client = await open_session(
            self.server,
            client_id=f"plantos-edge-{self.group_id}-{self.edge_node_id}",
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            will=will,
            keepalive_s=self.keepalive_s,
            timeout_s=self.connect_timeout_s,
        )
        self._client = client
        try:
            if self._state_topic is not None:
                # Separately first: the retained STATE (and commit acknowledgement) arrive
                # before the next SUBACK.
                first = [(self._state_topic, 1)]
                if self._commit_topic is not None:
                    first.append((self._commit_topic, 1))
                await subscribe(client, first, timeout_s=self.connect_timeout_s)
            await subscribe(
                client,
                [
                    (self._topic(MessageType.NCMD), 1),
                    (f"{NAMESPACE}/{self.group_id}/{MessageType.DCMD}/{self.edge_node_id}/+", 1),
                ],
                timeout_s=self.connect_timeout_s,
            )
            if self._host_online and not self._born:
                await self._deliver(self._send_births(client), qos=0)
        except ConnectionError as exc:
            await self.close()
            raise ConnectionError(f"MQTT server {self.server}: {exc}") from exc
        self._connects += 1
        self.counters["reconnects"] = self._connects - 1

    async def publish(
        self, batch: SampleBatch, *, historical: bool = False, stream_seq: int | None = None
    ) -> int:
        """Publish ``batch`` as NDATA/DDATA and return how many samples went out.

        Raises :class:`ConnectionError` when the node is not online or the connection is
        lost before paho wrote (QoS 0) or the server acknowledged (QoS 1) every message;
        report-by-exception state then stays as it was, so a retry sends the same samples.
        """
        if stream_seq is not None and not 0 <= stream_seq < 2**64 // STREAM_PARTS:
            raise ValueError(f"stream_seq must be below 2**64 / {STREAM_PARTS}, got {stream_seq!r}")
        client = self._client
        if client is None or self._lost.is_set():
            raise ConnectionError(f"the Sparkplug edge node is not connected to {self.server}")
        if not self.online:
            raise ConnectionError(f"primary host {self.primary_host_id} is not online")
        if len(batch) and int(batch.ts.min()) < 0:
            raise ValueError("sample timestamps must not be before 1970")
        samples = self._prepare(batch)
        if self.report_by_exception and not historical:
            keep = self._changed(samples)
            self.counters["suppressed_by_exception"] += int(len(keep) - keep.sum())
            samples = samples.pick(keep)
        if not len(samples.idx):
            if stream_seq is not None and self._commit_topic is not None:
                self._commits.sent(stream_seq, {})  # nothing to wait for
            return 0
        payloads = self._data_payloads(samples, historical, stream_seq)
        # Remember the values before waiting, so a rebirth answered meanwhile shows them.
        before = self._snapshot()
        self._commit(samples)
        if stream_seq is not None:  # the births restate the last number sent per scope
            parts = Counter(scope for scope, _data in payloads)
            for scope, n in parts.items():
                self._stream_seq[scope] = stream_seq * STREAM_PARTS + n - 1
            if self._commit_topic is not None:
                self._commits.sent(stream_seq, dict(parts))
        try:
            infos = [
                self._send(client, self._topics[scope], data, qos=self.data_qos)
                for scope, data in payloads
            ]
            await self._deliver(infos, qos=self.data_qos)
        except ConnectionError:
            self._restore(before)
            raise
        self.counters["samples_sent"] += len(samples.idx)
        return len(samples.idx)

    async def close(self) -> None:
        """Publish NDEATH (if still connected), disconnect and stop paho; safe twice."""
        client, self._client = self._client, None
        self._born = False
        if client is None:
            return
        if client.is_connected() and not self._lost.is_set():
            info = client.publish(self._topic(MessageType.NDEATH), self._death_payload(), qos=1)
            try:
                await self._deliver([info], qos=1)
            except ConnectionError as exc:  # the Will says it instead
                log.info("%s: NDEATH not confirmed: %s", self.edge_node_id, exc)
        self._lost.set()
        await close_session(client)

    def metrics(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "bdseq": self._bdseq,
            "seq": self._seq,
            **self.counters,
            "commit_waiting_batches": self._commits.waiting(),
            "committed_seq": self._commits.committed_seq,
        }

    # ------------------------------------------------------------------ births and deaths

    def _topic(self, kind: MessageType, device: str | None = None) -> str:
        return format_topic(Topic(NAMESPACE, self.group_id, kind, self.edge_node_id, device))

    def _now_ms(self) -> int:
        return self.clock.now_ns() // _NS_PER_MS

    def _death_payload(self) -> bytes:
        return encode_payload(
            timestamp_ms=self._now_ms(), seq=None, metrics=[bdseq_metric(self._bdseq)]
        )

    def _birth_metric(self, i: int) -> Metric:
        d = self._defs[i]
        code = int(self._last_quality[i])
        ts = int(self._last_ts[i]) // _NS_PER_MS if self._published[i] else None
        value = self._wires.python_value(i, float(self._last_value[i]), self._last_exact[i])
        return Metric(
            name=d.name,
            alias=i,
            timestamp_ms=ts,
            datatype=d.datatype,
            value=value,
            is_null=value is None,
            quality=None if code == quality.GOOD else code,
        )

    def _stream_metric(self, scope: int) -> Metric:
        last = self._stream_seq[scope]
        return Metric(
            name=STREAM_SEQ_METRIC,
            alias=self._stream_alias[scope],
            datatype=DataType.UInt64,
            value=last,
            is_null=last is None,
        )

    def _send_births(self, client: mqtt.Client) -> list[mqtt.MQTTMessageInfo]:
        """NBIRTH (``seq`` restarts at 0) then every DBIRTH, handed to paho in one go."""
        self._seq = 0
        now = self._now_ms()
        scopes: list[list[Metric]] = [[] for _ in self._topics]
        for i in range(len(self._defs)):
            scopes[int(self._scope[i])].append(self._birth_metric(i))
        node = [
            bdseq_metric(self._bdseq),
            Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, value=False),
            *scopes[0],
            self._stream_metric(0),
        ]
        infos = [self._send_bytes(client, self._topic(MessageType.NBIRTH), now, node, qos=0)]
        for k, device in enumerate(self.devices, start=1):
            metrics = [*scopes[k], self._stream_metric(k)]
            topic = self._topic(MessageType.DBIRTH, device)
            infos.append(self._send_bytes(client, topic, now, metrics, qos=0))
        self._born = True
        self.counters["births"] += 1
        return infos

    def _send_bytes(
        self, client: mqtt.Client, topic: str, now_ms: int, metrics: list[Metric], *, qos: int
    ) -> mqtt.MQTTMessageInfo:
        data = encode_payload(timestamp_ms=now_ms, seq=self._take_seq(), metrics=metrics)
        return self._publish(client, topic, data, qos=qos)

    def _send(
        self, client: mqtt.Client, topic: str, data: bytes, *, qos: int
    ) -> mqtt.MQTTMessageInfo:
        return self._publish(client, topic, data + encode_seq(self._take_seq()), qos=qos)

    def _take_seq(self) -> int:
        seq, self._seq = self._seq, next_seq(self._seq)
        return seq

    def _publish(
        self, client: mqtt.Client, topic: str, data: bytes, *, qos: int
    ) -> mqtt.MQTTMessageInfo:
        """Hand one message to paho (never retained); it keeps the order of these calls."""
        info = client.publish(topic, data, qos=qos, retain=False)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"cannot publish to {topic}: {mqtt.error_string(info.rc)}")
        self.counters["messages"] += 1
        return info

    async def _deliver(self, infos: list[mqtt.MQTTMessageInfo], *, qos: int) -> None:
        """Wait until paho wrote (QoS 0) or the server acknowledged (QoS 1) every message;
        :class:`ConnectionError` on a lost connection or after ``connect_timeout_s``."""
        lost, timeout_s = self._lost, self.connect_timeout_s

        def wait() -> None:
            deadline = time.monotonic() + timeout_s
            for info in infos:
                while not info.is_published():
                    remaining = deadline - time.monotonic()
                    if lost.is_set() or remaining <= 0:
                        what = "acknowledged" if qos else "written"
                        raise ConnectionError(f"{len(infos)} messages not all {what}")
                    info.wait_for_publish(min(remaining, 0.1))

        try:
            await asyncio.to_thread(wait)
        except (RuntimeError, ValueError) as exc:
            raise ConnectionError(f"publish failed: {exc}") from exc

    # ------------------------------------------------------------------ data

    def _prepare(self, batch: SampleBatch) -> _Samples:
        """Known samples sorted by metric then time, as their metrics can carry them."""
        pos = np.searchsorted(self._sorted_tags, batch.tag_id)
        pos = np.minimum(pos, max(len(self._sorted_tags) - 1, 0))
        known = (
            self._sorted_tags[pos] == batch.tag_id
            if len(self._sorted_tags)
            else np.zeros(len(batch), dtype=np.bool_)
        )
        self.counters["unknown_tags"] += int(len(batch) - known.sum())
        idx = self._tag_order[pos[known]]
        exact = None if batch.exact is None else batch.exact[known]
        fitted = self._wires.fit(idx, batch.value[known], batch.quality[known], exact)
        for name, refused in (
            ("out_of_range", fitted.out_of_range),
            ("type_mismatch", fitted.mismatch),
        ):
            if refused.any():
                self.counters[name] += int(refused.sum())
                self._log_refused(idx[refused], fitted.codes[refused])
        samples = _Samples(idx, batch.ts[known], fitted.value, fitted.codes, fitted.exact)
        return samples.pick(np.lexsort((samples.ts, idx)))

    def _log_refused(self, idx: Ints, codes: npt.NDArray[np.uint32]) -> None:
        """One warning per metric and reason for the node's life: a device that keeps
        sending what its tag cannot take is counted, not logged at its poll rate."""
        for i, code in zip(idx.tolist(), codes.tolist(), strict=True):
            if (i, code) not in self._refused_logged:
                self._refused_logged.add((i, code))
                m = self._defs[i]
                log.warning(
                    "%s: a value of %s does not fit its %s metric: sent as null, %s",
                    self.edge_node_id,
                    m.name,
                    m.datatype.name,
                    quality.name(code),
                )

    def _changed(self, samples: _Samples) -> npt.NDArray[np.bool_]:
        """Which samples differ from the previous one of their metric (in this batch, or
        the last published); NaN equals NaN here, exact values are compared exactly."""
        idx, value, codes = samples.idx, samples.value, samples.codes
        first = np.ones(len(idx), dtype=np.bool_)
        first[1:] = idx[1:] != idx[:-1]
        prev_v = np.empty_like(value)
        prev_v[1:] = value[:-1]
        prev_q = np.empty_like(codes)
        prev_q[1:] = codes[:-1]
        prev_v[first] = self._last_value[idx[first]]
        prev_q[first] = self._last_quality[idx[first]]
        known = np.where(first, self._published[idx], True)
        same_value = (value == prev_v) | (np.isnan(value) & np.isnan(prev_v))
        rows = self._exact_rows(samples)
        if rows.any():
            exact = samples.exact if samples.exact is not None else np.full(len(idx), None)
            prev_e = np.empty_like(exact)
            prev_e[1:] = exact[:-1]
            prev_e[first] = self._last_exact[idx[first]]
            same_value[rows] &= same_exact(exact[rows], prev_e[rows])
        changed: npt.NDArray[np.bool_] = ~(known & same_value & (codes == prev_q))
        return changed

    def _exact_rows(self, samples: _Samples) -> npt.NDArray[np.bool_]:
        """The samples of metrics that carry or have carried an exact value."""
        wanted = self._exact_metric
        if samples.exact is not None:
            wanted = wanted.copy()
            wanted[samples.idx[exact_held(samples.exact)]] = True
        rows: npt.NDArray[np.bool_] = wanted[samples.idx]
        return rows

    def _snapshot(self) -> tuple[Any, ...]:
        return (
            self._last_value.copy(),
            self._last_exact.copy(),
            self._exact_metric.copy(),
            self._last_quality.copy(),
            self._last_ts.copy(),
            self._published.copy(),
            list(self._stream_seq),
        )

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        (
            self._last_value,
            self._last_exact,
            self._exact_metric,
            self._last_quality,
            self._last_ts,
            self._published,
            self._stream_seq,
        ) = snapshot

    def _commit(self, samples: _Samples) -> None:
        """Remember each metric's newest sample (an older historical one does not win)."""
        idx, ts = samples.idx, samples.ts
        last = np.ones(len(idx), dtype=np.bool_)
        last[:-1] = idx[1:] != idx[:-1]
        newer = ts[last] >= self._last_ts[idx[last]]
        pick = np.flatnonzero(last)[newer]
        li = idx[pick]
        self._last_value[li] = samples.value[pick]
        self._last_quality[li] = samples.codes[pick]
        self._last_ts[li] = ts[pick]
        self._published[li] = True
        if samples.exact is not None:
            self._last_exact[li] = samples.exact[pick]
            self._exact_metric[li[exact_held(samples.exact[pick])]] = True
        else:
            self._last_exact[li[self._exact_metric[li]]] = None

    def _data_payloads(
        self, samples: _Samples, historical: bool, stream_seq: int | None
    ) -> list[tuple[int, bytes]]:
        """(scope, serialized Payload without seq) per message: per scope in time order,
        split at ``max_metrics_per_message`` (counting the stream-seq metric)."""
        scope = self._scope[samples.idx]
        order = np.lexsort((samples.ts, scope))
        samples, scope = samples.pick(order), scope[order]
        idx, ts, codes = samples.idx, samples.ts, samples.codes
        now = self._now_ms()
        size = self.max_metrics_per_message - (stream_seq is not None)
        bounds = np.flatnonzero(np.diff(scope)) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), len(idx)]
        messages: list[tuple[int, int, int]] = []  # (scope, part, end) of each message
        for begin, end in zip(starts, ends, strict=True):
            if stream_seq is not None and end - begin > size * STREAM_PARTS:
                raise ValueError(
                    f"a numbered batch may fill at most {STREAM_PARTS} messages per scope"
                )
            for part, lo in enumerate(range(begin, end, size)):
                messages.append((int(scope[lo]), part, min(lo + size, end)))
        field, raw, texts = self._wires.wire_values(idx, samples.value, samples.exact)
        alias = idx.astype(np.uint64)
        ts_ms = (ts // _NS_PER_MS).astype(np.uint64)
        flags = np.full(len(idx), historical)
        cuts = [end for _s, _p, end in messages]
        if stream_seq is not None:  # each message ends with its stream-seq metric
            alias = np.insert(alias, cuts, [self._stream_alias[s] for s, _p, _e in messages])
            ts_ms = np.insert(ts_ms, cuts, now)
            field = np.insert(field, cuts, LONG_VALUE)
            raw = np.insert(raw, cuts, [stream_seq * STREAM_PARTS + p for _s, p, _e in messages])
            flags = np.insert(flags, cuts, False)
            codes = np.insert(codes, cuts, quality.GOOD)
            cuts = [end + k for k, end in enumerate(cuts, start=1)]
        data = encode_payloads(
            timestamp_ms=now,
            ends=cuts,
            alias=alias,
            ts_ms=ts_ms,
            field=field,
            raw=raw,
            historical=flags,
            codes=codes,
            text=texts,
        )
        return [(s, d) for (s, _p, _e), d in zip(messages, data, strict=True)]

    # ------------------------------------------------------------------ commands and STATE

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if client is self._client and not self._lost.is_set():
            log.warning("%s: disconnected from %s: %s", self.edge_node_id, self.server, rc)
        self._lost.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """In paho's thread: hand the message to the event loop."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._handle, client, msg.topic, bytes(msg.payload))
        except RuntimeError:  # the loop is closed: nobody to answer
            log.debug("%s: dropped %s after the event loop closed", self.edge_node_id, msg.topic)

    def _handle(self, client: mqtt.Client, topic_text: str, payload: bytes) -> None:
        if client is not self._client or self._lost.is_set():
            return  # a message of an older session
        try:
            if topic_text == self._commit_topic:
                self._handle_commit(payload)
                return
            topic = parse_topic(topic_text)
            if isinstance(topic, StateTopic):
                self._handle_state(client, payload)
            else:
                self._handle_command(client, topic, payload)
        except (SparkplugDecodeError, ValueError) as exc:
            self.counters["malformed"] += 1
            log.warning("%s: malformed message on %s: %s", self.edge_node_id, topic_text, exc)
        except ConnectionError as exc:  # the next publish() reports the lost connection
            log.info("%s: could not answer %s: %s", self.edge_node_id, topic_text, exc)

    def _handle_commit(self, payload: bytes) -> None:
        if self._commits.acknowledged(decode_commit(payload)) and self.on_commit is not None:
            self.on_commit()

    def _handle_command(self, client: mqtt.Client, topic: Topic, payload: bytes) -> None:
        metrics = decode_payload(payload).metrics
        rebirth = topic.message_type is MessageType.NCMD and any(
            m.name == REBIRTH_METRIC and m.value is True for m in metrics
        )
        answer = rebirth and self._host_online  # births wait for the primary host
        self.counters["ignored_commands"] += len(metrics) - answer
        if answer:
            self._send_births(client)
            self.counters["rebirths_answered"] += 1

    def _handle_state(self, client: mqtt.Client, payload: bytes) -> None:
        """Chapter 5: a STATE counts only if its timestamp is not older than the last one."""
        state = json.loads(payload)
        online, ts = (
            (state.get("online"), state.get("timestamp"))
            if isinstance(state, dict)
            else (None, None)
        )
        if not isinstance(online, bool) or not isinstance(ts, int) or isinstance(ts, bool):
            raise ValueError(
                f"STATE payload is not {{'online': bool, 'timestamp': int}}: {state!r}"
            )
        if ts < self._host_ts:
            return
        fresh = ts != self._host_ts or online != self._host_online
        self._host_ts = ts
        if online and (fresh or not self._born):
            self._host_online = True
            self._send_births(client)
        elif not online and self._host_online:
            self._host_online = False
            if self._born:
                client.publish(self._topic(MessageType.NDEATH), self._death_payload(), qos=1)
                self.counters["host_offline_deaths"] += 1
            self._born = False


def _check_metrics(metrics: Sequence[NodeMetric]) -> list[str]:
    """Validate the metric list; returns the device ids in order of first appearance."""
    devices: list[str] = []
    tags: set[int] = set()
    names: set[tuple[str | None, str]] = set()
    for m in metrics:
        if m.datatype not in WIRE:
            raise ValueError(f"{m.name}: datatype {m.datatype.name} cannot carry a sample")
        if m.name in _RESERVED or not m.name:
            raise ValueError(f"metric name {m.name!r} is reserved or empty")
        if m.tag_id in tags or (m.device, m.name.lower()) in names:
            raise ValueError(f"duplicate tag id {m.tag_id} or metric name {m.name!r}")
        tags.add(m.tag_id)
        names.add((m.device, m.name.lower()))
        if m.device is not None and m.device not in devices:
            devices.append(m.device)
    return devices
