"""Modbus TCP: the register codec (``codec``), pure and testable alone; the connector follows."""
