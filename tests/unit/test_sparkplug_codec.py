"""The Sparkplug B schema and codec against the reference ``.proto``, golden bytes and fuzzing.

The reference definition is read from ``../shared/data/sparkplug/`` next to the
repository; tests that need it skip when it is absent.

Golden NDATA payload (timestamp 1000 ms, seq 1, one metric: alias 7, timestamp
1000, Int16 value -2), worked by hand from the protobuf wire format:

    08 E8 07        field 1 (timestamp) varint: 1000 = 0b111_1101000 -> E8 07
    12 0B           field 2 (metrics) length-delimited, 11 bytes follow
      10 07         Metric field 2 (alias) varint 7
      18 E8 07      Metric field 3 (timestamp) varint 1000
      20 02         Metric field 4 (datatype) varint 2 = Int16
      50 FE FF 03   Metric field 10 (int_value) varint 65534 = 2**16 - 2, the
                    16-bit two's complement of -2: 1111110 | 1111111 | 11
    18 01           field 3 (seq) varint 1
"""

from __future__ import annotations

import contextlib
import doctest
import math
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.core import quality
from plantos.core.errors import PlantOSError
from plantos.edge.sparkplug import codec, schema
from plantos.edge.sparkplug.codec import (
    DataType,
    MessageType,
    Metric,
    SparkplugDecodeError,
    StateTopic,
    Topic,
    UnsupportedValue,
    bdseq_metric,
    decode_payload,
    encode_payload,
    format_topic,
    next_seq,
    parse_topic,
)

GOLDEN_NDATA = bytes.fromhex("08 E8 07 12 0B 10 07 18 E8 07 20 02 50 FE FF 03 18 01")


# ----------------------------------------------------------------------------- (a) schema


def _messages(proto: descriptor_pb2.DescriptorProto, prefix: str) -> dict[str, Any]:
    found = {prefix + proto.name: proto}
    for nested in proto.nested_type:
        found.update(_messages(nested, prefix + proto.name + "."))
    return found


def _shape(msg: descriptor_pb2.DescriptorProto) -> dict[str, Any]:
    fields = {
        f.name: (
            f.number,
            f.label,
            f.type,
            f.type_name,
            msg.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else None,
        )
        for f in msg.field
    }
    ranges = sorted((r.start, r.end) for r in msg.extension_range)
    return {
        "fields": fields,
        "extension_ranges": ranges,
        "nested": sorted(n.name for n in msg.nested_type),
    }


def test_schema_equals_reference_definition(reference_pb2: Any) -> None:
    theirs = descriptor_pb2.FileDescriptorProto()
    reference_pb2.DESCRIPTOR.CopyToProto(theirs)
    ours = schema.file_descriptor_proto()
    assert (ours.package, ours.syntax or "proto2") == (theirs.package, theirs.syntax or "proto2")
    their_msgs = {k: _shape(v) for m in theirs.message_type for k, v in _messages(m, "").items()}
    our_msgs = {k: _shape(v) for m in ours.message_type for k, v in _messages(m, "").items()}
    assert set(our_msgs) == set(their_msgs)
    for name, shape in their_msgs.items():
        assert our_msgs[name] == shape, name
    their_enums = {e.name: [(v.name, v.number) for v in e.value] for e in theirs.enum_type}
    our_enums = {e.name: [(v.name, v.number) for v in e.value] for e in ours.enum_type}
    assert our_enums == their_enums
    assert [(t.name, t.value) for t in DataType] == their_enums["DataType"]


# ----------------------------------------------------------------------------- (b) golden bytes


def test_golden_ndata_encodes_to_hand_checked_bytes() -> None:
    metric = Metric(alias=7, timestamp_ms=1000, datatype=DataType.Int16, value=-2)
    assert encode_payload(timestamp_ms=1000, seq=1, metrics=[metric]) == GOLDEN_NDATA
    decoded = decode_payload(GOLDEN_NDATA)
    assert (decoded.timestamp_ms, decoded.seq, decoded.metrics) == (1000, 1, [metric])


