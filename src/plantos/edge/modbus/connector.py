"""Modbus TCP connector: polls the spec's groups on their own intervals, read-only.

Each poll group is planned once into as few reads as possible
(:func:`~plantos.edge.modbus.codec.plan_reads`); each read is decoded with
:func:`~plantos.edge.modbus.codec.decode_block`. A Modbus exception response
spoils only the tags of that read (NaN, a Bad quality naming the reason); a lost
link or a timeout raises, and the supervisor marks every tag bad and reconnects.

Exception codes map to OPC UA status codes (OPC 10000-4, 7.39):

====  =========================  ==========================
code  Modbus                     OPC UA
====  =========================  ==========================
1     Illegal function           BadNotSupported 0x803D0000
2     Illegal data address       BadOutOfRange 0x803C0000
3     Illegal data value         BadOutOfRange 0x803C0000
4     Server device failure      BadDeviceFailure 0x808B0000
6     Server device busy         BadResourceUnavailable 0x80040000
10    Gateway path unavailable   BadNoCommunication 0x80310000
11    Gateway target no answer   BadNoCommunication 0x80310000
else                             Bad 0x80000000
====  =========================  ==========================
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S, Clock
from plantos.edge.modbus.codec import RegisterField, decode_block, plan_reads
from plantos.edge.modbus.config import BIT_TABLES, ModbusTcpSpec, PollGroup, Table

if TYPE_CHECKING:
    from pymodbus.client import AsyncModbusTcpClient
    from pymodbus.pdu import ModbusPDU

BAD_NOT_SUPPORTED = 0x803D_0000
BAD_DEVICE_FAILURE = 0x808B_0000
BAD_RESOURCE_UNAVAILABLE = 0x8004_0000

EXCEPTION_QUALITY = {
    1: BAD_NOT_SUPPORTED,
    2: quality.BAD_OUT_OF_RANGE,
    3: quality.BAD_OUT_OF_RANGE,
    4: BAD_DEVICE_FAILURE,
    6: BAD_RESOURCE_UNAVAILABLE,
    10: quality.BAD_NO_COMMUNICATION,
    11: quality.BAD_NO_COMMUNICATION,
}
"""Modbus exception code to the OPC UA status code given to the read's tags."""

_MAX_PER_READ: dict[Table, int] = {"holding": 125, "input": 125, "coil": 2000, "discrete": 2000}
_READ_METHOD: dict[Table, str] = {
    "holding": "read_holding_registers",
    "input": "read_input_registers",
    "coil": "read_coils",
    "discrete": "read_discrete_inputs",
}


@dataclass(frozen=True, slots=True)
class _Read:
    start: int
    count: int
    fields: tuple[RegisterField, ...]
    tag_ids: npt.NDArray[np.int32]


@dataclass(slots=True)
class _Group:
    table: Table
    interval_ns: int
    reads: list[_Read]
    next_due_ns: int | None = field(default=None)


