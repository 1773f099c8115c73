"""From Sparkplug payloads to sample columns: what a birth announced, which tag a metric
feeds, and the two decoders of data messages.

Runs of NDATA/DDATA are decoded together by :mod:`plantos.edge.sparkplug.columnar`
straight into numpy columns, the metrics of all messages of one edge node or device at
once (:func:`decode_run`, :func:`group_columns`), their payload timestamps and seq too
(:mod:`plantos.edge.sparkplug.columnar_frames`); messages with the shape of an earlier
one of their scope are read from fixed places (:mod:`plantos.edge.sparkplug.columnar_shape`),
without searching for their records again. A message that the columnar decoder
does not take (names, nulls, properties such as a quality, strings, unknown aliases,
malformed bytes, ...) takes the exact per-metric path (:func:`exact_rows` over
:func:`decode_payload`); both give the same samples, which the tests check. Nothing
here knows about sessions, MQTT or where samples go.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from plantos.core import quality
from plantos.core.timeunits import NS_PER_MS
from plantos.edge.sparkplug.codec import (
    STREAM_SEQ_METRIC,
    DataType,
    DecodedPayload,
    MessageType,
    Metric,
    Topic,
)
from plantos.edge.sparkplug.columnar import AliasTable, Index, Records, decode_records
from plantos.edge.sparkplug.columnar_frames import Frames, frames, regions
from plantos.edge.sparkplug.columnar_shape import ShapeCache

TagKey = tuple[str, str, str | None, str]
DATA = (MessageType.NDATA, MessageType.DDATA)
T = TypeVar("T", bound=np.generic)
Values = npt.NDArray[np.float64]
Row = tuple[int, int, object, int]
"""``(tag id, ts ns, value, quality)``; the value as the metric holds it (see
:func:`sample_value`), made columns by :func:`plantos.core.batch.split_values`."""


class RebirthNeeded(Exception):
    """Raised inside message handling: the node must send a new birth sequence."""


@dataclass
class Scope:
    """What a birth announced for one edge node or device, and its columnar lookup."""

    aliases: dict[int, str] = field(default_factory=dict)
    datatypes: dict[int | str, DataType] = field(default_factory=dict)
    table: AliasTable | None = None
    stream_alias: int | None = None
    shapes: ShapeCache = field(default_factory=ShapeCache)
    """The shapes of its data messages, built against ``table``."""

    def learn(self, metrics: Sequence[Metric]) -> None:
        self.aliases.clear()
        self.datatypes.clear()
        self.shapes.clear()
        for m in metrics:
            if m.name is not None:
                self.datatypes[m.name] = m.datatype
                if m.alias is not None:
                    self.aliases[m.alias] = m.name
                    self.datatypes[m.alias] = m.datatype


class TagIndex:
    """Which tag a metric feeds: ``tag_map`` by (group, node, device, metric), else
    ``metric_names`` by metric name alone."""

    def __init__(self, tag_map: Mapping[TagKey, int], metric_names: Mapping[str, int]) -> None:
        self.tag_map = dict(tag_map)
        self.names = dict(metric_names)
        self.mapped = set(self.tag_map.values())
        self.tag_ids = sorted(self.mapped | set(self.names.values()))
        self.node_tags: dict[tuple[str, str], list[int]] = {}
        self.device_tags: dict[tuple[str, str, str], list[int]] = {}
        for (group, node, device, _metric), tag_id in self.tag_map.items():
            self.node_tags.setdefault((group, node), []).append(tag_id)
            if device is not None:
                self.device_tags.setdefault((group, node, device), []).append(tag_id)

    def tag_of(self, topic: Topic, name: str) -> int | None:
        tag_id = self.tag_map.get((topic.group_id, topic.edge_node_id, topic.device_id, name))
        return self.names.get(name) if tag_id is None else tag_id

    def named(self, scope: Scope) -> set[int]:
        """Tags a birth of ``scope`` maps by metric name (``metric_names``)."""
        return {self.names[n] for n in scope.datatypes if isinstance(n, str) and n in self.names}

    def learn(self, topic: Topic, scope: Scope, metrics: Sequence[Metric]) -> set[int]:
        """Take a birth's aliases and datatypes and build the scope's columnar lookup;
        returns the tags the birth maps by name."""
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
            for tag in (self.tag_of(topic, name),)
        )
        return self.named(scope)


# ----------------------------------------------------------------------------- columnar


@dataclass
class Group:
    """The data messages of one scope in a run, decoded together."""

    key: tuple[str, str, str | None]
    scope: Scope
    records: Records
    offsets: npt.NDArray[np.intp]
    members: list[int]
    """Where each of its messages is in the run, in order."""
    timestamp_ms: npt.NDArray[np.int64]
    """Each message's payload timestamp (-1: none)."""
    seq: npt.NDArray[np.int64]
    """Each message's seq (-1: none)."""
    streams: list[int | None]
    """The ``PlantOS/Stream Seq`` each message carries, if any."""
    accepted: list[int] = field(default_factory=list)
    payload_ns: list[int] = field(default_factory=list)
    stream: list[int] = field(default_factory=list)
    """The stream number of each accepted message (-1: none)."""
    flushed: int = 0
    rewind_to: int | None = None
    """The scope's highest stream number before its first message not yet flushed."""


