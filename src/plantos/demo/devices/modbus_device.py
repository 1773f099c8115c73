"""The furnaces as a Modbus TCP server: one pymodbus server, unit 1, holding registers.

Each furnace tag is a float32 (big-endian words, ABCD) in two holding registers, in the
order of :func:`register_map`; the connector spec is generated from the same map, so the
two can never disagree. Modbus carries no timestamps: the registers hold each tag's
latest value, and PlantOS stamps what it reads with its own clock when it polls.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantos.core.batch import SampleBatch
from plantos.edge.modbus.codec import RegisterField, encode_value
from plantos.model import TagDef

UNIT = 1
WRITE_REGISTERS = 16
"""Function code whose table (holding registers) :meth:`ModbusDevice.write` fills."""


def register_map(tags: Sequence[TagDef]) -> dict[str, RegisterField]:
    """Tag path to its float32 field: addresses 0, 2, 4, ... in the order given.

    >>> from plantos.model.plant import TagDef
    >>> t = TagDef("s/a/l/f/temp", "s/a/l/f", "temp", "float", "degC", None, 10**9)
    >>> register_map([t])["s/a/l/f/temp"].address
    0
    """
    return {tag.path: RegisterField(tag.path, 2 * i, "float32") for i, tag in enumerate(tags)}


class ModbusDevice:
    """A Modbus TCP server whose holding registers hold the latest value of each tag."""

    def __init__(self, tags: Sequence[TagDef], tag_ids: dict[str, int], *, port: int) -> None:
        self.port = port
        self.fields = register_map(tags)
        self._by_id = {tag_ids[path]: field for path, field in self.fields.items()}
        self._server: ModbusTcpServer | None = None
        self.writes = 0

    async def start(self) -> None:
        """Listen on 127.0.0.1 (with no tags: no server); raises ``RuntimeError`` if the port
        is taken."""
        if not self.fields:
            return
        registers = [0] * max(2 * len(self.fields), 1)
        holding = [SimData(0, values=registers, datatype=DataType.REGISTERS)]
        coils = [SimData(0, values=[False], datatype=DataType.BITS)]
        inputs = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
        discrete = [SimData(0, values=[False], datatype=DataType.BITS)]
        device = SimDevice(id=UNIT, simdata=(coils, discrete, holding, inputs))
        server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        await server.serve_forever(background=True)
        self._server = server

    async def write(self, batch: SampleBatch) -> None:
        """Put each tag's last value in ``batch`` into its registers."""
        server = self._server
        if server is None:
            return
        for tag_id, value in zip(batch.tag_id.tolist(), batch.value.tolist(), strict=True):
            field = self._by_id.get(tag_id)
            if field is not None:
                words = encode_value(field, value)
                await server.async_setValues(UNIT, WRITE_REGISTERS, field.address, words)
                self.writes += 1

    @property
    def running(self) -> bool:
        return self._server is not None

    async def stop(self) -> None:
        """Close the listener and every client connection (a PLC switched off)."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]
