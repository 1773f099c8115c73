"""Text and integers beyond 2**53 through the edge node's columnar encoder and back.

The node's bytes must be what protobuf serializes for the same message, and PlantOS's
host must read every value back exactly: text (empty, non-ASCII, NUL) in String metrics,
Int64 and UInt64 to their 64-bit bounds in ``long_value`` (UInt64 unsigned, Int64 as two's
complement). A value its metric cannot carry is sent as null with the code that says why.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.sparkplug import DataType, decode_payload
from plantos.edge.sparkplug.columnar import decode_records, envelope
from plantos.edge.sparkplug.columnar_encode import encode_seq
from plantos.edge.sparkplug.node import SparkplugEdgeNode
from tests.unit.test_sparkplug_columnar_encode import alias_table, check_same_messages, make_node

KINDS = [DataType.Int64, DataType.UInt64, DataType.String, DataType.Double, DataType.Boolean]
VALUES = {
    DataType.Int64: st.one_of(
        st.sampled_from([-(2**63), 2**63 - 1, 2**53 + 1, -(2**53) - 1, 0, -1]),
        st.integers(-(2**63), 2**63 - 1),
    ),
    DataType.UInt64: st.one_of(
        st.sampled_from([2**64 - 1, 2**63, 2**53 + 1, 0]), st.integers(0, 2**64 - 1)
    ),
    DataType.String: st.one_of(
        st.sampled_from(["", "P-100", "Überdruck ✓ 温度", "a\0b", "x" * 70_000]), st.text()
    ),
    DataType.Double: st.floats(allow_nan=False),
    DataType.Boolean: st.booleans(),
}


def sent_values(node: SparkplugEdgeNode, batch: SampleBatch) -> list[tuple[int, object, int]]:
    """(alias, value, quality) of every metric the node sends for ``batch``, as PlantOS's
    host decodes the bytes (the per-metric path, and the columnar one where it applies)."""
    data = check_same_messages(node, batch, historical=False, stream_seq=None, seq=7)
    datatypes: dict[int | str, DataType] = {i: m.datatype for i, m in enumerate(node._defs)}
    table = alias_table(node)
    got = []
    for message in data:
        payload = message + encode_seq(7)
        metrics = decode_payload(payload, datatypes=datatypes).metrics
        env = envelope(payload)
        assert env is not None
        records = decode_records(payload[env.start : env.end], np.zeros(1, np.intp), table)
        if records is not None:  # the columnar host path agrees, value for value
            assert records.value.tolist() == [float(m.value) for m in metrics]  # type: ignore[arg-type]
        for m in metrics:
            assert m.alias is not None
            got.append((m.alias, m.value, quality.GOOD if m.quality is None else m.quality))
    return got


@settings(max_examples=200, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=5),
    data=st.data(),
)
def test_exact_values_round_trip_through_the_node_and_the_host(
    kinds: list[DataType], data: st.DataObject
) -> None:
    node = make_node([(k, None if i % 2 else "D1") for i, k in enumerate(kinds)], 5000, 10**18)
    rows = data.draw(
        st.lists(
            st.integers(0, len(kinds) - 1).flatmap(
                lambda i: st.tuples(st.just(i), st.one_of(st.none(), VALUES[kinds[i]]))
            ),
            min_size=1,
            max_size=20,
        )
    )
    tags = [10 + i for i, _ in rows]
    batch = SampleBatch.from_values(tags, list(range(len(rows))), [v for _, v in rows])
    got = sent_values(node, batch)
    by_metric: dict[int, list[object]] = {}
    for i, v in rows:  # the node sends each metric's samples in time order
        by_metric.setdefault(i, []).append(v)
    for alias, values in by_metric.items():
        received = [(v, q) for a, v, q in got if a == alias]
        assert [q for _, q in received] == [quality.GOOD] * len(values)
        for want, (v, _q) in zip(values, received, strict=True):
            if want is None:
                assert v is None
            elif kinds[alias] is DataType.Double:
                assert v == float(want)  # type: ignore[arg-type]
            else:
                assert v == want and type(v) is type(want)


def test_values_a_metric_cannot_carry_are_sent_null_with_the_reason() -> None:
    node = make_node(
        [(DataType.Int64, None), (DataType.UInt64, None), (DataType.String, None)], 5000, 0
    )
    rows = [
        (10, "P-100"),  # text into Int64
        (10, 2**63),  # beyond Int64
        (11, -1),  # below UInt64 (a plain float)
        (11, 2**64),  # beyond UInt64
        (12, 42),  # a number into String
        (12, 2**60),  # a big integer into String
        (12, "\ud800"),  # a lone surrogate is not UTF-8
    ]
    batch = SampleBatch.from_values([t for t, _ in rows], range(len(rows)), [v for _, v in rows])
    got = sent_values(node, batch)
    mismatch, out = quality.BAD_TYPE_MISMATCH, quality.BAD_OUT_OF_RANGE
    assert got == [
        (0, None, mismatch),
        (0, None, out),
        (1, None, out),
        (1, None, out),
        (2, None, mismatch),
        (2, None, mismatch),
        (2, None, mismatch),
    ]
    assert node.counters["type_mismatch"] == 4 and node.counters["out_of_range"] == 3


def test_report_by_exception_compares_exact_values_and_births_restate_them() -> None:
    node = make_node([(DataType.String, None), (DataType.UInt64, None)], 5000, 0)
    first = SampleBatch.from_values([10, 11], [1, 1], ["A", 2**64 - 1])
    node._commit(node._prepare(first))
    again = SampleBatch.from_values(
        [10, 10, 10, 11, 11], [2, 3, 4, 2, 3], ["A", "B", None, 2**64 - 1, 2**64 - 2]
    )
    keep = node._changed(node._prepare(again))
    # "A" repeats; "B" differs; no value after text differs; 2**64-2 and -1 share a float
    assert keep.tolist() == [False, True, True, False, True]
    births = [node._birth_metric(i) for i in range(2)]
    assert [(m.value, m.is_null) for m in births] == [("A", False), (2**64 - 1, False)]
    assert math.isnan(node._last_value[0])
