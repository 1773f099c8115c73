"""Sparkplug B: the protobuf schema built in code (``schema``) and a pure payload/topic codec.

Nothing in this package talks MQTT; the connector that does will build on these functions.
"""

from plantos.edge.sparkplug.codec import (
    NAMESPACE,
    DataType,
    DecodedPayload,
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

__all__ = [
    "NAMESPACE",
    "DataType",
    "DecodedPayload",
    "MessageType",
    "Metric",
    "SparkplugDecodeError",
    "StateTopic",
    "Topic",
    "UnsupportedValue",
    "bdseq_metric",
    "decode_payload",
    "encode_payload",
    "format_topic",
    "next_seq",
    "parse_topic",
]
