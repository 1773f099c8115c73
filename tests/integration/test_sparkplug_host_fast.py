"""The Sparkplug host's columnar path against its exact path, mapping by metric name, and
duplicate suppression by ``PlantOS/Stream Seq``.

Equivalence: the same encoded messages (births, then data of every numeric datatype
with and without timestamps, historical flags, nulls, names instead of aliases,
unknown aliases, out-of-range integers, seq gaps and stream seqs) go through the
host's message handler twice, once as it runs and once with the columnar decoder
switched off; samples and counters must be identical. The other tests run through a
real Mosquitto broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from dataclasses import dataclass
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantos.bus.ack import AckedBatch, acknowledge
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug import DataType, Metric, bdseq_metric, encode_payload, schema
from plantos.edge.sparkplug import decoding as decoding_module
from plantos.edge.sparkplug.acks import commit_topic, decode_commit
from plantos.edge.sparkplug.codec import STREAM_SEQ_METRIC
from plantos.edge.sparkplug.host import SparkplugHost
from tests.integration.test_sparkplug_host import (
    BASE_MS,
    BASE_NS,
    EdgeNode,
    MqttPeer,
    gather,
    has,
    rows,
    until,
)
from tests.support.mosquitto import Broker

pytestmark = pytest.mark.timeout(120)

NUMERIC = [
    DataType.Int8,
    DataType.Int16,
    DataType.Int32,
    DataType.Int64,
    DataType.UInt8,
    DataType.UInt16,
    DataType.UInt32,
    DataType.UInt64,
    DataType.Float,
    DataType.Double,
    DataType.Boolean,
    DataType.DateTime,
]
RANGES = {
    DataType.Int8: (-(2**7), 2**7 - 1),
    DataType.Int16: (-(2**15), 2**15 - 1),
    DataType.Int32: (-(2**31), 2**31 - 1),
    DataType.Int64: (-(2**63), 2**63 - 1),
    DataType.UInt8: (0, 2**8 - 1),
    DataType.UInt16: (0, 2**16 - 1),
    DataType.UInt32: (0, 2**32 - 1),
    DataType.UInt64: (0, 2**64 - 1),
    DataType.DateTime: (0, 2**64 - 1),
}
INT_FIELD = {DataType.Int8, DataType.Int16, DataType.UInt8, DataType.UInt16}
TOPIC = "spBv1.0/G/{kind}/E1"


# ----------------------------------------------------------------------------- handler


class FakeClient:
    """Takes the host's NCMD and STATE publications."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, payload))


def offline_host(
    tag_map: dict[tuple[str, str, str | None, str], int], names: dict[str, int] | None = None
) -> SparkplugHost:
    """A host whose message handler is driven directly, without a broker."""
    host = SparkplugHost(
        server=MqttServer("127.0.0.1", 1),
        host_id="t",
        tag_map=tag_map,
        metric_names=names,
        clock=ManualClock(BASE_NS),
    )
    host._client = FakeClient()  # type: ignore[assignment]
    return host


def run(
    host: SparkplugHost, batches: list[list[tuple[str, bytes]]], *, columnar: bool
) -> tuple[SampleBatch, dict[str, Any], list[tuple[str, bytes]]]:
    """Feed ``batches`` as the worker would take them off the queue; what came out."""
    off = mock.patch.object(decoding_module, "decode_regions", return_value=None)
    with contextlib.nullcontext() if columnar else off:
        for batch in batches:
            host._handle_batch(host._client, batch)  # type: ignore[arg-type]
    out = asyncio.run(host.collect())
    paths_differ = ("columnar_messages", "handling_seconds")
    counters = {k: v for k, v in host.metrics().items() if k not in paths_differ}
    return out, counters, host._client.published  # type: ignore[union-attr]


def same_samples(a: SampleBatch, b: SampleBatch) -> bool:
    return (
        a.tag_id.tolist() == b.tag_id.tolist()
        and a.ts.tolist() == b.ts.tolist()
        and a.quality.tolist() == b.quality.tolist()
        and np.array_equal(a.value, b.value, equal_nan=True)
        and exact_of(a) == exact_of(b)
    )


