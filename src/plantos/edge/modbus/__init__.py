"""Modbus TCP: the register codec (``codec``), pure and testable alone; the YAML spec
(``config``) and the read-only poller (``connector``)."""

from plantos.edge.modbus.config import ModbusTag, ModbusTcpSpec, PollGroup
from plantos.edge.modbus.connector import EXCEPTION_QUALITY, ModbusTcpConnector

__all__ = ["EXCEPTION_QUALITY", "ModbusTag", "ModbusTcpConnector", "ModbusTcpSpec", "PollGroup"]