Place = dict[int, tuple[Group, int]]
ScopeOf = Callable[[Topic], "Scope | None"]


def decode_run(run: list[tuple[str, bytes]], topics: list[Topic], scope_of: ScopeOf) -> list[Group]:
    """Columnar decoding of the messages whose scope (``scope_of``: a born node's scope
    with a lookup table, else None) can take it; the messages of a run in no group take
    the exact path. Tables do not change within a run: only births do that, and a run
    holds data messages only."""
    members: dict[tuple[str, str, str | None], tuple[Scope, list[int]]] = {}
    previous: Topic | None = None
    items: list[int] | None = None
    for k, topic in enumerate(topics):
        if topic is not previous:  # runs are mostly one topic's messages: look up once
            previous = topic
            scope = scope_of(topic)
            items = None
            if scope is not None and scope.table is not None:
                key = (topic.group_id, topic.edge_node_id, topic.device_id)
                items = members.setdefault(key, (scope, []))[1]
        if items is not None:
            items.append(k)
    groups: list[Group] = []
    for key, (scope, ks) in members.items():
        got = frames([run[k][1] for k in ks])
        ok = np.flatnonzero(got.ok)  # the others: the exact path says what is wrong
        if len(ok):
            groups.extend(_decode_items(key, scope, ks, got, ok))
    return groups


def places(groups: list[Group]) -> Place:
    """Which group, and where in it, each message of a run is decoded."""
    return {k: (group, i) for group in groups for i, k in enumerate(group.members)}


def _decode_items(
    key: tuple[str, str, str | None], scope: Scope, ks: list[int], got: Frames, ok: Index
) -> Iterable[Group]:
    """One group for the messages ``ok`` of ``got``, else (one odd message must not send
    its neighbours down the exact path) one per message that decodes alone."""
    assert scope.table is not None
    tries = [ok] if len(ok) == 1 else [ok, *(ok[i : i + 1] for i in range(len(ok)))]
    for attempt in tries:
        flat, starts, width = regions(got.buf, got.start[attempt], got.end[attempt])
        records = decode_regions(flat, starts, width, scope.table, scope.shapes)
        if records is not None:
            offsets = np.concatenate(([0], np.cumsum(records.counts)))
            streams = stream_numbers(records, offsets, scope.stream_alias)
            members = [ks[i] for i in attempt.tolist()]
            ts_ms, seq = got.timestamp_ms[attempt], got.seq[attempt]
            yield Group(key, scope, records, offsets, members, ts_ms, seq, streams)
            if attempt is ok:
                return


