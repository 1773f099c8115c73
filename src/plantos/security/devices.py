"""Which device a writable tag is written to: the connector it names, by protocol, looked up
among the plant file's connectors and those the platform runs when the write happens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from plantos.edge.modbus.codec import RegisterField
from plantos.edge.modbus.config import ModbusTcpSpec
from plantos.edge.modbus.write import write_holding
from plantos.edge.opcua.config import OpcUaSpec
from plantos.edge.opcua.write import write_variable
from plantos.security.ot_write import DeviceWriter
from plantos.security.zones import WritableSpec


def spec_named(name: str, specs: Iterable[Any], running: Iterable[Any]) -> Any | None:
    """The connector spec called ``name``: from the plant file, else from a running
    connector (unwrapping a connector that wraps another, as the demo's gate does)."""
    for spec in specs:
        if getattr(spec, "name", None) == name:
            return spec
    for connector in running:
        inner = getattr(connector, "inner", connector)
        if getattr(inner, "name", None) == name:
            return getattr(inner, "spec", None)
    return None


def device_writer(specs: list[Any], running: Callable[[], Iterable[Any]]) -> DeviceWriter:
    """The writer for OPC UA and Modbus TCP targets; ``running`` lists the connectors the
    platform runs at the moment of a write."""

    async def write(writable: WritableSpec, value: float) -> None:
        spec = spec_named(writable.connector, specs, running())
        if isinstance(spec, OpcUaSpec) and writable.node is not None:
            await write_variable(spec, writable.node, value)
        elif isinstance(spec, ModbusTcpSpec) and writable.address is not None:
            field = RegisterField(writable.tag, writable.address, writable.type)
            await write_holding(
                host=spec.host, port=spec.port, unit=spec.unit, field=field, value=value,
                timeout_s=spec.timeout / 1e9,
            )  # fmt: skip
        else:
            raise ConnectionError(f"no OPC UA or Modbus TCP connector {writable.connector!r}")

    return write
