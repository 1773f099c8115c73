"""OPC UA: subscribe to variables on an OPC UA server (read-only), with message security,
user authentication and browse paths; reconnects are left to the edge supervisor."""

from plantos.edge.opcua.config import OpcUaSpec, OpcUaTagSpec, SecuritySpec, UserSpec
from plantos.edge.opcua.connector import OVERFLOW_POLICY, OpcUaConnector

__all__ = [
    "OVERFLOW_POLICY",
    "OpcUaConnector",
    "OpcUaSpec",
    "OpcUaTagSpec",
    "SecuritySpec",
    "UserSpec",
]
