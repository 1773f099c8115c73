"""Sparkplug B: the protobuf schema built in code (``schema``) and a pure payload/topic codec.

Importing the package does not import MQTT: the host application (``host``) and the
edge node (``node.SparkplugEdgeNode``, ``node.NodeMetric``) are imported from their modules.
"""

from plantos.edge.sparkplug.codec import (
    NAMESPACE,
    QUALITY_PROPERTY,
    REBIRTH_METRIC,
    STATUS_CODE_PROPERTY,
    STREAM_PARTS,
    STREAM_SEQ_METRIC,
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
    encode_quality,
    format_topic,
    next_seq,
    parse_topic,
)

__all__ = [
    "NAMESPACE",
    "QUALITY_PROPERTY",
    "REBIRTH_METRIC",
    "STATUS_CODE_PROPERTY",
    "STREAM_PARTS",
    "STREAM_SEQ_METRIC",
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
    "encode_quality",
    "format_topic",
    "next_seq",
    "parse_topic",
]
