"""The Sparkplug host's view of every edge node's session (Sparkplug 3.0, chapter 5).

What :class:`EdgeSessions` does with each message:

* NBIRTH: records bdSeq, the aliases and datatypes of the node's metrics and the
  node's ``seq``; forgets the node's devices (a new NBIRTH is followed by new DBIRTHs).
* DBIRTH: records the device's aliases and datatypes.
* NDATA/DDATA/DBIRTH/DDEATH: ``seq`` must be one more than the node's previous
  message (255 wraps to 0). A gap, an alias not announced in the birth, or data from a
  node whose birth this host has not seen sends an NCMD ``Node Control/Rebirth = true``
  to the node, marks the node's tags ``UncertainLastUsableValue`` (last value, now) if
  the node is alive (born and not dead: a dead node's tags stay Bad), and discards the
  node's data messages until its next NBIRTH (the request is repeated after
  ``rebirth_retry_s`` if no NBIRTH comes). No reorder timeout is configured. The first
  request to a node never seen born is logged at INFO (a host that starts after its
  nodes catches up this way); every other request, a repeat included, is a WARNING.
* A birth whose ``PlantOS/Stream Seq`` holds a number (a PlantOS edge gateway) adds no
  samples: its values restate the last numbered data message. With the metric null (no
  numbered message sent yet, as from a plain PlantOS edge node) the values are samples.
* NDATA/DDATA with the metric ``PlantOS/Stream Seq`` (a PlantOS edge gateway): a message
  whose stream number is not above the highest accepted for that edge node or device
  (kept across births and reconnects) is dropped whole and counted in
  ``duplicates_dropped``; the metric itself never is a sample. When such a message's
  samples do not fit the hand-over, it is not accepted: the node is asked for a rebirth,
  which makes a gateway send again everything not yet committed.
* NDEATH: only when its bdSeq equals the bdSeq of the node's current NBIRTH: all
  the node's and its devices' tags become ``BadNoCommunication`` with NaN at the host's
  current time. A stale NDEATH (an older session's Will) is counted and ignored.
* DDEATH: the device's tags become ``BadNoCommunication`` with NaN at the DDEATH
  payload's timestamp.

Messages are handled in batches (see :mod:`plantos.edge.sparkplug.transport`); runs of
data messages go through the columnar decoder, each message still through the same
checks as the exact path: all at once when every message of the run passes them (the
steady stream), else one message at a time. Samples of one edge node or device keep
their order.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import paho.mqtt.client as mqtt

from plantos.core import quality
from plantos.core.batch import split_values
from plantos.core.clock import Clock
from plantos.core.timeunits import NS_PER_MS
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
from plantos.edge.sparkplug.commits import Handover, ScopeKey
from plantos.edge.sparkplug.decoding import (
    DATA,
    Group,
    RebirthNeeded,
    Scope,
    TagIndex,
    decode_run,
    exact_rows,
    group_columns,
    places,
    stream_number,
)
from plantos.edge.sparkplug.last import LastSamples

log = logging.getLogger(__name__)

_TOPIC_CACHE = 4096
OtherTopic = Callable[[mqtt.Client, str, bytes], bool]
"""Takes a message outside the Sparkplug data namespace (STATE, commit acknowledgements);
False when it is not one it knows."""
StateHandler = Callable[[mqtt.Client, StateTopic, bytes], None]


@dataclass
class Node:
    born: bool = False
    bdseq: int | None = None
    last_seq: int | None = None
    scope: Scope = field(default_factory=Scope)
    devices: dict[str, Scope] = field(default_factory=dict)
    awaiting_rebirth: bool = False
    rebirth_sent_at: float = -math.inf
    named_tags: set[int] = field(default_factory=set)
    """Tags its births mapped by name (``metric_names``), devices included."""


class EdgeSessions:
    """Every edge node's session and the samples its messages give (see the module doc)."""

    def __init__(
        self,
        *,
        name: str,
        tags: TagIndex,
        handover: Handover,
        clock: Clock,
        rebirth_retry_s: float,
        on_state: StateHandler,
        on_other: OtherTopic,
        on_replayed: Callable[[tuple[str, str]], None],
        committed: Callable[[ScopeKey], int],
        log_bounded: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> None:
        self._name = name
        self.tags = tags
        self.handover = handover
        self.clock = clock
        self.rebirth_retry_s = rebirth_retry_s
        self._on_state = on_state
        self._on_other = on_other
        self._on_replayed = on_replayed
        self.committed = committed
        """The highest stream number of a scope the historian committed (-1: none)."""
        self._log_bounded = log_bounded
        self._warn = warn
        self.nodes: dict[tuple[str, str], Node] = {}
        self.accepted: dict[ScopeKey, int] = {}
        """Highest stream number accepted per scope, kept across births and reconnects."""
        self._topics: dict[str, Topic | StateTopic | SparkplugDecodeError] = {}
        self._data_topics: dict[str, Topic] = {}
        self.last = LastSamples(max(tags.tag_ids, default=0) + 1)
        self.counts: Counter[str] = Counter()

    # ------------------------------------------------------------------ dispatch

    def handle_batch(self, client: mqtt.Client, batch: list[tuple[str, bytes]]) -> None:
        """Handle messages in order; runs of data messages together."""
        known = self._data_topics.get
        topics = [known(text) for text, _payload in batch]  # None: no data topic seen before
        if None not in topics:  # the common case: data messages only
            self._data_run(client, batch, cast(list[Topic], topics))
            return
        topics = [
            topic or self._data_topic(text)
            for topic, (text, _payload) in zip(topics, batch, strict=True)
        ]
        i = 0
        while i < len(batch):
            j = i
            while j < len(batch) and topics[j] is not None:
                j += 1
            if j > i:
                self._data_run(client, batch[i:j], cast(list[Topic], topics[i:j]))
                i = j
            else:
                self._handle_one(client, *batch[i])
                i += 1

    def _data_topic(self, text: str) -> Topic | None:
        """The topic of an NDATA or DDATA message, else None; data topics are kept in
        ``_data_topics``, whose lookup is all a batch of data messages costs."""
        topic = self._topic(text)
        if not isinstance(topic, Topic) or topic.message_type not in DATA:
            return None
        self._data_topics[text] = topic
        return topic

    def _topic(self, text: str) -> Topic | StateTopic | SparkplugDecodeError:
        got = self._topics.get(text)
        if got is None:
            try:
                got = parse_topic(text)
            except SparkplugDecodeError as exc:
                got = exc
            if len(self._topics) >= _TOPIC_CACHE:
                self._topics.clear()
                self._data_topics.clear()
            self._topics[text] = got
        return got

    def _handle_one(self, client: mqtt.Client, text: str, payload: bytes) -> None:
        """The exact path for one message of any kind; never raises."""
        try:
            topic = self._topic(text)
            if isinstance(topic, SparkplugDecodeError):
                if self._on_other(client, text, payload):
                    return
                raise SparkplugDecodeError(str(topic))
            if isinstance(topic, StateTopic):
                self._on_state(client, topic, payload)
            else:
                self._handle(client, topic, payload)
        except (SparkplugDecodeError, ValueError) as exc:
            self.counts["malformed"] += 1
            self._log_bounded(f"malformed message on {text}: {exc}")
        except Exception as exc:  # a bad message must never stop the worker
            self.counts["malformed"] += 1
            self._log_bounded(f"cannot handle message on {text}: {exc!r}")

    # ------------------------------------------------------------------ columnar path

    def _data_run(
        self, client: mqtt.Client, run: list[tuple[str, bytes]], topics: list[Topic]
    ) -> None:
        """NDATA/DDATA messages in a row (``topics``: theirs): decode each scope's
        messages together, then check them all at once (:meth:`_accept_all`), or, when
        one of them fails a check or is not decoded, walk them in order, each through the
        same checks as :meth:`_handle`."""
        try:
            groups = decode_run(run, topics, self._columnar_scope)
            if self._accept_all(groups, len(run)):
                self.counts["columnar_messages"] += len(run)
                self._flush(client, groups)
                return
        except Exception as exc:  # never lose the run to a bug here: the exact path remains
            self._log_bounded(f"columnar decoding failed: {exc!r}")
            groups = []
        place = places(groups)
        columnar = 0
        for k, (text, payload) in enumerate(run):
            where = place.get(k)
            if where is None:
                self._flush(client, groups)
                self._handle_one(client, text, payload)
                continue
            group, index = where
            try:
                columnar += self._data_message(client, topics[k], group, index, groups)
            except Exception as exc:  # as in _handle_one
                self.counts["malformed"] += 1
                self._log_bounded(f"cannot handle message on {text}: {exc!r}")
        self.counts["columnar_messages"] += columnar
        self._flush(client, groups)

    def _accept_all(self, groups: list[Group], size: int) -> bool:
        """Accept every message of a run of ``size`` at once, as :meth:`_data_message`
        would one by one, when all are decoded in ``groups`` and all pass its checks (the
        common case): each node born and not awaiting a rebirth, each message's seq one
        more than the one before it of its node, each stream number above the one before
        it of its scope. False, with nothing changed, when any message needs the walk."""
        if sum(len(group.members) for group in groups) != size:
            return False
        if len({group.key for group in groups}) != len(groups):
            return False  # messages of one scope decoded apart: their order needs the walk
        by_node: dict[tuple[str, str], list[Group]] = {}
        for group in groups:
            by_node.setdefault((group.key[0], group.key[1]), []).append(group)
        last_seq: dict[tuple[str, str], int] = {}
        for key, of_node in by_node.items():
            node = self.nodes.get(key)
            if node is None or not node.born or node.awaiting_rebirth or node.last_seq is None:
                return False
            seq = of_node[0].seq
            if len(of_node) > 1:  # a node's and its devices' messages share one seq
                order = np.argsort(np.concatenate([g.members for g in of_node]), kind="stable")
                seq = np.concatenate([g.seq for g in of_node])[order]
            if not np.array_equal(seq, (node.last_seq + 1 + np.arange(len(seq))) % 256):
                return False
            last_seq[key] = int(seq[-1])
        numbered: list[list[int]] = []
        for group in groups:
            numbers = [n for n in group.streams if n is not None]
            if numbers and numbers[0] <= self.accepted.get(group.key, -1):
                return False
            if any(b <= a for a, b in itertools.pairwise(numbers)):
                return False
            numbered.append(numbers)
        for key, seq_no in last_seq.items():
            self.nodes[key].last_seq = seq_no
        for group, numbers in zip(groups, numbered, strict=True):
            if group.streams[0] is not None:
                group.rewind_to = self.accepted.get(group.key, -1)
            if numbers:
                self.accepted[group.key] = numbers[-1]
            group.accepted = list(range(len(group.members)))
            stamped = group.timestamp_ms > 0  # a timestamp of 0 is none, as in _data_message
            payload_ns = group.timestamp_ms * NS_PER_MS
            if not stamped.all():
                payload_ns = np.where(stamped, payload_ns, self.clock.now_ns())
            group.payload_ns = payload_ns.tolist()
            group.stream = [-1 if n is None else n for n in group.streams]
        return True

    def _columnar_scope(self, topic: Topic) -> Scope | None:
        node = self.nodes.get((topic.group_id, topic.edge_node_id))
        if node is None or not node.born or node.awaiting_rebirth:
            return None
        return node.scope if topic.device_id is None else node.devices.get(topic.device_id)

    def _data_message(
        self, client: mqtt.Client, topic: Topic, group: Group, index: int, groups: list[Group]
    ) -> bool:
        """:meth:`_handle` for an NDATA/DDATA whose metrics ``group`` holds; samples of
        messages accepted before a rebirth request are flushed first, to keep the order.
        True when the message is accepted."""
        node = self.nodes[(topic.group_id, topic.edge_node_id)]
        if node.awaiting_rebirth or not node.born:  # an earlier message of the run
            self.counts["discarded_awaiting_rebirth"] += 1
            self._flush(client, groups)
            self._request_rebirth(client, topic, node, self.clock.now_ns(), "no birth seen")
            return False
        expected = (node.last_seq + 1) % 256 if node.last_seq is not None else None  # next_seq
        got = int(group.seq[index])
        if got < 0 or got != expected:
            self.counts["seq_gaps"] += 1
            self._flush(client, groups)
            self._request_rebirth(
                client,
                topic,
                node,
                self.clock.now_ns(),
                f"seq {got if got >= 0 else None} where {expected} was expected",
            )
            return False
        node.last_seq = got
        seq = group.streams[index]
        if seq is not None:
            if len(group.accepted) == group.flushed:
                group.rewind_to = self.accepted.get(group.key, -1)
            if self._duplicate(group.key, seq):
                return False
        timestamp_ms = int(group.timestamp_ms[index])
        group.accepted.append(index)
        group.payload_ns.append(
            timestamp_ms * NS_PER_MS if timestamp_ms > 0 else self.clock.now_ns()
        )
        group.stream.append(-1 if seq is None else seq)
        return True

    def _flush(self, client: mqtt.Client, groups: list[Group]) -> None:
        """Samples of the messages accepted so far, group by group, into the hand-over."""
        for group in groups:
            if len(group.accepted) == group.flushed:
                continue
            cols = group_columns(group)
            group.flushed = len(group.accepted)
            room = self.handover.room()
            refused = 0
            if max(cols.streams) >= 0 and len(cols.tag) > room:  # take the messages that fit
                fit = int(np.searchsorted(np.cumsum(cols.per_message), room, side="right"))
                refused = len(cols.tag) - int(cols.per_message[:fit].sum())
                rewind = max(cols.streams[:fit], default=group.rewind_to)
                cols = cols.head(fit)
            self.counts["historical"] += int(np.count_nonzero(cols.historical))
            good = np.zeros(len(cols.tag), np.uint32)
            tag, ts, value = cols.newest()  # of the others, LastSamples keeps nothing
            self.last.observed(tag, ts, value, np.zeros(len(tag), np.uint32), None)
            stream = max(cols.streams, default=-1)
            marks = {group.key: stream} if stream >= 0 else None
            self.handover.put(cols.tag, cols.ts, cols.value, good, marks=marks)
            if refused:
                self._refuse(client, group.key, rewind, refused)

    def _refuse(self, client: mqtt.Client, key: ScopeKey, rewind_to: int | None, n: int) -> None:
        """Numbered samples that do not fit: not accepted, so they can come again."""
        self.counts["refused_full"] += n
        if rewind_to is None or rewind_to < 0:
            self.accepted.pop(key, None)
        else:
            self.accepted[key] = rewind_to
        node = self.nodes.get((key[0], key[1]))
        if node is not None:
            topic = Topic(NAMESPACE, key[0], MessageType.NDATA, key[1], key[2])
            self._request_rebirth(
                client, topic, node, self.clock.now_ns(), f"{n} samples do not fit the hand-over"
            )

    def _duplicate(self, key: ScopeKey, stream_seq: int) -> bool:
        """True (and counted) when a message with ``stream_seq`` was accepted already."""
        if stream_seq <= self.accepted.get(key, -1):
            self.counts["duplicates_dropped"] += 1
            if stream_seq <= self.committed(key):
                self._on_replayed((key[0], key[1]))
            return True
        self.accepted[key] = stream_seq
        return False

    # ------------------------------------------------------------------ exact path

    def _handle(self, client: mqtt.Client, topic: Topic, payload: bytes) -> None:
        key = (topic.group_id, topic.edge_node_id)
        node = self.nodes.setdefault(key, Node())
        kind = topic.message_type
        if kind in (MessageType.NCMD, MessageType.DCMD):
            return
        scope = node.scope
        if topic.device_id is not None:
            scope = node.devices.get(topic.device_id) or Scope()
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
            self.counts["discarded_awaiting_rebirth"] += 1
            self._request_rebirth(client, topic, node, now_ns, "no birth seen")
            return
        try:
            self._check_seq(node, decoded)
            if kind is MessageType.DBIRTH:
                assert topic.device_id is not None
                device = node.devices.setdefault(topic.device_id, Scope())
                node.named_tags |= self.tags.learn(topic, device, decoded.metrics)
                self._birth_samples(topic, decoded, device, now_ns)
            elif kind is MessageType.DDEATH:
                assert topic.device_id is not None
                device = node.devices.pop(topic.device_id, Scope())
                self.counts["device_deaths"] += 1
                ts = decoded.timestamp_ms * NS_PER_MS if decoded.timestamp_ms else now_ns
                tags = self.tags.device_tags.get(
                    (topic.group_id, topic.edge_node_id, topic.device_id)
                )
                named = sorted(self.tags.named(device) - self.tags.mapped)
                self.mark([*(tags or []), *named], ts, quality.BAD_NO_COMMUNICATION)
            else:  # NDATA, DDATA
                if topic.device_id is not None and topic.device_id not in node.devices:
                    raise RebirthNeeded(f"DDATA from device {topic.device_id!r} without DBIRTH")
                self._samples(client, topic, decoded, scope, now_ns)
        except RebirthNeeded as exc:
            self._request_rebirth(client, topic, node, now_ns, str(exc))

    def _nbirth(self, topic: Topic, node: Node, decoded: DecodedPayload, now_ns: int) -> None:
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
        node.named_tags |= self.tags.learn(topic, node.scope, decoded.metrics)
        self._birth_samples(topic, decoded, node.scope, now_ns)

    def _ndeath(self, topic: Topic, node: Node, decoded: DecodedPayload, now_ns: int) -> None:
        bdseq = next((m.value for m in decoded.metrics if m.name == "bdSeq"), None)
        if not node.born or bdseq is None or bdseq != node.bdseq:
            self.counts["stale_deaths"] += 1
            log.info(
                "%s: ignoring NDEATH of %s/%s with bdSeq %s (current birth: %s)",
                self._name, topic.group_id, topic.edge_node_id, bdseq, node.bdseq,
            )  # fmt: skip
            return
        node.born = False
        node.devices.clear()
        node.last_seq = None
        self.counts["node_deaths"] += 1
        tags = self.tags.node_tags.get((topic.group_id, topic.edge_node_id), [])
        self.mark([*tags, *self._node_names(node)], now_ns, quality.BAD_NO_COMMUNICATION)

    def _check_seq(self, node: Node, decoded: DecodedPayload) -> None:
        expected = next_seq(node.last_seq) if node.last_seq is not None else None
        if decoded.seq is None or decoded.seq != expected:
            self.counts["seq_gaps"] += 1
            raise RebirthNeeded(f"seq {decoded.seq} where {expected} was expected")
        node.last_seq = decoded.seq

    def _birth_samples(
        self, topic: Topic, decoded: DecodedPayload, scope: Scope, now_ns: int
    ) -> None:
        """A birth's values are samples, except in a numbered stream: there every sample
        travels in a numbered data message, and the birth only restates the last one (a
        restarted core would otherwise store it twice). A birth whose stream number is
        null has sent no numbered message in that scope: its values came in plain data
        messages, perhaps the very one discarded while this host waited for the birth,
        so they are samples. A value the birth repeats unchanged since this host handed
        it over is not handed over again (see :mod:`plantos.edge.sparkplug.last`)."""
        if stream_number((m.name, m) for m in decoded.metrics) is not None:
            return
        self._samples(None, topic, decoded, scope, now_ns, birth=True)

    def _node_names(self, node: Node) -> list[int]:
        """Tags the node's births mapped by name and ``tag_map`` does not already list."""
        return sorted(node.named_tags - self.tags.mapped)

    def _samples(
        self,
        client: mqtt.Client | None,
        topic: Topic,
        decoded: DecodedPayload,
        scope: Scope,
        now_ns: int,
        *,
        birth: bool = False,
    ) -> None:
        exact = exact_rows(topic, decoded, scope, now_ns, self.tags, self.counts)
        key = (topic.group_id, topic.edge_node_id, topic.device_id)
        before = self.accepted.get(key, -1)
        if exact.stream is not None and self._duplicate(key, exact.stream):
            return
        full = len(exact.rows) > self.handover.room()
        if exact.stream is not None and client is not None and full:
            self._refuse(client, key, before, len(exact.rows))
            return
        self.counts["historical"] += exact.historical
        if exact.unsupported:
            self.counts["non_numeric"] += len(exact.unsupported)
            self._log_bounded(
                f"{format_topic(topic)}: no tag can hold the value of "
                f"{', '.join(exact.unsupported)}: not kept"
            )
        marks = {key: exact.stream} if exact.stream is not None else None
        if not exact.rows:  # all-or-nothing: a message with an unknown alias adds no samples
            if marks:
                self.handover.put(*_empty_columns(), marks=marks)
            return
        tag, ts_col, value_col, q = zip(*exact.rows, strict=True)
        tags = np.array(tag, dtype=np.int32)
        ts = np.array(ts_col, dtype=np.int64)
        values, exact_col = split_values(value_col)
        codes = np.array(q, dtype=np.uint32)
        if birth:
            repeated = self.last.repeated(tags, ts, values, codes, exact_col)
            if repeated.any():
                self.counts["restated"] += int(repeated.sum())
                keep = ~repeated
                tags, ts, values, codes = tags[keep], ts[keep], values[keep], codes[keep]
                exact_col = None if exact_col is None else exact_col[keep]
        self.last.observed(tags, ts, values, codes, exact_col)
        self.handover.put(tags, ts, values, codes, exact_col, marks=marks)

    def _request_rebirth(
        self, client: mqtt.Client, topic: Topic, node: Node, now_ns: int, why: str
    ) -> None:
        first = not node.awaiting_rebirth
        now = time.monotonic()
        if first and node.born:  # a dead node's tags stay Bad (NDEATH), not "last usable"
            tags = self.tags.node_tags.get((topic.group_id, topic.edge_node_id), [])
            self.mark(
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
            timestamp_ms=now_ns // NS_PER_MS,
            seq=None,
            metrics=[Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, value=True)],
        )
        self.counts["rebirths_requested"] += 1  # counted first: whoever sees the NCMD sees it
        client.publish(format_topic(ncmd), body, qos=0, retain=False)
        text = f"requested a rebirth of {topic.group_id}/{topic.edge_node_id}: {why}"
        if first and node.bdseq is None:
            # A node this host never saw born: it came up first (a host starting after its
            # nodes, as at every plant start), and a rebirth is how Sparkplug catches up.
            # A repeated request, or a node that was born before, is worth a warning.
            log.info("%s: %s (its data came before any birth this host saw)", self._name, text)
        else:
            self._warn(text)

    def mark(self, tags: Sequence[int], ts_ns: int, code: int, *, keep_value: bool = False) -> None:
        """One sample per tag saying what became of it (``code``), at ``ts_ns``. With
        ``keep_value`` (a last usable value) the tag's last value, exact value included;
        a tag with no value yet gets no such mark: it has nothing usable to restate."""
        if not tags:
            return
        ids = np.array(tags, dtype=np.int32)
        exact = None
        if keep_value:
            ids = ids[self.last.usable(ids)]
            if not len(ids):
                return
            values, exact = self.last.held(ids)
            if all(e is None for e in exact):
                exact = None
        else:
            values = np.full(len(ids), np.nan)
        ts = np.full(len(ids), ts_ns, dtype=np.int64)
        codes = np.full(len(ids), code, np.uint32)
        self.last.observed(ids, ts, values, codes, exact, mark=True)
        self.handover.put(ids, ts, values, codes, exact)


def _empty_columns() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.empty(0, np.int32),
        np.empty(0, np.int64),
        np.empty(0, np.float64),
        np.empty(0, np.uint32),
    )