def exact_of(batch: SampleBatch) -> list[object]:
    """The exact column as a list, None everywhere when the batch has none."""
    return [None] * len(batch) if batch.exact is None else batch.exact.tolist()


@dataclass(frozen=True)
class Entry:
    """One metric of a data message, as the scenario wants it on the wire."""

    index: int
    value: Any
    ts_ms: int | None
    historical: bool
    null: bool
    by_name: bool
    raw_int: int | None  # an int_value written as is (maybe out of the datatype's range)


def value_of(dt: DataType) -> st.SearchStrategy[Any]:
    if dt in RANGES:
        lo, hi = RANGES[dt]
        return st.integers(lo, hi)
    if dt is DataType.Float:
        return st.floats(width=32)
    if dt is DataType.Double:
        return st.floats()
    if dt is DataType.Boolean:
        return st.booleans()
    return st.text(max_size=5)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[list[tuple[str, bytes]]], dict[Any, int]]:
    """A birth, then data messages split into batches, and the host's tag map."""
    n = draw(st.integers(1, 8))
    datatypes = draw(st.lists(st.sampled_from([*NUMERIC, DataType.String]), min_size=n, max_size=n))
    base = draw(st.sampled_from([0, 120, 16_380]))
    aliases = [base + i for i in range(n)]
    mapped = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    stream = draw(st.booleans())
    first_stream = draw(st.sampled_from([0, 2**60]))  # a gateway's numbers are beyond 2**53
    tag_map = {("G", "E1", None, f"m{i}"): 100 + i for i in range(n) if mapped[i]}
    birth = [bdseq_metric(0)] + [
        Metric(name=f"m{i}", alias=aliases[i], datatype=dt, value=draw(value_of(dt)))
        for i, dt in enumerate(datatypes)
    ]
    if stream:
        birth.append(
            Metric(name=STREAM_SEQ_METRIC, alias=base + n, datatype=DataType.UInt64, value=0)
        )
    messages = [
        (TOPIC.format(kind="NBIRTH"), encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=birth))
    ]
    seq = 0
    for _ in range(draw(st.integers(1, 8))):
        seq = (seq + 1) % 256 if draw(st.integers(0, 9)) else (seq + 2) % 256
        entries = []
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, n - 1))
            odd = draw(st.integers(0, 14))  # mostly the well-behaved layout
            dt = datatypes[i]
            entries.append(
                Entry(
                    index=i,
                    value=draw(value_of(dt)),
                    ts_ms=draw(st.none() | st.integers(BASE_MS, BASE_MS + 10_000)),
                    historical=draw(st.booleans()),
                    null=odd == 1,
                    by_name=odd == 2,
                    raw_int=draw(st.integers(0, 2**32 - 1))
                    if odd == 3 and dt in INT_FIELD
                    else None,
                )
            )
        metrics = [
            Metric(
                name=f"m{e.index}" if e.by_name else None,
                alias=None if e.by_name else aliases[e.index],
                datatype=datatypes[e.index],
                value=None if e.null else e.value,
                timestamp_ms=e.ts_ms,
                is_historical=e.historical,
                is_null=e.null,
            )
            for e in entries
        ]
        if draw(st.integers(0, 19)) == 0:  # an alias the birth did not announce
            metrics.append(Metric(alias=base + n + 1, datatype=DataType.Double, value=1.0))
        if stream and draw(st.booleans()):
            metrics.append(
                Metric(
                    alias=base + n,
                    datatype=DataType.UInt64,
                    value=first_stream + draw(st.integers(0, 6)),
                )
            )
        payload = encode_payload(
            timestamp_ms=draw(st.sampled_from([0, BASE_MS + seq])),
            seq=seq,
            metrics=metrics,
            include_datatype=False,
        )
        payload = with_raw_ints(payload, entries)
        messages.append((TOPIC.format(kind="NDATA"), payload))
    cuts = sorted(draw(st.sets(st.integers(1, len(messages) - 1), max_size=3)))
    edges = [0, *cuts, len(messages)]
    return [messages[a:b] for a, b in itertools.pairwise(edges)], tag_map