def decode_regions(
    flat: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    width: int | None,
    table: AliasTable,
    shapes: ShapeCache,
) -> Records | None:
    """The metric records of the regions joined in ``flat`` (each from ``starts``; all
    ``width`` long, or None): by their shape when they have one
    (:mod:`~plantos.edge.sparkplug.columnar_shape`), else by ``decode_records``."""
    if width is not None:
        records = shapes.decode(flat, len(starts), width, table)
        if records is not None:
            return records
    return decode_records(flat, starts, table)


def stream_numbers(
    records: Records, offsets: npt.NDArray[np.intp], alias: int | None
) -> list[int | None]:
    """The ``PlantOS/Stream Seq`` (metric ``alias``) each message carries, if any: the
    first such metric of the message."""
    out: list[int | None] = [None] * (len(offsets) - 1)
    if alias is None:
        return out
    if records.row is not None:  # every message has the same metrics: one column
        at = np.flatnonzero(records.row == alias)
        if not len(at):
            return out
        column: list[int | None] = records.raw.reshape(len(out), -1)[:, at[0]].tolist()
        return column
    hits = np.flatnonzero(records.alias == alias)
    if not len(hits):
        return out
    message = np.searchsorted(offsets, hits, side="right") - 1
    first = np.concatenate(([True], message[1:] != message[:-1]))
    for i, value in zip(message[first].tolist(), records.raw[hits[first]].tolist(), strict=True):
        out[i] = value
    return out


@dataclass(frozen=True)
class Columns:
    tag: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    historical: npt.NDArray[np.bool_]
    streams: list[int]
    """The stream number of each message these samples come from (-1: none)."""
    per_message: npt.NDArray[np.intp]
    """How many of the samples each message gives, in order."""
    same_tags: bool = False
    """Every message gives the same tags in the same order: the last one holds the
    newest sample of each."""

    def head(self, messages: int) -> Columns:
        """The samples of the first ``messages`` messages only."""
        n = int(self.per_message[:messages].sum())
        return Columns(
            self.tag[:n],
            self.ts[:n],
            self.value[:n],
            self.historical[:n],
            self.streams[:messages],
            self.per_message[:messages],
            self.same_tags,
        )

    def newest(
        self,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Tag, timestamp and value of samples that hold the newest one of every tag: a
        copy of the last message's when all messages give the same tags (a view would
        keep the whole batch alive), else all of them."""
        if not self.same_tags or len(self.per_message) < 2:
            return self.tag, self.ts, self.value
        last = slice(len(self.tag) - int(self.per_message[-1]), None)
        return self.tag[last].copy(), self.ts[last].copy(), self.value[last].copy()


def group_columns(group: Group) -> Columns:
    """The samples of the group's messages accepted since the last call, in order."""
    table = group.scope.table
    assert table is not None
    rec, offsets = group.records, group.offsets
    first = group.flushed
    if first == 0 and len(group.accepted) == len(rec.counts):  # all of them: no selection
        rows: slice | npt.NDArray[np.intp] = slice(None)
        counts = rec.counts
        payload_ns = group.payload_ns
    else:
        accepted = np.array(group.accepted[first:], dtype=np.intp)
        counts = rec.counts[accepted]
        starts = offsets[accepted]
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        payload_ns = group.payload_ns[first:]
    ts_ms = rec.ts_ms[rows]
    unstamped = ts_ms < 0
    ts = ts_ms * NS_PER_MS
    if unstamped.any():
        ts = np.where(unstamped, np.repeat(np.array(payload_ns, dtype=np.int64), counts), ts)
    value = rec.value[rows]
    historical = rec.historical[rows]
    streams = group.stream[first:]
    if rec.row is not None:  # every message the same metrics: their tags are one row
        return _same_tags(table.tag_id[rec.row], ts, value, historical, streams)
    tag = table.tag_id[rec.alias[rows]]
    keep = tag >= 0
    if keep.all():
        return Columns(tag, ts, value, historical, streams, counts)
    per_message = np.bincount(
        np.repeat(np.arange(len(counts)), counts), weights=keep, minlength=len(counts)
    ).astype(np.intp)
    return Columns(tag[keep], ts[keep], value[keep], historical[keep], streams, per_message)