class ModbusTcpConnector:
    """Reads the tags of one :class:`ModbusTcpSpec`; implements the ``Connector`` port.

    ``tag_ids`` maps every tag path in the spec to its id; a path missing from it
    raises :class:`ValueError` here, not at the first poll. ``interval_s`` is the
    shortest group interval; each :meth:`collect` reads only the groups that are due
    by ``clock``.
    """

    def __init__(self, spec: ModbusTcpSpec, tag_ids: Mapping[str, int], *, clock: Clock) -> None:
        self.spec = spec
        self.name = spec.name
        self.clock = clock
        self._groups = [_plan_group(group, tag_ids) for group in spec.poll_groups]
        self.tag_ids: Sequence[int] = [
            tag_ids[tag.tag] for group in spec.poll_groups for tag in group.tags
        ]
        self._base_ns = min(group.interval_ns for group in self._groups)
        self.interval_s = self._base_ns / NS_PER_S
        self._client: AsyncModbusTcpClient | None = None
        self.reads = 0
        self.registers_read = 0
        self.exception_responses = 0
        self.timeouts = 0
        self.last_poll_ms: float | None = None

    async def connect(self) -> None:
        """Open the TCP link; pymodbus's own reconnecting and retries are off (the
        supervisor does that). pymodbus is imported here, so the spec and the plan
        need no Modbus library."""
        from pymodbus.client import AsyncModbusTcpClient

        client = AsyncModbusTcpClient(
            self.spec.host,
            port=self.spec.port,
            timeout=self.spec.timeout / NS_PER_S,
            retries=0,
            reconnect_delay=0,
            name=self.name,
        )
        if not await client.connect():
            client.close()
            raise ConnectionError(
                f"modbus-tcp {self.name}: cannot connect to {self.spec.host}:{self.spec.port}"
            )
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def collect(self) -> SampleBatch:
        """Samples of every group due now; an empty batch when none is due."""
        started = time.perf_counter()
        now = self.clock.now_ns()
        due = [
            g
            for g in self._groups
            if g.next_due_ns is None or now + self._base_ns // 2 >= g.next_due_ns
        ]
        batches = [await self._read(group.table, read) for group in due for read in group.reads]
        for group in due:
            _schedule(group, now)
        self.last_poll_ms = (time.perf_counter() - started) * 1000
        return SampleBatch.concat(batches)

    async def _read(self, table: Table, read: _Read) -> SampleBatch:
        client = self._client
        if client is None or not client.connected:
            raise ConnectionError(f"modbus-tcp {self.name}: not connected")
        from pymodbus.exceptions import ModbusIOException

        method = getattr(client, _READ_METHOD[table])
        try:
            response: ModbusPDU = await method(
                read.start, count=read.count, device_id=self.spec.unit
            )
        except ModbusIOException:
            self.timeouts += 1
            raise
        now = self.clock.now_ns()
        self.reads += 1
        n = len(read.fields)
        if response.isError():
            self.exception_responses += 1
            code = EXCEPTION_QUALITY.get(int(getattr(response, "exception_code", 0)), quality.BAD)
            return SampleBatch.of(
                read.tag_ids, np.full(n, now), np.full(n, np.nan), np.full(n, code)
            )
        words = response.bits[: read.count] if table in BIT_TABLES else response.registers
        self.registers_read += len(words)
        values = decode_block(words, read.start, read.fields)
        return SampleBatch.of(read.tag_ids, np.full(n, now), values)

    def metrics(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "registers_read": self.registers_read,
            "exception_responses": self.exception_responses,
            "timeouts": self.timeouts,
            "last_poll_ms": self.last_poll_ms,
        }


def _schedule(group: _Group, now_ns: int) -> None:
    """Next due time on the group's own grid; a grid point already missed is skipped."""
    due = (now_ns if group.next_due_ns is None else group.next_due_ns) + group.interval_ns
    group.next_due_ns = due if due > now_ns else now_ns + group.interval_ns


def _plan_group(group: PollGroup, tag_ids: Mapping[str, int]) -> _Group:
    missing = [tag.tag for tag in group.tags if tag.tag not in tag_ids]
    if missing:
        raise ValueError(f"unknown tag path(s) in modbus spec: {', '.join(missing)}")
    fields = group.fields()
    ids = {tag.tag: tag_ids[tag.tag] for tag in group.tags}
    plan = plan_reads(fields, max_registers=_MAX_PER_READ[group.table], max_gap=group.max_gap)
    starts = [start for start, _ in plan]
    members: list[list[RegisterField]] = [[] for _ in plan]
    for f in fields:
        members[bisect.bisect_right(starts, f.address) - 1].append(f)
    reads = [
        _Read(start, count, tuple(fs), np.array([ids[f.name] for f in fs], dtype=np.int32))
        for (start, count), fs in zip(plan, members, strict=True)
    ]
    return _Group(group.table, group.interval, reads)
