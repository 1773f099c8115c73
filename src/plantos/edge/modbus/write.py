"""Writing one value to holding registers: the Modbus TCP half of PlantOS's single OT write
path (``plantos.security.ot_write``), never called by a connector, which only reads."""

from __future__ import annotations

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from plantos.edge.modbus.codec import RegisterField, encode_value


async def write_holding(
    *, host: str, port: int, unit: int, field: RegisterField, value: float, timeout_s: float
) -> list[int]:
    """Encode ``value`` for ``field`` and write it (function 16); the words written.
    :class:`ConnectionError` when the device cannot be reached or refuses the write."""
    words = encode_value(field, value)
    client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
    try:
        if not await client.connect():
            raise ConnectionError(f"cannot reach Modbus TCP device {host}:{port}")
        try:
            answer = await client.write_registers(field.address, words, device_id=unit)
        except ModbusException as exc:
            raise ConnectionError(f"Modbus TCP device {host}:{port}: {exc}") from exc
        if answer.isError():
            raise ConnectionError(f"Modbus TCP device {host}:{port} refused the write: {answer}")
    finally:
        client.close()
    return words
