"""The edge node's columnar encoder against the per-metric protobuf builder it replaced.

For random batches (every datatype the node supports, NaN and out-of-range values,
negative integers of every width, Booleans, non-Good qualities, historical or not,
numbered or not, split over several messages per scope) the bytes the node publishes
must be exactly what protobuf serializes for the message the old path built, seq
included; a replayed poll is read back by PlantOS's host with its columnar decoder.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug import STREAM_PARTS, DataType, encode_quality, schema
from plantos.edge.sparkplug.columnar import AliasTable, decode_records, envelope
from plantos.edge.sparkplug.columnar_encode import encode_seq
from plantos.edge.sparkplug.node import NodeMetric, SparkplugEdgeNode

BITS = {
    DataType.Int8: 8,
    DataType.Int16: 16,
    DataType.Int32: 32,
    DataType.Int64: 64,
    DataType.UInt8: 8,
    DataType.UInt16: 16,
    DataType.UInt32: 32,
    DataType.UInt64: 64,
    DataType.DateTime: 64,
}
DATATYPES = [*BITS, DataType.Float, DataType.Double, DataType.Boolean]
EDGES = [
    0.0,
    -0.0,
    0.5,
    -1.0,
    -1.5,
    127.0,
    128.0,
    -128.0,
    -129.0,
    255.0,
    256.0,
    -(2.0**15),
    2.0**16 - 1,
    -(2.0**31),
    2.0**32 - 1,
    2.0**32,
    -(2.0**63),
    2.0**63,
    2.0**64 - 2048,
    2.0**64,
    3.4028234663852886e38,
    3.5e38,
    1e-45,
    math.inf,
    -math.inf,
    math.nan,
]
CODES = [
    quality.GOOD,
    quality.BAD,
    quality.UNCERTAIN_LAST_USABLE_VALUE,
    quality.BAD_SENSOR_FAILURE,
    0xFFFF_FFFF,
]
NS_PER_MS = 1_000_000


def reference_payloads(
    node: SparkplugEdgeNode, samples: Any, historical: bool, stream_seq: int | None
) -> list[tuple[int, Any]]:
    """The node's former ``_data_payloads``: a protobuf Payload (no seq) per message,
    built one ``msg.metrics.add`` per metric."""
    idx, ts, value, codes = samples.idx, samples.ts, samples.value, samples.codes
    exact = [None] * len(idx) if samples.exact is None else samples.exact
    scope = node._scope[idx]
    order = np.lexsort((ts, scope))
    idx, ts, value, codes, scope = idx[order], ts[order], value[order], codes[order], scope[order]
    exact = [exact[i] for i in order]
    flags = {"is_historical": True} if historical else {}
    now = node._now_ms()
    size = node.max_metrics_per_message - (stream_seq is not None)
    bounds = np.flatnonzero(np.diff(scope)) + 1
    payloads: list[tuple[int, Any]] = []
    for begin, end in zip([0, *bounds.tolist()], [*bounds.tolist(), len(idx)], strict=True):
        for part, lo in enumerate(range(begin, end, size)):
            msg = schema.Payload(timestamp=now)
            for j in range(lo, min(lo + size, end)):
                datatype = node._defs[int(idx[j])].datatype
                name, wire = old_wire_value(datatype, float(value[j]), exact[j])
                metric = msg.metrics.add(
                    alias=int(idx[j]), timestamp=int(ts[j]) // NS_PER_MS, **{name: wire}, **flags
                )
                if codes[j] != quality.GOOD:
                    encode_quality(int(codes[j]), metric.properties)
            s = int(scope[lo])
            if stream_seq is not None:
                numbered = stream_seq * STREAM_PARTS + part
                msg.metrics.add(alias=node._stream_alias[s], timestamp=now, long_value=numbered)
            payloads.append((s, msg))
    return payloads


def old_wire_value(datatype: DataType, value: float, exact: object = None) -> tuple[str, Any]:
    if isinstance(exact, str):
        return "string_value", exact
    if isinstance(exact, int):
        return "long_value", exact % 2**64
    if math.isnan(value):
        return "is_null", True
    if datatype is DataType.Boolean:
        return "boolean_value", value != 0
    bits = BITS.get(datatype)
    if bits is not None:  # two's complement of the width
        return ("long_value" if bits == 64 else "int_value"), int(np.rint(value)) % 2**bits
    return ("float_value" if datatype is DataType.Float else "double_value"), value


def alias_table(node: SparkplugEdgeNode) -> AliasTable:
    """What the host's columnar decoder learns from the node's births."""
    rows = [(i, m.datatype, m.tag_id) for i, m in enumerate(node._defs)]
    rows += [(alias, DataType.UInt64, None) for alias in node._stream_alias]
    table = AliasTable.build(rows)
    assert table is not None
    return table


def host_reads(data: bytes, table: AliasTable) -> tuple[Any, ...] | None:
    """The host's columnar reading of one message: its envelope and metric columns."""
    env = envelope(data)
    if env is None:
        return None
    records = decode_records(data[env.start : env.end], np.zeros(1, dtype=np.intp), table)
    if records is None:
        return (env, None)
    columns = (records.alias, records.ts_ms, records.raw, records.historical, records.counts)
    return (env, [c.tolist() for c in columns], records.value.view(np.uint64).tolist())