def with_raw_ints(payload: bytes, entries: list[Entry]) -> bytes:
    """Overwrite the int_value of entries that ask for a raw one."""
    if all(e.raw_int is None for e in entries):
        return payload
    msg = schema.Payload()
    msg.ParseFromString(payload)
    for pb, e in zip(msg.metrics, entries, strict=False):
        if e.raw_int is not None and not e.null:
            pb.int_value = e.raw_int
    data: bytes = msg.SerializeToString()
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_columnar_path_gives_exactly_the_samples_of_the_exact_path(
    case: tuple[list[list[tuple[str, bytes]]], dict[Any, int]],
) -> None:
    batches, tag_map = case
    fast = run(offline_host(tag_map), batches, columnar=True)
    exact = run(offline_host(tag_map), batches, columnar=False)
    assert same_samples(fast[0], exact[0]), (fast[0], exact[0])
    assert fast[1] == exact[1]
    assert [t for t, _ in fast[2]] == [t for t, _ in exact[2]]


@st.composite
def alike_scenario(draw: st.DrawFn) -> tuple[list[list[tuple[str, bytes]]], dict[Any, int]]:
    """A birth, then data messages that mostly repeat one message's metrics (aliases,
    timestamps present or not, historical flags) with new values and timestamps: the
    shape the columnar decoder keeps. Some messages break it: a timestamp or an integer
    of another varint length, an alias swapped, a value out of its datatype's range."""
    n = draw(st.integers(1, 6))
    datatypes = draw(st.lists(st.sampled_from(NUMERIC), min_size=n, max_size=n))
    base = draw(st.sampled_from([0, 120]))
    aliases = [base + i for i in range(n)]
    mapped = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    tag_map = {("G", "E1", None, f"m{i}"): 100 + i for i in range(n) if mapped[i]}
    birth = [bdseq_metric(0)] + [
        Metric(name=f"m{i}", alias=aliases[i], datatype=dt, value=draw(value_of(dt)))
        for i, dt in enumerate(datatypes)
    ]
    messages = [
        (TOPIC.format(kind="NBIRTH"), encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=birth))
    ]
    picks = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    stamped = draw(st.lists(st.booleans(), min_size=len(picks), max_size=len(picks)))
    historical = draw(st.lists(st.booleans(), min_size=len(picks), max_size=len(picks)))
    small = st.integers(0, 1) if draw(st.booleans()) else st.just(0)  # one-byte integers
    for seq in range(1, draw(st.integers(2, 12)) + 1):
        odd = draw(st.integers(0, 7))
        metrics = []
        for k, i in enumerate(picks):
            dt = datatypes[i]
            value = draw(small if dt in RANGES and odd else value_of(dt))
            ts_ms = BASE_MS + draw(st.integers(0, 10_000)) if odd else draw(st.integers(0, 300))
            alias = aliases[i] if odd or k else aliases[(i + 1) % n]
            metrics.append(
                Metric(
                    alias=alias,
                    datatype=datatypes[aliases.index(alias)],
                    value=value
                    if alias == aliases[i]
                    else draw(small)
                    if datatypes[aliases.index(alias)] in RANGES
                    else draw(value_of(datatypes[aliases.index(alias)])),
                    timestamp_ms=ts_ms if stamped[k] else None,
                    is_historical=historical[k],
                )
            )
        payload = encode_payload(
            timestamp_ms=BASE_MS + seq, seq=seq, metrics=metrics, include_datatype=False
        )
        entries = [
            Entry(i, None, None, False, False, False, draw(st.integers(0, 2**32 - 1)))
            if odd == 1 and datatypes[i] in INT_FIELD
            else Entry(i, None, None, False, False, False, None)
            for i in picks
        ]
        messages.append((TOPIC.format(kind="NDATA"), with_raw_ints(payload, entries)))
    cuts = sorted(draw(st.sets(st.integers(1, len(messages) - 1), max_size=2)))
    edges = [0, *cuts, len(messages)]
    return [messages[a:b] for a, b in itertools.pairwise(edges)], tag_map


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alike_scenario())
def test_messages_of_one_shape_give_exactly_the_samples_of_the_exact_path(
    case: tuple[list[list[tuple[str, bytes]]], dict[Any, int]],
) -> None:
    batches, tag_map = case
    fast = run(offline_host(tag_map), batches, columnar=True)
    exact = run(offline_host(tag_map), batches, columnar=False)
    assert same_samples(fast[0], exact[0]), (fast[0], exact[0])
    assert fast[1] == exact[1]
    assert [t for t, _ in fast[2]] == [t for t, _ in exact[2]]


