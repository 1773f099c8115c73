"""Sparkplug B payloads and topics as pure functions: bytes in, dataclasses out, and back.

Nothing here touches MQTT. Decoding is strict: anything that is not a well
formed Sparkplug B payload raises :class:`SparkplugDecodeError` with a plain
sentence, never a protobuf or ``struct`` exception. Encoding checks its
arguments and raises ``ValueError``/``TypeError`` that show the bad value.

Signed integers (Int8, Int16, Int32, Int64). Chapter 6 ("Datatype Details")
carries them in the unsigned protobuf fields ``int_value`` (uint32) and
``long_value`` (uint64) without saying how a negative value is written; the
array types of the same chapter store signed values as two's complement of
their own width. This codec writes a signed value as the two's complement of
its width (Int8 -1 is ``int_value`` 255, Int16 -1 is 65535, Int32 -1 is
4294967295, Int64 -1 is ``long_value`` 2**64 - 1). When decoding it also
accepts an Int8 or Int16 value sign-extended to 32 bits (Int8 -1 as
4294967295), which is what a writer produces that widens the value to a
32-bit int before storing it; any other value outside the width is an error.

Quality. ``Metric.quality`` is an OPC UA status code (as in ``plantos.core.quality``).
Chapter 6 ("Quality Codes") allows only the Int32 property ``Quality`` with 0 (BAD),
192 (GOOD) or 500 (STALE), which loses the reason, so the codec writes both that
property and the UInt32 property :data:`STATUS_CODE_PROPERTY` with the exact code.
Decoding prefers the exact code; failing that, ``Quality`` 192, 0 and 500 become
Good, Bad and UncertainLastUsableValue, and any other value is taken as an OPC UA
status code itself (what writers do that put the OPC UA code in ``Quality``).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from google.protobuf.message import DecodeError

from plantos.core import quality as opcua
from plantos.core.errors import PlantOSError
from plantos.edge.sparkplug import schema

NAMESPACE = "spBv1.0"
REBIRTH_METRIC = "Node Control/Rebirth"
STREAM_SEQ_METRIC = "PlantOS/Stream Seq"
STREAM_PARTS = 4096
"""A UInt64 metric a PlantOS edge node adds to each NDATA/DDATA it sends for a numbered
batch (the gateway's spool sequence number ``n``): ``n * STREAM_PARTS + part``, where
``part`` counts the messages one batch was split into for one node or device. The value
is strictly increasing per edge node (and device) across reconnects and restarts, so a
PlantOS host drops a message it has already seen instead of writing its samples twice,
and the parts of one batch never look like repeats of each other. Other hosts see one
more metric and may ignore it."""
QUALITY_PROPERTY = "Quality"
STATUS_CODE_PROPERTY = "PlantOS/StatusCode"
"""A UInt32 metric property with the sample's exact OPC UA status code (see the module doc)."""
_SPARKPLUG_BAD, _SPARKPLUG_GOOD, _SPARKPLUG_STALE = 0, 192, 500
_FROM_SPARKPLUG_QUALITY = {
    _SPARKPLUG_BAD: opcua.BAD,
    _SPARKPLUG_GOOD: opcua.GOOD,
    _SPARKPLUG_STALE: opcua.UNCERTAIN_LAST_USABLE_VALUE,
}
_U64 = 2**64


class SparkplugDecodeError(PlantOSError):
    """Bytes or a topic that are not valid Sparkplug B."""


class DataType(IntEnum):
    """Sparkplug B metric datatypes, numbered as in chapter 6 of the specification."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


@dataclass(frozen=True, slots=True)
class UnsupportedValue:
    """Stands in for a value this codec does not unpack (DataSet, Template, extensions)."""

    datatype: DataType


Value = int | float | bool | str | bytes | tuple[Any, ...] | UnsupportedValue | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric; ``value`` is None exactly when ``is_null`` (arrays are tuples).

    ``quality`` is the value's OPC UA status code, None when the sender stated none
    (Sparkplug: Good); it travels as metric properties (see the module doc).
    """

    name: str | None = None
    alias: int | None = None
    timestamp_ms: int | None = None
    datatype: DataType
    value: Value = None
    is_historical: bool = False
    is_transient: bool = False
    is_null: bool = False
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """A decoded payload; fields the sender left out are None."""

    timestamp_ms: int | None
    seq: int | None
    metrics: list[Metric] = field(default_factory=list)
    uuid: str | None = None
    body: bytes | None = None


# ----------------------------------------------------------------------------- scalars


@dataclass(frozen=True, slots=True)
class _Scalar:
    field: str
    to_wire: Callable[[Any], Any]
    from_wire: Callable[[Any], Any]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unsigned(bits: int) -> _Scalar:
    top = 1 << bits

    def to_wire(value: Any) -> int:
        if not _is_int(value) or not 0 <= value < top:
            raise ValueError(f"{value!r} is not an unsigned {bits}-bit integer")
        return int(value)

    def from_wire(raw: int) -> int:
        if raw >= top:
            raise SparkplugDecodeError(f"{raw} does not fit an unsigned {bits}-bit integer.")
        return raw

    return _Scalar("int_value" if bits <= 32 else "long_value", to_wire, from_wire)


def _signed(bits: int) -> _Scalar:
    top, half = 1 << bits, 1 << (bits - 1)

    def to_wire(value: Any) -> int:
        if not _is_int(value) or not -half <= value < half:
            raise ValueError(f"{value!r} is not a signed {bits}-bit integer")
        return int(value) % top

    def from_wire(raw: int) -> int:
        if raw < top:
            return raw - top if raw >= half else raw
        if bits < 32 and raw >= 2**32 - half:  # sign-extended to 32 bits
            return raw - 2**32
        raise SparkplugDecodeError(f"{raw} does not fit a signed {bits}-bit integer.")

    return _Scalar("int_value" if bits <= 32 else "long_value", to_wire, from_wire)


def _typed(field_name: str, *types: type) -> _Scalar:
    def to_wire(value: Any) -> Any:
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise TypeError(f"{value!r} is not {names}")
        return value

    return _Scalar(field_name, to_wire, lambda raw: raw)


def _float32(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a float")
    if math.isfinite(value) and abs(value) > 3.4028234663852886e38:
        raise ValueError(f"{value!r} does not fit a 32-bit float")
    return float(value)


def _array(fmt: str) -> _Scalar:
    size = struct.calcsize("<" + fmt)

    def to_wire(value: Any) -> bytes:
        try:
            return struct.pack(f"<{len(value)}{fmt}", *value)
        except (struct.error, TypeError) as exc:
            raise ValueError(f"{value!r} cannot be packed as '{fmt}' values: {exc}") from exc

    def from_wire(raw: bytes) -> tuple[Any, ...]:
        if len(raw) % size:
            raise SparkplugDecodeError(
                f"{len(raw)} bytes is not a whole number of {size}-byte items."
            )
        return struct.unpack(f"<{len(raw) // size}{fmt}", raw)

    return _Scalar("bytes_value", to_wire, from_wire)


def _bool_array_to_wire(value: Any) -> bytes:
    bits = bytearray((len(value) + 7) // 8)
    for i, item in enumerate(value):
        if not isinstance(item, bool):
            raise TypeError(f"{item!r} in a BooleanArray is not a bool")
        if item:
            bits[i // 8] |= 0x80 >> (i % 8)
    return struct.pack("<I", len(value)) + bytes(bits)


def _bool_array_from_wire(raw: bytes) -> tuple[bool, ...]:
    if len(raw) < 4:
        raise SparkplugDecodeError("A BooleanArray needs a 4-byte count.")
    (count,) = struct.unpack_from("<I", raw)
    if len(raw) - 4 != (count + 7) // 8:
        raise SparkplugDecodeError(f"A BooleanArray of {count} values has {len(raw) - 4} bytes.")
    return tuple(bool(raw[4 + i // 8] & (0x80 >> (i % 8))) for i in range(count))


def _string_array_to_wire(value: Any) -> bytes:
    if any(not isinstance(s, str) or "\0" in s for s in value):
        raise ValueError(f"{value!r} must hold strings without NUL characters")
    return b"".join(s.encode() + b"\0" for s in value)


def _string_array_from_wire(raw: bytes) -> tuple[str, ...]:
    if raw and not raw.endswith(b"\0"):
        raise SparkplugDecodeError("A StringArray must end with a NUL byte.")
    try:
        return tuple(part.decode() for part in raw.split(b"\0")[:-1])
    except UnicodeDecodeError as exc:
        raise SparkplugDecodeError("A StringArray holds bytes that are not UTF-8.") from exc


_STR = _typed("string_value", str)
_BYTES = _typed("bytes_value", bytes)
_SCALARS: dict[DataType, _Scalar] = {
    DataType.Int8: _signed(8),
    DataType.Int16: _signed(16),
    DataType.Int32: _signed(32),
    DataType.Int64: _signed(64),
    DataType.UInt8: _unsigned(8),
    DataType.UInt16: _unsigned(16),
    DataType.UInt32: _unsigned(32),
    DataType.UInt64: _unsigned(64),
    DataType.DateTime: _unsigned(64),
    DataType.Float: _Scalar("float_value", _float32, lambda raw: raw),
    DataType.Double: _Scalar("double_value", _typed("", float, int).to_wire, lambda raw: raw),
    DataType.Boolean: _typed("boolean_value", bool),
    DataType.String: _STR,
    DataType.Text: _STR,
    DataType.UUID: _STR,
    DataType.Bytes: _BYTES,
    DataType.File: _BYTES,
    DataType.Int8Array: _array("b"),
    DataType.Int16Array: _array("h"),
    DataType.Int32Array: _array("i"),
    DataType.Int64Array: _array("q"),
    DataType.UInt8Array: _array("B"),
    DataType.UInt16Array: _array("H"),
    DataType.UInt32Array: _array("I"),
    DataType.UInt64Array: _array("Q"),
    DataType.FloatArray: _array("f"),
    DataType.DoubleArray: _array("d"),
    DataType.DateTimeArray: _array("Q"),
    DataType.BooleanArray: _Scalar("bytes_value", _bool_array_to_wire, _bool_array_from_wire),
    DataType.StringArray: _Scalar("bytes_value", _string_array_to_wire, _string_array_from_wire),
}
_UNPACKED_FIELDS = {DataType.DataSet: "dataset_value", DataType.Template: "template_value"}


# ----------------------------------------------------------------------------- payloads


def _check_uint(label: str, value: int | None, top: int = _U64) -> None:
    if value is not None and (not _is_int(value) or not 0 <= value < top):
        raise ValueError(f"{label} must be an integer in [0, {top}), got {value!r}")


def _encode_metric(metric: Metric, out: Any, *, include_datatype: bool) -> None:
    if metric.name is None and metric.alias is None:
        raise ValueError(f"{metric!r} needs a name or an alias")
    _check_uint("alias", metric.alias)
    _check_uint("timestamp_ms", metric.timestamp_ms)
    if metric.name is not None:
        out.name = metric.name
    if metric.alias is not None:
        out.alias = metric.alias
    if metric.timestamp_ms is not None:
        out.timestamp = metric.timestamp_ms
    if include_datatype:
        out.datatype = int(metric.datatype)
    for flag in ("is_historical", "is_transient"):
        if getattr(metric, flag):
            setattr(out, flag, True)
    if metric.quality is not None:
        encode_quality(metric.quality, out.properties)
    if metric.is_null:
        if metric.value is not None:
            raise ValueError(
                f"{metric.name or metric.alias}: a null metric cannot carry {metric.value!r}"
            )
        out.is_null = True
        return
    scalar = _SCALARS.get(metric.datatype)
    if scalar is None:
        raise TypeError(f"encoding datatype {metric.datatype.name} is not supported")
    setattr(out, scalar.field, scalar.to_wire(metric.value))


def _sparkplug_quality(code: int) -> int:
    severity = opcua.severity(code)
    if severity == "good":
        return _SPARKPLUG_GOOD
    return _SPARKPLUG_STALE if severity == "uncertain" else _SPARKPLUG_BAD


def encode_quality(code: int, out: Any) -> None:
    """Add the ``Quality`` and :data:`STATUS_CODE_PROPERTY` properties for the OPC UA
    status ``code`` to ``out``, a protobuf ``Payload.PropertySet`` (fast encoders that
    build metrics themselves use this so the properties stay the same everywhere)."""
    _check_uint("quality", code, 2**32)
    out.keys.extend([QUALITY_PROPERTY, STATUS_CODE_PROPERTY])
    out.values.add(type=int(DataType.Int32), int_value=_sparkplug_quality(code))
    out.values.add(type=int(DataType.UInt32), int_value=code)


def encode_payload(
    *,
    timestamp_ms: int,
    seq: int | None,
    metrics: Sequence[Metric],
    uuid: str | None = None,
    body: bytes | None = None,
    include_datatype: bool = True,
) -> bytes:
    """Encode one payload; ``seq`` is None only for NDEATH (chapter 6, "seq").

    ``include_datatype=False`` leaves each metric's datatype off the wire, as
    chapter 6 recommends for NDATA/DDATA/NCMD/DCMD; values are still encoded by
    their ``Metric.datatype``.
    """
    _check_uint("timestamp_ms", timestamp_ms)
    _check_uint("seq", seq, 256)
    msg = schema.Payload(timestamp=timestamp_ms)
    if seq is not None:
        msg.seq = seq
    if uuid is not None:
        msg.uuid = uuid
    if body is not None:
        msg.body = body
    for metric in metrics:
        _encode_metric(metric, msg.metrics.add(), include_datatype=include_datatype)
    data: bytes = msg.SerializeToString()
    return data


def _label(pb: Any, index: int) -> str:
    if pb.HasField("name"):
        return f"metric {pb.name!r}"
    return f"metric {index}" + (f" (alias {pb.alias})" if pb.HasField("alias") else "")


def _decode_value(pb: Any, datatype: DataType, where: str) -> Value:
    present = pb.WhichOneof("value")
    if pb.is_null:
        return None
    if present is None:
        raise SparkplugDecodeError(f"The {where} has no value and is not marked null.")
    if datatype is DataType.Unknown:  # no datatype on the wire and none given by the caller
        raw = getattr(pb, present)
        return raw if isinstance(raw, int | float | str | bytes) else UnsupportedValue(datatype)
    scalar = _SCALARS.get(datatype)
    expected = scalar.field if scalar else _UNPACKED_FIELDS.get(datatype, present)
    if present != expected:
        raise SparkplugDecodeError(
            f"The {where} is a {datatype.name} but carries its value in {present}, not {expected}."
        )
    if scalar is None:
        return UnsupportedValue(datatype)
    try:
        value: Value = scalar.from_wire(getattr(pb, present))
    except SparkplugDecodeError as exc:
        raise SparkplugDecodeError(f"The {where}: {exc}") from None
    return value


def _decode_quality(pb: Any, where: str) -> int | None:
    if not pb.HasField("properties"):
        return None
    props = pb.properties
    if len(props.keys) != len(props.values):
        raise SparkplugDecodeError(
            f"The {where} has {len(props.keys)} property keys but {len(props.values)} values."
        )
    found: dict[str, int] = {}
    for key, value in zip(props.keys, props.values, strict=True):
        if key in (QUALITY_PROPERTY, STATUS_CODE_PROPERTY):
            if value.WhichOneof("value") != "int_value":
                raise SparkplugDecodeError(f"The {where} has a {key} property that is not an int.")
            found[key] = value.int_value
    if STATUS_CODE_PROPERTY in found:
        return found[STATUS_CODE_PROPERTY]
    if QUALITY_PROPERTY in found:
        code = found[QUALITY_PROPERTY]
        return _FROM_SPARKPLUG_QUALITY.get(code, code)
    return None


def _decode_metric(pb: Any, index: int, datatypes: Mapping[int | str, DataType]) -> Metric:
    where = _label(pb, index)
    name = pb.name if pb.HasField("name") else None
    alias = pb.alias if pb.HasField("alias") else None
    if name is None and alias is None:
        raise SparkplugDecodeError(f"The {where} has neither a name nor an alias.")
    if pb.HasField("datatype"):
        try:
            datatype = DataType(pb.datatype)
        except ValueError:
            raise SparkplugDecodeError(
                f"The {where} has datatype {pb.datatype}, which Sparkplug B does not define."
            ) from None
    else:
        key: int | str | None = alias if alias is not None else name
        datatype = datatypes.get(key, DataType.Unknown) if key is not None else DataType.Unknown
    return Metric(
        name=name,
        alias=alias,
        timestamp_ms=pb.timestamp if pb.HasField("timestamp") else None,
        datatype=datatype,
        value=_decode_value(pb, datatype, where),
        is_historical=pb.is_historical,
        is_transient=pb.is_transient,
        is_null=pb.is_null,
        quality=_decode_quality(pb, where),
    )


def decode_payload(
    data: bytes, *, datatypes: Mapping[int | str, DataType] | None = None
) -> DecodedPayload:
    """Decode one payload, raising :class:`SparkplugDecodeError` for anything malformed.

    A metric without a datatype on the wire (normal in NDATA) takes it from
    ``datatypes``, keyed by alias or name as announced in the birth; failing
    that it is ``DataType.Unknown`` and its value is the raw protobuf field.
    """
    msg = schema.Payload()
    try:
        msg.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RecursionError) as exc:
        raise SparkplugDecodeError(f"The bytes are not a Sparkplug B payload ({exc}).") from None
    if msg.HasField("seq") and msg.seq > 255:
        raise SparkplugDecodeError(f"The payload seq {msg.seq} is outside 0..255.")
    known = datatypes or {}
    return DecodedPayload(
        timestamp_ms=msg.timestamp if msg.HasField("timestamp") else None,
        seq=msg.seq if msg.HasField("seq") else None,
        metrics=[_decode_metric(pb, i, known) for i, pb in enumerate(msg.metrics)],
        uuid=msg.uuid if msg.HasField("uuid") else None,
        body=msg.body if msg.HasField("body") else None,
    )


def bdseq_metric(value: int, *, timestamp_ms: int | None = None) -> Metric:
    """The ``bdSeq`` metric of the Will Message, NBIRTH and NDEATH (chapter 5): Int64, 0..255."""
    _check_uint("bdSeq", value, 256)
    return Metric(name="bdSeq", timestamp_ms=timestamp_ms, datatype=DataType.Int64, value=value)


def next_seq(seq: int) -> int:
    """The sequence number after ``seq``: 255 wraps to 0.

    >>> next_seq(254), next_seq(255)
    (255, 0)
    """
    _check_uint("seq", seq, 256)
    return (seq + 1) % 256


# ----------------------------------------------------------------------------- topics


class MessageType(StrEnum):
    """The message_type element of a Sparkplug topic (chapter 4)."""

    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    NDATA = "NDATA"
    DDATA = "DDATA"
    NCMD = "NCMD"
    DCMD = "DCMD"
    STATE = "STATE"


@dataclass(frozen=True, slots=True)
class Topic:
    """``namespace/group_id/message_type/edge_node_id[/device_id]``; D* types have a device."""

    namespace: str
    group_id: str
    message_type: MessageType
    edge_node_id: str
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class StateTopic:
    """``spBv1.0/STATE/<host_id>``: a Host Application's online state (chapter 4)."""

    host_id: str
    namespace: str = NAMESPACE


_BAD_ID = re.compile(r"[/+#]")


def _check_id(what: str, value: str, topic: str) -> None:
    if not value or _BAD_ID.search(value):
        raise SparkplugDecodeError(
            f"Topic {topic!r} has {what} {value!r}; it must be non-empty without '/', '+' or '#'."
        )


def parse_topic(topic: str) -> Topic | StateTopic:
    """Split a Sparkplug B topic, raising :class:`SparkplugDecodeError` for anything else.

    >>> topic = parse_topic("spBv1.0/Plant1/DDATA/Line3/Filler")
    >>> topic.group_id, topic.message_type.value, topic.edge_node_id, topic.device_id
    ('Plant1', 'DDATA', 'Line3', 'Filler')
    """
    parts = topic.split("/")
    if parts[0] != NAMESPACE:
        raise SparkplugDecodeError(f"Topic {topic!r} does not start with {NAMESPACE}/.")
    if len(parts) == 3 and parts[1] == MessageType.STATE:
        _check_id("host_id", parts[2], topic)
        return StateTopic(parts[2])
    if len(parts) not in (4, 5):
        raise SparkplugDecodeError(f"Topic {topic!r} does not have 4 or 5 elements.")
    try:
        message_type = MessageType(parts[2])
    except ValueError:
        raise SparkplugDecodeError(
            f"Topic {topic!r} has unknown message type {parts[2]!r}."
        ) from None
    wants_device = message_type.startswith("D")
    if message_type is MessageType.STATE or wants_device != (len(parts) == 5):
        raise SparkplugDecodeError(
            f"Topic {topic!r}: {message_type} must {'' if wants_device else 'not '}name a device."
        )
    for what, value in zip(
        ("group_id", "edge_node_id", "device_id"), parts[1:2] + parts[3:], strict=False
    ):
        _check_id(what, value, topic)
    return Topic(NAMESPACE, parts[1], message_type, parts[3], parts[4] if wants_device else None)


def format_topic(topic: Topic | StateTopic) -> str:
    """The topic string for ``topic``; the inverse of :func:`parse_topic`."""
    if isinstance(topic, StateTopic):
        text = f"{topic.namespace}/STATE/{topic.host_id}"
    else:
        device = f"/{topic.device_id}" if topic.device_id is not None else ""
        text = (
            f"{topic.namespace}/{topic.group_id}/{topic.message_type}/{topic.edge_node_id}{device}"
        )
    try:
        parsed = parse_topic(text)
    except SparkplugDecodeError as exc:
        raise ValueError(str(exc)) from None
    if parsed != topic:
        raise ValueError(f"{topic!r} does not format to a topic that parses back to itself")
    return text
