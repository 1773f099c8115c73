"""The protobuf wire tags of the Sparkplug B Payload fields PlantOS reads and writes by hand.

A tag is ``(field number << 3) | wire type``. The columnar decoder (host) and encoder
(edge node) both work on these bytes directly, for speed, so they share one table;
field numbers are those of ``sparkplug_b.proto`` (see :mod:`plantos.edge.sparkplug.schema`).
"""

from __future__ import annotations

TAG_TIMESTAMP = 0x08  # Payload.timestamp, varint
TAG_METRIC = 0x12  # Payload.metrics, length-delimited
TAG_SEQ = 0x18  # Payload.seq, varint
TAG_ALIAS = 0x10  # Metric.alias, varint
TAG_METRIC_TS = 0x18  # Metric.timestamp, varint
TAG_HISTORICAL = 0x28  # Metric.is_historical, varint
TAG_NULL = 0x38  # Metric.is_null, varint
TAG_PROPERTIES = 0x4A  # Metric.properties, length-delimited
TAG_INT = 0x50  # Metric.int_value (uint32), varint
TAG_LONG = 0x58  # Metric.long_value (uint64), varint
TAG_FLOAT = 0x65  # Metric.float_value, fixed32
TAG_DOUBLE = 0x69  # Metric.double_value, fixed64
TAG_BOOL = 0x70  # Metric.boolean_value, varint
TAG_STRING = 0x7A  # Metric.string_value, length-delimited UTF-8