def test_well_behaved_data_takes_the_columnar_path_in_one_decode() -> None:
    """Births with aliases, then data of mixed datatypes and lengths (aliases past 127,
    so records of two sizes) in one batch: every data message is decoded as columns."""
    n = 300
    dts = [NUMERIC[i % len(NUMERIC)] for i in range(n)]
    tag_map = {("G", "E1", None, f"m{i}"): 1 + i for i in range(n)}
    birth = [bdseq_metric(0)] + [
        Metric(name=f"m{i}", alias=i, datatype=dt, value=1 if dt is not DataType.Boolean else True)
        for i, dt in enumerate(dts)
    ]
    batch = [
        (TOPIC.format(kind="NBIRTH"), encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=birth))
    ]
    rng = np.random.default_rng(3)
    for seq in range(1, 21):
        metrics = [
            Metric(
                alias=i,
                datatype=dt,
                value=True
                if dt is DataType.Boolean
                else float(rng.normal())
                if dt in (DataType.Double,)
                else 7,
                timestamp_ms=BASE_MS + seq,
            )
            for i, dt in enumerate(dts)
        ]
        batch.append(
            (
                TOPIC.format(kind="NDATA"),
                encode_payload(
                    timestamp_ms=BASE_MS + seq, seq=seq, metrics=metrics, include_datatype=False
                ),
            )
        )
    host = offline_host(tag_map)
    fast = run(host, [batch], columnar=True)
    exact = run(offline_host(tag_map), [batch], columnar=False)
    assert host.metrics()["columnar_messages"] == 20
    assert len(fast[0]) == n * 21
    assert same_samples(fast[0], exact[0])
    assert fast[1] == exact[1]


# ----------------------------------------------------------------------------- broker


def make_host(
    broker: Broker,
    group: str,
    tags: dict[tuple[str, str, str | None, str], int],
    names: dict[str, int] | None = None,
) -> SparkplugHost:
    return SparkplugHost(
        server=MqttServer(broker.host, broker.port),
        host_id=f"fast-{group}",
        group_filter=group,
        tag_map=tags,
        metric_names=names,
        clock=ManualClock(BASE_NS),
        interval_s=0.05,
    )


GOOD_COUNT = "plant-a/assembly/line-3/st-10/good_count"
SPEED = "plant-a/assembly/line-3/st-10/speed"


class TagPathNode(EdgeNode):
    """An edge node as the PlantOS edge gateway publishes: metric name = tag path, the
    stream seq metric in the birth, aliases for data."""

    def birth(self, ts_ms: int, temp: float = 0.0, *, numbered: bool = True) -> None:
        """``numbered``: the birth announces the stream seq metric, as the gateway's does."""
        self.seq = 0
        metrics = [
            bdseq_metric(self.bdseq),
            Metric(name=GOOD_COUNT, alias=0, datatype=DataType.UInt32, value=10),
            Metric(name=SPEED, alias=1, datatype=DataType.Double, value=1.5),
            Metric(name="not/a/tag", alias=2, datatype=DataType.Double, value=9.0),
        ]
        if numbered:
            metrics.append(
                Metric(name=STREAM_SEQ_METRIC, alias=3, datatype=DataType.UInt64, value=0)
            )
        self.publish(
            self.topic("NBIRTH"), encode_payload(timestamp_ms=ts_ms, seq=0, metrics=metrics)
        )

    def sample(
        self, ts_ms: int, count: int, *, stream: int | None = None, historical: bool = False
    ) -> None:
        metrics = [
            Metric(
                alias=0,
                datatype=DataType.UInt32,
                value=count,
                timestamp_ms=ts_ms,
                is_historical=historical,
            ),
            Metric(alias=2, datatype=DataType.Double, value=1.0, timestamp_ms=ts_ms),
        ]
        if stream is not None:
            metrics.append(
                Metric(alias=3, datatype=DataType.UInt64, value=stream, timestamp_ms=ts_ms)
            )
        self.data(ts_ms, metrics)