def make_node(
    datatypes: list[tuple[DataType, str | None]], max_metrics: int, now_ns: int
) -> SparkplugEdgeNode:
    return SparkplugEdgeNode(
        server=MqttServer("127.0.0.1", 1),
        group_id="G",
        edge_node_id="E",
        metrics=[
            NodeMetric(10 + i, f"m{i}", dt, device) for i, (dt, device) in enumerate(datatypes)
        ],
        clock=ManualClock(now_ns),
        max_metrics_per_message=max_metrics,
    )


def check_same_messages(
    node: SparkplugEdgeNode,
    batch: SampleBatch,
    historical: bool,
    stream_seq: int | None,
    seq: int,
) -> list[bytes]:
    """The node's bytes equal the old builder's, message by message; returns them."""
    samples = node._prepare(batch)
    if not len(samples.idx):  # only unknown tags: publish() sends nothing
        return []
    got = node._data_payloads(samples, historical, stream_seq)
    want = reference_payloads(node, samples, historical, stream_seq)
    assert [s for s, _ in got] == [s for s, _ in want]
    for (_, data), (_, msg) in zip(got, want, strict=True):
        assert schema.Payload.FromString(data) == msg
        assert data == msg.SerializeToString()
        msg.seq = seq
        sent = data + encode_seq(seq)
        assert sent == msg.SerializeToString()
    return [data for _, data in got]


samples = st.tuples(
    st.integers(0, 9),  # tag index (past the node's metrics: an unknown tag)
    st.one_of(st.integers(0, 2**63 - 1), st.integers(1_700_000_000_000_000_000, 2**62)),
    st.one_of(st.sampled_from(EDGES), st.floats(), st.integers(-(2**64), 2**64).map(float)),
    st.one_of(st.just(quality.GOOD), st.sampled_from(CODES)),
)


@settings(max_examples=400, deadline=None)
@given(
    datatypes=st.lists(
        st.tuples(st.sampled_from(DATATYPES), st.sampled_from([None, "D1", "D2"])),
        min_size=1,
        max_size=8,
    ),
    rows=st.lists(samples, min_size=1, max_size=40),
    max_metrics=st.one_of(st.integers(2, 6), st.just(5000)),
    historical=st.booleans(),
    stream_seq=st.one_of(st.none(), st.integers(0, 2**64 // STREAM_PARTS - 1)),
    now_ns=st.integers(0, 2**63 - 1),
    seq=st.integers(0, 255),
)
def test_random_batches_encode_to_the_bytes_of_the_per_metric_builder(
    datatypes: list[tuple[DataType, str | None]],
    rows: list[tuple[int, int, float, int]],
    max_metrics: int,
    historical: bool,
    stream_seq: int | None,
    now_ns: int,
    seq: int,
) -> None:
    node = make_node(datatypes, max_metrics, now_ns)
    tag, ts, value, codes = zip(*rows, strict=True)
    batch = SampleBatch.of(np.array(tag) + 10, ts, value, codes)
    check_same_messages(node, batch, historical, stream_seq, seq)


def test_a_replayed_poll_is_byte_identical_and_read_by_the_columnar_host_path() -> None:
    """The gateway's common case (Double tags, historical, numbered, split in parts)."""
    node = make_node([(DataType.Double, None)] * 2000, 700, 1_750_000_000_123_000_000)
    rng = np.random.default_rng(1)
    ts = np.full(2000, 1_750_000_000_000_000_000, dtype=np.int64)
    values = np.round(rng.normal(100, 15, 2000), 2)
    batch = SampleBatch.of(np.arange(2000) + 10, ts, values)
    sent = check_same_messages(node, batch, True, 12345, 255)
    assert len(sent) == 3
    table = alias_table(node)
    read = [host_reads(data + encode_seq(0), table) for data in sent]
    assert all(r is not None and r[1] is not None for r in read)
    got = np.concatenate([np.array(r[2], dtype=np.uint64) for r in read if r is not None])
    stream = np.array([699, 1399, 2000 + 2])  # each message ends with its stream-seq metric
    keep = np.ones(len(got), dtype=bool)
    keep[stream] = False
    assert got[keep].view(np.float64).tolist() == values.tolist()


def test_a_numbered_batch_too_large_for_its_parts_is_refused() -> None:
    node = make_node([(DataType.Double, None)], 2, 0)
    n = STREAM_PARTS + 1
    batch = SampleBatch.of(np.full(n, 10), np.arange(n), np.zeros(n))
    with pytest.raises(ValueError, match="at most"):
        node._data_payloads(node._prepare(batch), True, 0)


def test_a_value_outside_uint64_is_refused_not_mangled() -> None:
    assert encode_seq(0) == b"\x18\x00" and encode_seq((1 << 64) - 1)[-1] == 0x01
    for bad in (-1, 1 << 64):
        with pytest.raises(ValueError, match="does not fit a uint64 varint"):
            encode_seq(bad)