def _same_tags(
    row: npt.NDArray[np.int32],
    ts: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    historical: npt.NDArray[np.bool_],
    streams: list[int],
) -> Columns:
    """The columns of messages that all hold the metrics whose tags are ``row`` (-1: no
    tag): the tags repeated, no per-sample lookup; unmapped metrics dropped by column."""
    messages = len(streams)
    keep = row >= 0
    if not keep.all():

        def kept(column: npt.NDArray[T]) -> npt.NDArray[T]:
            picked: npt.NDArray[T] = column.reshape(messages, len(row))[:, keep].reshape(-1)
            return picked

        ts, value, historical, row = kept(ts), kept(value), kept(historical), row[keep]
    per_message = np.full(messages, len(row), dtype=np.intp)
    return Columns(np.tile(row, messages), ts, value, historical, streams, per_message, True)


# ----------------------------------------------------------------------------- exact path


SampleValue = bool | int | float | str


def sample_value(m: Metric) -> SampleValue | None:
    """What a tag keeps of a metric's value; None for a value no tag can hold (arrays,
    DataSet, Template, Bytes, File, PropertySet).

    Numbers and Booleans stay as they are: an Int64 or UInt64 beyond 2**53 keeps its exact
    integer. String, Text and UUID become text. DateTime is the integer the specification
    defines, milliseconds since the Unix epoch, for an ``int`` or ``uint`` tag.
    """
    v = m.value
    if isinstance(v, bool | int | float | str):
        return v
    return None


@dataclass(frozen=True)
class Exact:
    rows: list[Row]
    stream: int | None
    """The message's ``PlantOS/Stream Seq``, if it is a numbered data message."""
    historical: int
    unsupported: list[str]
    """``name (datatype)`` of each mapped metric whose value no tag can hold."""


def stream_number(named: Iterable[tuple[str | None, Metric]]) -> int | None:
    """The number ``PlantOS/Stream Seq`` holds among ``(name, metric)`` pairs: a UInt64
    with a value; None when there is none (a null one: nothing numbered sent yet)."""
    stream = next((m for name, m in named if name == STREAM_SEQ_METRIC), None)
    if stream is None or stream.datatype is not DataType.UInt64:
        return None
    return stream.value if isinstance(stream.value, int) else None


def exact_rows(
    topic: Topic,
    decoded: DecodedPayload,
    scope: Scope,
    now_ns: int,
    tags: TagIndex,
    counts: Counter[str],
) -> Exact:
    """Every sample of one message: all of them, or :class:`RebirthNeeded` for an alias
    the birth did not announce (counted in ``counts``). The historical and non-numeric
    metrics are counted by the caller, which may still drop the message as a duplicate."""
    payload_ns = decoded.timestamp_ms * NS_PER_MS if decoded.timestamp_ms else now_ns
    named: list[tuple[str, Metric]] = []
    for m in decoded.metrics:
        name = m.name
        if name is None:
            name = scope.aliases.get(m.alias) if m.alias is not None else None
            if name is None:
                counts["unknown_aliases"] += 1
                raise RebirthNeeded(f"alias {m.alias} was not in the birth")
        named.append((name, m))
    stream_value = stream_number(named) if topic.message_type in DATA else None
    rows: list[Row] = []
    birth = topic.message_type in (MessageType.NBIRTH, MessageType.DBIRTH)
    historical = 0
    unsupported: list[str] = []
    for name, m in named:
        tag_id = tags.tag_of(topic, name) if name != STREAM_SEQ_METRIC else None
        if tag_id is None:
            continue
        ts = m.timestamp_ms * NS_PER_MS if m.timestamp_ms is not None else payload_ns
        if m.is_null:
            if not birth:  # a birth's null only says "no value yet": not an observation
                rows.append((tag_id, ts, math.nan, quality.BAD))
            continue
        v = sample_value(m)
        if v is None:
            unsupported.append(f"{name} ({m.datatype.name})")
            continue
        if m.is_historical:
            historical += 1
        rows.append((tag_id, ts, v, quality.GOOD if m.quality is None else m.quality))
    return Exact(rows, stream_value, historical, unsupported)