def test_metric_names_that_are_tag_paths_feed_those_tags_from_any_node(broker: Broker) -> None:
    async def main() -> None:
        names = {GOOD_COUNT: 7, SPEED: 8}
        explicit = {("GN", "E2", None, SPEED): 9}  # an explicit entry wins over the name
        host = make_host(broker, "GN", explicit, names)
        await host.connect()
        e1, e2 = TagPathNode(broker, "GN", "E1"), TagPathNode(broker, "GN", "E2")
        try:
            e1.birth(BASE_MS, numbered=False)
            e2.birth(BASE_MS + 1, numbered=False)
            b = await gather(host, lambda b: has(7)(b) and has(9)(b))
            assert sorted(b.tag_id.tolist()) == [7, 7, 8, 9]
            e1.sample(BASE_MS + 100, 11)
            e2.sample(BASE_MS + 200, 12)
            b = await gather(host, lambda b: len(rows(b, 7)) == 2)
            assert sorted(rows(b, 7)) == [  # two publishers: no order between them
                ((BASE_MS + 100) * 1_000_000, 11.0, quality.GOOD),
                ((BASE_MS + 200) * 1_000_000, 12.0, quality.GOOD),
            ]
            assert set(b.tag_id.tolist()) == {7}  # "not/a/tag" is no tag
            assert host.metrics()["columnar_messages"] == 2
            assert sorted(host.tag_ids) == [7, 8, 9]

            e1.death(0, BASE_MS + 300)  # the node's name-mapped tags go Bad
            b = await gather(host, has(7, quality.BAD_NO_COMMUNICATION))
            assert sorted(b.tag_id.tolist()) == [7, 8]
        finally:
            e1.stop()
            e2.stop()
            await host.close()

    asyncio.run(main())


def test_a_replayed_stream_seq_is_dropped_whole_across_births_and_reconnects(
    broker: Broker,
) -> None:
    async def main() -> None:
        host = make_host(broker, "GD", {}, {GOOD_COUNT: 7, STREAM_SEQ_METRIC: 99})
        await host.connect()
        edge = TagPathNode(broker, "GD", "E1")
        try:
            edge.birth(BASE_MS)  # restates values: no samples (they came as numbered data)
            await until(lambda: host.metrics()["edge_nodes_online"] == 1)
            edge.sample(BASE_MS + 1, 1, stream=1)
            edge.sample(BASE_MS + 2, 2, stream=2)
            edge.sample(BASE_MS + 3, 3)  # no stream seq: not a replay, always taken
            b = await gather(host, lambda b: 3.0 in b.value)
            assert [v for _, v, _ in rows(b, 7)] == [1.0, 2.0, 3.0]  # not the birth's 10

            # the host reconnects and the node births again, then replays its spool
            await host.close()
            await host.connect()
            edge.birth(BASE_MS + 10)
            await until(lambda: host.metrics()["edge_nodes_online"] == 1)
            edge.sample(BASE_MS + 2, 2, stream=2, historical=True)  # seen before
            edge.sample(BASE_MS + 4, 4, stream=3, historical=True)
            edge.sample(BASE_MS + 1, 1, stream=1, historical=True)  # seen before
            await until(lambda: host.metrics()["duplicates_dropped"] == 2)
            b = await gather(host, lambda b: 4.0 in b.value)
            assert [v for _, v, _ in rows(b, 7)] == [4.0]
            assert 99 not in b.tag_id  # the stream seq metric is never a sample
            m = host.metrics()
            assert m["historical"] == 1 and m["rebirths_requested"] == 0
        finally:
            edge.stop()
            await host.close()

    asyncio.run(main())


