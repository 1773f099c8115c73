"""MTConnect: read machine tools through an MTConnect agent's HTTP interface.

``documents`` parses probe, streams and error documents (pure, namespace-agnostic, safe
against oversized documents and entity expansion); ``client`` polls an agent into
``SampleBatch`` values, following its sequence numbers across restarts and buffer overruns.
"""

from plantos.edge.mtconnect.client import MTConnectClient, Position
from plantos.edge.mtconnect.documents import (
    AgentError,
    DataItemInfo,
    ErrorDocument,
    Header,
    MTConnectError,
    Observation,
    StreamsDocument,
    parse_error,
    parse_probe,
    parse_response,
    parse_streams,
)

__all__ = [
    "AgentError",
    "DataItemInfo",
    "ErrorDocument",
    "Header",
    "MTConnectClient",
    "MTConnectError",
    "Observation",
    "Position",
    "StreamsDocument",
    "parse_error",
    "parse_probe",
    "parse_response",
    "parse_streams",
]