def test_ndata_without_datatype_resolves_from_birth_aliases() -> None:
    metric = Metric(alias=7, timestamp_ms=1000, datatype=DataType.Int16, value=-2)
    data = encode_payload(timestamp_ms=1000, seq=1, metrics=[metric], include_datatype=False)
    assert data == GOLDEN_NDATA.replace(bytes.fromhex("20 02"), b"").replace(
        b"\x12\x0b", b"\x12\x09"
    )
    assert decode_payload(data).metrics[0].value == 65534  # raw: no datatype known
    assert decode_payload(data, datatypes={7: DataType.Int16}).metrics == [metric]


@pytest.mark.parametrize(
    ("datatype", "values", "wire"),
    [  # the examples of chapter 6, "Array Types" (its Int8 example 0xEF is a typo: -23 is 0xE9)
        (DataType.Int8Array, (-23, 123), "E9 7B"),
        (DataType.Int16Array, (-30000, 30000), "D0 8A 30 75"),
        (DataType.Int32Array, (-1, 315338746), "FF FF FF FF FA AF CB 12"),
        (DataType.UInt16Array, (30, 52360), "1E 00 88 CC"),
        (DataType.UInt32Array, (52, 3293969225), "34 00 00 00 49 FB 55 C4"),
        (DataType.BooleanArray, (False, False, True, True, False, True), "06 00 00 00 34"),
        (DataType.StringArray, ("ABC", "hello"), "41 42 43 00 68 65 6C 6C 6F 00"),
    ],
)
def test_arrays_match_spec_examples(datatype: DataType, values: tuple[Any, ...], wire: str) -> None:
    data = encode_payload(
        timestamp_ms=0, seq=0, metrics=[Metric(name="a", datatype=datatype, value=values)]
    )
    msg = schema.Payload.FromString(data)
    assert msg.metrics[0].bytes_value == bytes.fromhex(wire)
    assert decode_payload(data).metrics[0].value == values


# ----------------------------------------------------------------------------- (c), (d) values