def test_a_steady_stream_is_read_by_the_shape_of_its_first_message() -> None:
    """Doubles with timestamps, aliases past 127 (records of two lengths), message after
    message with new values: after the first message no record search is needed."""
    n = 200
    tag_map = {("G", "E1", None, f"m{i}"): 1 + i for i in range(n)}
    birth = [bdseq_metric(0)] + [
        Metric(name=f"m{i}", alias=i, datatype=DataType.Double, value=0.0) for i in range(n)
    ]
    rng = np.random.default_rng(5)
    messages = [
        (TOPIC.format(kind="NBIRTH"), encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=birth))
    ]
    for seq in range(1, 16):
        metrics = [
            Metric(alias=i, datatype=DataType.Double, value=float(v), timestamp_ms=BASE_MS + seq)
            for i, v in enumerate(rng.normal(size=n))
        ]
        payload = encode_payload(
            timestamp_ms=BASE_MS + seq, seq=seq, metrics=metrics, include_datatype=False
        )
        messages.append((TOPIC.format(kind="NDATA"), payload))
    batches = [messages[:6], messages[6:11], messages[11:]]
    host = offline_host(tag_map)
    searched = mock.patch.object(
        decoding_module, "decode_records", wraps=decoding_module.decode_records
    )
    with searched as decode_records:
        fast = run(host, batches, columnar=True)
    assert decode_records.call_count == 0
    assert host.metrics()["columnar_messages"] == 15
    exact = run(offline_host(tag_map), batches, columnar=False)
    assert same_samples(fast[0], exact[0])
    assert fast[1] == exact[1]


def test_exact_and_columnar_paths_agree_on_nan_and_quality() -> None:
    """A null metric (exact path) next to well-behaved ones (columnar path)."""
    tag_map = {("G", "E1", None, "a"): 1, ("G", "E1", None, "b"): 2}
    birth = [
        bdseq_metric(0),
        Metric(name="a", alias=1, datatype=DataType.Double, value=1.0),
        Metric(name="b", alias=2, datatype=DataType.Int16, value=1),
    ]
    batch = [
        (TOPIC.format(kind="NBIRTH"), encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=birth))
    ]
    for seq, null in ((1, False), (2, True), (3, False)):
        metrics = [
            Metric(alias=1, datatype=DataType.Double, value=None if null else -0.5, is_null=null),
            Metric(alias=2, datatype=DataType.Int16, value=-300),
        ]
        payload = encode_payload(
            timestamp_ms=BASE_MS + seq, seq=seq, metrics=metrics, include_datatype=False
        )
        batch.append((TOPIC.format(kind="NDATA"), payload))
    host = offline_host(tag_map)
    out, _, _ = run(host, [batch], columnar=True)
    assert host.metrics()["columnar_messages"] == 2
    a = out.value[out.tag_id == 1]
    assert a[1:].tolist()[0] == -0.5 and math.isnan(a[2]) and a[3] == -0.5
    assert out.quality[out.tag_id == 1].tolist() == [0, 0, quality.BAD, 0]
    assert out.value[out.tag_id == 2].tolist() == [1.0, -300.0, -300.0, -300.0]


