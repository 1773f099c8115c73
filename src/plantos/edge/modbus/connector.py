"""Modbus TCP connector: polls the spec's groups on their own intervals, read-only.

Each poll group is planned once into as few reads as possible
(:func:`~plantos.edge.modbus.codec.plan_reads`); each read is decoded with
:func:`~plantos.edge.modbus.samples.decode_samples`, exact integers and text
included. A read the device refuses as a bad address is split until only the
refused tags are Bad (:mod:`~plantos.edge.modbus.blocks`); other exception
responses spoil only the tags of that read (NaN, a Bad quality naming the
reason). An answer too short for its tags, or a string that is not UTF-8, makes
only the tags it concerns Bad (``BadDecodingError``) and is counted. A request
unanswered within the spec's ``timeout`` is sent again on the same connection, with the
same transaction id, up to ``retries`` times: a late answer to the first sending is
taken as the answer, so one slow answer delays a poll but loses nothing, and is counted
(``retried_reads``). A lost link, or a request still unanswered after its retries,
raises, and the supervisor marks every tag bad and reconnects.

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

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from plantos.core.batch import SampleBatch
from plantos.core.clock import NS_PER_S, Clock
from plantos.edge.modbus.blocks import (
    BAD_DEVICE_FAILURE,
    BAD_NOT_SUPPORTED,
    BAD_RESOURCE_UNAVAILABLE,
    EXCEPTION_NAMES,
    EXCEPTION_QUALITY,
    Block,
    Read,
)
from plantos.edge.modbus.codec import RegisterField, plan_reads
from plantos.edge.modbus.config import BIT_TABLES, ModbusTcpSpec, PollGroup, Table
from plantos.edge.modbus.samples import decode_samples

if TYPE_CHECKING:
    from pymodbus.client import AsyncModbusTcpClient
    from pymodbus.pdu import ModbusPDU

__all__ = [
    "BAD_DECODING_ERROR",
    "BAD_DEVICE_FAILURE",
    "BAD_NOT_SUPPORTED",
    "BAD_RESOURCE_UNAVAILABLE",
    "EXCEPTION_QUALITY",
    "ModbusTcpConnector",
]

logger = logging.getLogger(__name__)

BAD_DECODING_ERROR = 0x8007_0000
"""OPC UA BadDecodingError: the device answered, but not with a value of the tag's type."""

_MAX_PER_READ: dict[Table, int] = {"holding": 125, "input": 125, "coil": 2000, "discrete": 2000}
_READ_METHOD: dict[Table, str] = {
    "holding": "read_holding_registers",
    "input": "read_input_registers",
    "coil": "read_coils",
    "discrete": "read_discrete_inputs",
}


@dataclass(slots=True)
class _Group:
    table: Table
    interval_ns: int
    blocks: list[Block]
    next_due_ns: int | None = field(default=None)