INT_RANGES = {
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
STRATEGIES: dict[DataType, st.SearchStrategy[Any]] = {
    **{dt: st.integers(lo, hi) for dt, (lo, hi) in INT_RANGES.items()},
    DataType.Float: st.floats(width=32, allow_nan=False),
    DataType.Double: st.floats(allow_nan=False),
    DataType.Boolean: st.booleans(),
    DataType.String: st.text(),
    DataType.Text: st.text(),
    DataType.UUID: st.uuids().map(str),
    DataType.Bytes: st.binary(),
    DataType.File: st.binary(),
}
SAMPLES: list[tuple[DataType, Any]] = [
    *((dt, v) for dt, (lo, hi) in INT_RANGES.items() for v in (lo, -1 if lo else 1, hi)),
    (DataType.Float, 1.5),
    (DataType.Float, -3.4028234663852886e38),
    (DataType.Double, -1e308),
    (DataType.Boolean, True),
    (DataType.String, "héllo"),
    (DataType.Text, "long text"),
    (DataType.UUID, "123e4567-e89b-12d3-a456-426614174000"),
    (DataType.Bytes, b"\x00\xff"),
    (DataType.File, b"%PDF"),
]


def _reference_value(dt: DataType, value: Any) -> tuple[str, Any]:
    """Independent of the codec: the field and wire value the reference classes should see."""
    if dt in INT_RANGES:
        width = {1: 8, 2: 16, 3: 32, 4: 64}.get(dt.value, 64 if dt.value >= 8 else 32)
        return ("long_value" if width == 64 else "int_value", value % (1 << width))
    field = {
        DataType.Float: "float_value",
        DataType.Double: "double_value",
        DataType.Boolean: "boolean_value",
        DataType.Bytes: "bytes_value",
        DataType.File: "bytes_value",
    }.get(dt, "string_value")
    return field, value


@pytest.mark.parametrize(("datatype", "value"), SAMPLES)
def test_cross_decoding_with_reference_classes(
    reference_pb2: Any, datatype: DataType, value: Any
) -> None:
    data = encode_payload(
        timestamp_ms=5, seq=9, metrics=[Metric(name="m", datatype=datatype, value=value)]
    )
    theirs = reference_pb2.Payload.FromString(data)
    field, wire = _reference_value(datatype, value)
    assert theirs.metrics[0].WhichOneof("value") == field
    assert getattr(theirs.metrics[0], field) == wire
    assert theirs.metrics[0].datatype == datatype

    built = reference_pb2.Payload(timestamp=5, seq=9)
    metric = built.metrics.add(name="m", datatype=int(datatype))
    setattr(metric, field, wire)
    decoded = decode_payload(built.SerializeToString())
    assert decoded.metrics == [Metric(name="m", datatype=datatype, value=value)]


@pytest.mark.parametrize(("datatype", "bits"), [(DataType.Int8, 8), (DataType.Int16, 16)])
def test_signed_values_sign_extended_to_32_bits_decode(datatype: DataType, bits: int) -> None:
    msg = schema.Payload(timestamp=1, seq=0)
    msg.metrics.add(name="m", datatype=int(datatype), int_value=2**32 - 2 ** (bits - 1))
    assert decode_payload(msg.SerializeToString()).metrics[0].value == -(2 ** (bits - 1))
    msg.metrics[0].int_value = 2**bits  # neither own width nor sign-extended
    with pytest.raises(SparkplugDecodeError, match="does not fit"):
        decode_payload(msg.SerializeToString())


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_scalar_round_trips(data: st.DataObject) -> None:
    datatype = data.draw(st.sampled_from(sorted(STRATEGIES)))
    value = data.draw(STRATEGIES[datatype])
    metric = Metric(name="x", alias=3, timestamp_ms=7, datatype=datatype, value=value)
    encoded = encode_payload(timestamp_ms=7, seq=255, metrics=[metric])
    (back,) = decode_payload(encoded).metrics
    assert back == metric or (math.isnan(value) and math.isnan(back.value))  # type: ignore[arg-type]


def test_null_and_flags_round_trip() -> None:
    metric = Metric(
        name="n", datatype=DataType.Double, is_null=True, is_historical=True, is_transient=True
    )
    assert decode_payload(encode_payload(timestamp_ms=0, seq=0, metrics=[metric])).metrics == [
        metric
    ]


def test_dataset_is_left_unsupported_but_decoded() -> None:
    msg = schema.Payload(timestamp=1, seq=0)
    msg.metrics.add(name="ds", datatype=int(DataType.DataSet)).dataset_value.columns.append("a")
    value = decode_payload(msg.SerializeToString()).metrics[0].value
    assert value == UnsupportedValue(DataType.DataSet)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"datatype": DataType.Int8, "value": 128}, ValueError),
        ({"datatype": DataType.UInt8, "value": -1}, ValueError),
        ({"datatype": DataType.Int32, "value": True}, ValueError),
        ({"datatype": DataType.Boolean, "value": 1}, TypeError),
        ({"datatype": DataType.Float, "value": 1e39}, ValueError),
        ({"datatype": DataType.DataSet, "value": None}, TypeError),
        ({"datatype": DataType.Int8, "value": 1, "is_null": True}, ValueError),
    ],
)
def test_encoding_rejects_bad_values(bad: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_payload(timestamp_ms=0, seq=0, metrics=[Metric(name="m", **bad)])


@pytest.mark.parametrize("seq", [-1, 256, None])
def test_seq_bounds(seq: int | None) -> None:
    if seq is None:  # NDEATH carries no seq
        assert decode_payload(encode_payload(timestamp_ms=0, seq=None, metrics=[])).seq is None
        return
    with pytest.raises(ValueError, match="seq"):
        encode_payload(timestamp_ms=0, seq=seq, metrics=[])
    with pytest.raises(SparkplugDecodeError, match="seq"):
        decode_payload(schema.Payload(timestamp=0, seq=seq % 2**64).SerializeToString())


def _metric_bytes(**fields: Any) -> bytes:
    msg = schema.Payload(timestamp=0, seq=0)
    msg.metrics.add(**fields)
    data: bytes = msg.SerializeToString()
    return data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xff\xff", "not a Sparkplug B payload"),
        (GOLDEN_NDATA[:-3], "not a Sparkplug B payload"),
        (_metric_bytes(name="m", datatype=99, int_value=1), "does not define"),
        (_metric_bytes(name="m", datatype=3, float_value=1.0), "float_value, not int_value"),
        (_metric_bytes(name="m", datatype=11, string_value="x"), "not boolean_value"),
        (_metric_bytes(name="m", datatype=5, int_value=256), "does not fit"),
        (_metric_bytes(name="m", datatype=3), "no value"),
        (_metric_bytes(datatype=3, int_value=1), "neither a name nor an alias"),
        (_metric_bytes(name="m", datatype=32, bytes_value=b"\x09\0\0\0\xff"), "BooleanArray"),
        (_metric_bytes(name="m", datatype=24, bytes_value=b"\x01\x02\x03"), "whole number"),
    ],
)
def test_malformed_payloads_raise_decode_error(data: bytes, reason: str) -> None:
    with pytest.raises(SparkplugDecodeError, match=reason) as info:
        decode_payload(data)
    assert isinstance(info.value, PlantOSError)