def test_commits_are_published_per_node_in_order_and_a_closing_host_waits_for_them(
    broker: Broker,
) -> None:
    """The host acknowledges a numbered stream only up to what the writer committed, in
    order; a host that closes while the last batch is being committed still tells the node,
    and a restarted host reads that back and drops the node's replay."""

    async def take(host: SparkplugHost) -> SampleBatch:
        for _ in range(200):
            batch = await host.collect()
            if len(batch):
                return batch
            await asyncio.sleep(0.02)
        raise AssertionError("nothing collected")

    async def main() -> None:
        host = make_host(broker, "GK", {}, {GOOD_COUNT: 7})
        await host.connect()
        edge = TagPathNode(broker, "GK", "E1")
        watcher = MqttPeer(broker, "commit-watcher")
        topic = commit_topic("fast-GK", "GK", "E1")
        try:
            edge.birth(BASE_MS)
            await until(lambda: host.metrics()["edge_nodes_online"] == 1)
            edge.sample(BASE_MS + 1, 1, stream=10)
            first = await take(host)
            edge.sample(BASE_MS + 2, 2, stream=11)
            second = await take(host)
            assert isinstance(first, AckedBatch) and isinstance(second, AckedBatch)
            acknowledge([second])  # committed out of order: nothing may be claimed yet
            watcher.subscribe(topic)
            await asyncio.sleep(0.3)
            assert watcher.received.empty()
            acknowledge([first])
            assert decode_commit(watcher.next_message().payload) == {None: 11}

            edge.sample(BASE_MS + 3, 3, stream=12)
            third = await take(host)
            closing = asyncio.create_task(host.close())
            await asyncio.sleep(0.3)
            assert not closing.done()  # waits for the commit of what it handed over
            acknowledge([third])
            await asyncio.wait_for(closing, 10)
            assert decode_commit(watcher.next_message().payload) == {None: 12}

            host = make_host(broker, "GK", {}, {GOOD_COUNT: 7})  # a restarted core
            await host.connect()  # reads the retained commit before any data
            edge.birth(BASE_MS + 10)
            await until(lambda: host.metrics()["edge_nodes_online"] == 1)
            edge.sample(BASE_MS + 3, 3, stream=12, historical=True)  # committed already
            edge.sample(BASE_MS + 4, 4, stream=13, historical=True)
            b = await gather(host, lambda b: 4.0 in b.value)
            assert [v for _, v, _ in rows(b, 7)] == [4.0]
            assert host.metrics()["duplicates_dropped"] == 1
        finally:
            watcher.stop()
            edge.stop()
            await host.close()

    asyncio.run(main())


@pytest.mark.parametrize("columnar", [True, False])
def test_numbered_samples_that_do_not_fit_are_refused_and_taken_when_sent_again(
    columnar: bool,
) -> None:
    """A full hand-over must not lose a gateway's data: the message is not accepted (its
    stream number is not taken), the node is asked for a rebirth, and the same message sent
    again after the birth is taken."""
    host = SparkplugHost(
        server=MqttServer("127.0.0.1", 1),
        host_id="t",
        tag_map={("G", "E1", None, "a"): 1, ("G", "E1", None, "b"): 2},
        clock=ManualClock(BASE_NS),
        max_buffer=3,
    )
    host._client = FakeClient()  # type: ignore[assignment]
    birth = [
        bdseq_metric(0),
        Metric(name="a", alias=1, datatype=DataType.Double, value=0.0),
        Metric(name="b", alias=2, datatype=DataType.Double, value=0.0),
        Metric(name=STREAM_SEQ_METRIC, alias=3, datatype=DataType.UInt64, value=0),
    ]

    def data(seq: int, stream: int, value: float) -> tuple[str, bytes]:
        metrics = [
            Metric(alias=1, datatype=DataType.Double, value=value),
            Metric(alias=2, datatype=DataType.Double, value=value),
            Metric(alias=3, datatype=DataType.UInt64, value=stream),
        ]
        payload = encode_payload(
            timestamp_ms=BASE_MS + stream, seq=seq, metrics=metrics, include_datatype=False
        )
        return TOPIC.format(kind="NDATA"), payload

    nbirth = (
        TOPIC.format(kind="NBIRTH"),
        encode_payload(timestamp_ms=BASE_MS, seq=0, metrics=birth),
    )
    off = mock.patch.object(decoding_module, "decode_regions", return_value=None)
    with contextlib.nullcontext() if columnar else off:
        host._handle_batch(host._client, [nbirth, data(1, 10, 1.0), data(2, 11, 2.0)])  # type: ignore[arg-type]
        first = asyncio.run(host.collect())
        good = first.select(first.quality == quality.GOOD)
        assert good.value.tolist() == [1.0, 1.0]  # the second message did not fit
        m = host.metrics()
        assert m["refused_full"] == 2 and m["rebirths_requested"] == 1
        assert any("NCMD" in topic for topic, _ in host._client.published)  # type: ignore[attr-defined]
        host._handle_batch(host._client, [nbirth, data(1, 11, 2.0)])  # type: ignore[arg-type]
        again = asyncio.run(host.collect())
    assert again.value.tolist() == [2.0, 2.0]
    assert host.metrics()["duplicates_dropped"] == 0