class ModbusTcpConnector:
    """Reads the tags of one :class:`ModbusTcpSpec`; implements the ``Connector`` port.

    ``tag_ids`` maps every tag path in the spec to its id; a path missing from it
    raises :class:`ValueError` here, not at the first poll. ``interval_s`` is the
    shortest group interval; each :meth:`collect` reads only the groups that are due
    by ``clock``. A tag the device refuses, or cannot give in its type, is logged
    once (and again once it reads), not at every poll.
    """

    def __init__(self, spec: ModbusTcpSpec, tag_ids: Mapping[str, int], *, clock: Clock) -> None:
        self.spec = spec
        self.name = spec.name
        self.clock = clock
        self._groups = [
            _plan_group(group, tag_ids, spec.refused_retry) for group in spec.poll_groups
        ]
        self.tag_ids: Sequence[int] = [
            tag_ids[tag.tag] for group in spec.poll_groups for tag in group.tags
        ]
        self._base_ns = min(group.interval_ns for group in self._groups)
        self.interval_s = self._base_ns / NS_PER_S
        self._client: AsyncModbusTcpClient | None = None
        self._refused: dict[str, str] = {}  # tag -> "table address[-last]"
        self._undecodable: set[str] = set()
        self.reads = 0
        self.registers_read = 0
        self.exception_responses = 0
        self.timeouts = 0
        self.retried_reads = 0
        self.short_answers = 0
        self.undecodable_values = 0
        self.last_poll_ms: float | None = None

    async def connect(self) -> None:
        """Open the TCP link; pymodbus's own reconnecting is off (the supervisor does
        that), its resending of an unanswered request is the spec's ``retries``. pymodbus
        is imported here, so the spec and the plan need no Modbus library."""
        from pymodbus.client import AsyncModbusTcpClient

        client = AsyncModbusTcpClient(
            self.spec.host,
            port=self.spec.port,
            timeout=self.spec.timeout / NS_PER_S,
            retries=self.spec.retries,
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
        batches: list[SampleBatch] = []
        for group in due:
            reader = partial(self._read, group.table)
            for block in group.blocks:
                batches += await block.poll(reader, now)
        for group in due:
            _schedule(group, now)
        self._note_refusals(due)
        self.last_poll_ms = (time.perf_counter() - started) * 1000
        return SampleBatch.concat(batches)

    async def _read(self, table: Table, read: Read) -> SampleBatch | int:
        """The samples of one read, or the exception code the device answered with."""
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
        self.reads += 1
        if getattr(response, "retries", 0):
            self.retried_reads += 1
        if response.isError():
            self.exception_responses += 1
            return int(getattr(response, "exception_code", 0))
        words = response.bits[: read.count] if table in BIT_TABLES else response.registers
        self.registers_read += len(words)
        return self._decode(table, read, words)

    def _decode(self, table: Table, read: Read, words: Sequence[int]) -> SampleBatch:
        now = self.clock.now_ns()
        n = len(read.fields)
        fits = np.array([f.address + f.width <= read.start + len(words) for f in read.fields])
        if not fits.all():
            self.short_answers += 1
            logger.warning(
                "modbus-tcp %s: asked %s %d..%d, the device answered %d of %d registers",
                self.name,
                table,
                read.start,
                read.start + read.count - 1,
                len(words),
                read.count,
            )
        inside = [f for f, ok in zip(read.fields, fits, strict=True) if ok]
        decoded = decode_samples(words, read.start, inside)
        value = np.full(n, np.nan)
        value[fits] = decoded.value
        codes = np.where(fits, 0, BAD_DECODING_ERROR).astype(np.uint32)
        exact = None
        if decoded.exact is not None:
            exact = np.full(n, None, dtype=object)
            exact[fits] = decoded.exact
        positions = np.flatnonzero(fits)
        for i, reason in decoded.undecodable.items():
            codes[positions[i]] = BAD_DECODING_ERROR
            self._note_undecodable(inside[i], reason)
        self._undecodable -= {f.name for f in inside} - {
            inside[i].name for i in decoded.undecodable
        }
        return SampleBatch.of(read.tag_ids, np.full(n, now), value, codes, exact)

    def _note_undecodable(self, f: RegisterField, reason: str) -> None:
        self.undecodable_values += 1
        if f.name not in self._undecodable:
            self._undecodable.add(f.name)
            logger.warning("modbus-tcp %s: tag %s is Bad: %s", self.name, f.name, reason)

    def _note_refusals(self, groups: list[_Group]) -> None:
        """Log each tag the device starts or stops refusing, once."""
        now_refused: dict[str, str] = {}
        for group in groups:
            for block in group.blocks:
                for f, code in block.refused:
                    where = _where(group.table, f)
                    now_refused[f.name] = where
                    if f.name not in self._refused:
                        logger.warning(
                            "modbus-tcp %s: the device refuses tag %s at %s (exception %d, %s);"
                            " the tag is Bad, the rest of its block is read around it",
                            self.name,
                            f.name,
                            where,
                            code,
                            EXCEPTION_NAMES.get(code, "unknown"),
                        )
                for f in block.read.fields:
                    if f.name in self._refused and f.name not in now_refused:
                        logger.warning(
                            "modbus-tcp %s: tag %s at %s reads again",
                            self.name,
                            f.name,
                            self._refused[f.name],
                        )
                        del self._refused[f.name]
        self._refused.update(now_refused)

    def metrics(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "registers_read": self.registers_read,
            "exception_responses": self.exception_responses,
            "timeouts": self.timeouts,
            "retried_reads": self.retried_reads,
            "refused_tags": len(self._refused),
            "refused_addresses": ", ".join(sorted(set(self._refused.values()))),
            "block_splits": sum(b.splits for g in self._groups for b in g.blocks),
            "short_answers": self.short_answers,
            "undecodable_values": self.undecodable_values,
            "last_poll_ms": self.last_poll_ms,
        }


def _where(table: Table, f: RegisterField) -> str:
    last = f.address + f.width - 1
    return f"{table} {f.address}" + (f"-{last}" if last > f.address else "")


def _schedule(group: _Group, now_ns: int) -> None:
    """Next due time on the group's own grid; a grid point already missed is skipped."""
    due = (now_ns if group.next_due_ns is None else group.next_due_ns) + group.interval_ns
    group.next_due_ns = due if due > now_ns else now_ns + group.interval_ns


def _plan_group(group: PollGroup, tag_ids: Mapping[str, int], retry_ns: int) -> _Group:
    missing = [tag.tag for tag in group.tags if tag.tag not in tag_ids]
    if missing:
        raise ValueError(f"unknown tag path(s) in modbus spec: {', '.join(missing)}")
    fields = group.fields()
    ids = {tag.tag: tag_ids[tag.tag] for tag in group.tags}
    plan = plan_reads(fields, max_registers=_MAX_PER_READ[group.table], max_gap=group.max_gap)
    members: list[list[RegisterField]] = [[] for _ in plan]
    for f in fields:
        # the read holding the whole field (overlapping fields may need overlapping reads)
        i = next(
            i
            for i, (start, count) in enumerate(plan)
            if start <= f.address and f.address + f.width <= start + count
        )
        members[i].append(f)
    blocks = [Block(Read.covering(fs, ids), retry_ns=retry_ns) for fs in members]
    return _Group(group.table, group.interval, blocks)