# ----------------------------------------------------------------------------- (e) fuzz


def _decodes_or_refuses(data: bytes) -> None:
    with contextlib.suppress(SparkplugDecodeError):
        decode_payload(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_else(data: bytes) -> None:
    _decodes_or_refuses(data)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_truncated_and_flipped_payloads_never_raise_anything_else(data: st.DataObject) -> None:
    datatype = data.draw(st.sampled_from(sorted(STRATEGIES)))
    metric = Metric(name="t", alias=1, datatype=datatype, value=data.draw(STRATEGIES[datatype]))
    valid = encode_payload(timestamp_ms=1, seq=2, metrics=[metric, bdseq_metric(3)])
    cut = data.draw(st.integers(0, len(valid)))
    _decodes_or_refuses(valid[:cut])
    flip = data.draw(st.integers(0, len(valid) - 1))
    _decodes_or_refuses(valid[:flip] + bytes([valid[flip] ^ 0xFF]) + valid[flip + 1 :])


# ----------------------------------------------------------------------------- (f) topics


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("spBv1.0/G1/NDATA/E1", Topic("spBv1.0", "G1", MessageType.NDATA, "E1")),
        ("spBv1.0/G1/NBIRTH/E1", Topic("spBv1.0", "G1", MessageType.NBIRTH, "E1")),
        ("spBv1.0/G1/DDATA/E1/D1", Topic("spBv1.0", "G1", MessageType.DDATA, "E1", "D1")),
        ("spBv1.0/G1/DCMD/E1/D 1", Topic("spBv1.0", "G1", MessageType.DCMD, "E1", "D 1")),
        ("spBv1.0/STATE/scada-1", StateTopic("scada-1")),
    ],
)
def test_good_topics_parse_and_format(text: str, topic: Topic | StateTopic) -> None:
    assert parse_topic(text) == topic
    assert format_topic(topic) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "spAv1.0/G1/NDATA/E1",
        "spBv1.0/G1/NDATA",
        "spBv1.0/G1/NDATA/E1/D1",
        "spBv1.0/G1/DDATA/E1",
        "spBv1.0/G1/XDATA/E1",
        "spBv1.0/G1/STATE/E1",
        "spBv1.0/STATE",
        "spBv1.0/STATE/a/b",
        "spBv1.0//NDATA/E1",
        "spBv1.0/G+/NDATA/E1",
        "spBv1.0/G1/NDATA/#",
        "spBv1.0/G1/DDATA/E1/D1/extra",
    ],
)
def test_bad_topics_raise_decode_error(text: str) -> None:
    with pytest.raises(SparkplugDecodeError):
        parse_topic(text)


def test_format_topic_refuses_what_it_cannot_parse_back() -> None:
    with pytest.raises(ValueError):
        format_topic(Topic("spBv1.0", "G1", MessageType.NDATA, "E1", "D1"))


# ----------------------------------------------------------------------------- helpers


