"""Real Modbus TCP peers for tests.

:class:`ModbusServer` is a pymodbus server on 127.0.0.1 whose holding register map may
have holes (addresses the device answers with exception 2, illegal data address), and
which stops and starts again on the same port to play a device restart.
:class:`ShortAnswerDevice` is a bare Modbus TCP responder that answers every read of
holding registers with fewer registers than asked, as broken gateways do.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.support.ports import free_port

Holding = Sequence[int | None]
"""One entry per address from 0: the register's value, or None for a hole."""


def holding_blocks(holding: Holding) -> list[SimData]:
    """Runs of readable registers, and holes marked invalid, as pymodbus blocks."""
    blocks: list[SimData] = []
    address = 0
    while address < len(holding):
        end = address
        hole = holding[address] is None
        while end < len(holding) and (holding[end] is None) == hole:
            end += 1
        if hole:
            blocks.append(SimData(address, count=end - address, datatype=DataType.INVALID))
        else:
            values = [int(v) for v in holding[address:end] if v is not None]
            blocks.append(SimData(address, values=values, datatype=DataType.REGISTERS))
        address = end
    return blocks


def sim_device(holding: Holding, *, unit: int = 1) -> SimDevice:
    coils = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    discrete = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
    inputs = [SimData(0, values=[0] * 10, datatype=DataType.REGISTERS)]
    return SimDevice(id=unit, simdata=(coils, discrete, holding_blocks(holding), inputs))


class ModbusServer:
    """A pymodbus TCP server on a fixed free port; ``holding`` may be replaced between a
    :meth:`stop` and a :meth:`start`, as a device whose map changed on restart."""

    def __init__(self, holding: Holding, *, port: int | None = None) -> None:
        self.holding = holding
        self.port = port or free_port()
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        server = ModbusTcpServer(sim_device(self.holding), address=("127.0.0.1", self.port))
        await server.serve_forever(background=True)
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ShortAnswerDevice:
    """Answers function 3 (read holding registers) with ``answer`` whatever was asked:
    a Modbus TCP frame that is well formed but short."""

    def __init__(self, answer: Sequence[int]) -> None:
        self.answer = list(answer)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                header = await reader.readexactly(7)
                transaction, _protocol, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                data = struct.pack(f">{len(self.answer)}H", *self.answer)
                reply = bytes([pdu[0], len(data)]) + data
                writer.write(struct.pack(">HHHB", transaction, 0, len(reply) + 1, unit) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    async def __aenter__(self) -> ShortAnswerDevice:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
                await writer.wait_closed()
            await self._server.wait_closed()