def test_bdseq_and_next_seq() -> None:
    metric = bdseq_metric(255)
    assert (metric.name, metric.datatype, metric.value) == ("bdSeq", DataType.Int64, 255)
    assert [next_seq(s) for s in (0, 254, 255)] == [1, 255, 0]
    with pytest.raises(ValueError):
        bdseq_metric(256)
    with pytest.raises(ValueError):
        next_seq(-1)


def test_docstring_examples() -> None:
    assert doctest.testmod(codec, raise_on_error=True).failed == 0


# ----------------------------------------------------------------------------- quality property


@pytest.mark.parametrize(
    ("code", "sparkplug"),
    [
        (quality.GOOD, 192),
        (quality.BAD_NO_COMMUNICATION, 0),
        (quality.BAD_OUT_OF_RANGE, 0),
        (quality.UNCERTAIN_LAST_USABLE_VALUE, 500),
    ],
)
def test_quality_round_trips_and_the_reference_reads_spec_codes(
    reference_pb2: Any, code: int, sparkplug: int
) -> None:
    metric = Metric(name="m", datatype=DataType.Double, is_null=True, quality=code)
    data = encode_payload(timestamp_ms=1, seq=0, metrics=[metric])
    assert decode_payload(data).metrics == [metric]
    props = reference_pb2.Payload.FromString(data).metrics[0].properties
    assert list(props.keys) == [codec.QUALITY_PROPERTY, codec.STATUS_CODE_PROPERTY]
    # chapter 6, "Quality Codes": type 3 (Int32), int_value 0, 192 or 500
    assert (props.values[0].type, props.values[0].int_value) == (3, sparkplug)
    assert (props.values[1].type, props.values[1].int_value) == (DataType.UInt32, code)


@pytest.mark.parametrize(
    ("sparkplug", "code"),
    [
        (192, quality.GOOD),
        (0, quality.BAD),
        (500, quality.UNCERTAIN_LAST_USABLE_VALUE),
        (quality.BAD_SENSOR_FAILURE, quality.BAD_SENSOR_FAILURE),  # an OPC UA code as is
    ],
)
def test_quality_written_by_others_decodes(reference_pb2: Any, sparkplug: int, code: int) -> None:
    built = reference_pb2.Payload(timestamp=5, seq=1)
    metric = built.metrics.add(name="m", datatype=int(DataType.Float), float_value=1.5)
    metric.properties.keys.extend(["engUnit", "Quality"])
    metric.properties.values.add(type=int(DataType.String), string_value="degC")
    metric.properties.values.add(type=int(DataType.Int32), int_value=sparkplug)
    (decoded,) = decode_payload(built.SerializeToString()).metrics
    assert (decoded.value, decoded.quality) == (1.5, code)


def test_metric_without_quality_property_has_none() -> None:
    msg = schema.Payload(timestamp=1, seq=0)
    metric = msg.metrics.add(name="m", datatype=int(DataType.Double), double_value=1.0)
    metric.properties.keys.append("engUnit")
    metric.properties.values.add(type=int(DataType.String), string_value="bar")
    assert decode_payload(msg.SerializeToString()).metrics[0].quality is None


@pytest.mark.parametrize(
    ("keys", "value", "reason"),
    [
        (["Quality", "extra"], {"type": 3, "int_value": 0}, "2 property keys but 1 values"),
        (["Quality"], {"type": 12, "string_value": "bad"}, "not an int"),
    ],
)
def test_malformed_quality_properties_raise(
    keys: list[str], value: dict[str, Any], reason: str
) -> None:
    msg = schema.Payload(timestamp=1, seq=0)
    metric = msg.metrics.add(name="m", datatype=int(DataType.Double), double_value=1.0)
    metric.properties.keys.extend(keys)
    metric.properties.values.add(**value)
    with pytest.raises(SparkplugDecodeError, match=reason):
        decode_payload(msg.SerializeToString())


def test_quality_must_be_a_uint32() -> None:
    with pytest.raises(ValueError, match="quality"):
        encode_payload(
            timestamp_ms=1,
            seq=0,
            metrics=[Metric(name="m", datatype=DataType.Double, value=1.0, quality=-1)],
        )
