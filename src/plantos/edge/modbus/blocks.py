"""Read blocks that survive a device refusing part of them.

A poll group is planned into as few reads as possible, and ``max_gap`` lets one read span
registers no tag uses. A device that does not map one of those addresses, or a tag
beyond the end of its register map, answers the whole read with an exception (2, illegal
data address, or 3, illegal data value): without more, one bad address would make every
tag of the block Bad.

So a :class:`Block` splits a refused read in two and reads the halves, again and again
(bisection), until only the fields the device refuses on their own are left: those
become Bad with the exception's status, every other tag reads as usual. The split layout
is kept, so later polls cost one read per piece and none for a refused field (its Bad
sample is repeated without asking); every ``retry_ns`` the whole block is tried again,
so a device that gains registers, or the original plan, comes back by itself. Other
exceptions (device failure, busy, gateway) are transient: they make the read's tags Bad
for this poll and change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.modbus.codec import RegisterField

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

SPLIT_CODES = frozenset({2, 3})
"""Exceptions that say "not these addresses": a read answered so is split and retried."""

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


@dataclass(frozen=True, slots=True, eq=False)
class Read:
    """One request: ``count`` registers from ``start``, decoded into ``fields``."""

    start: int
    count: int
    fields: tuple[RegisterField, ...]
    tag_ids: npt.NDArray[np.int32]

    @classmethod
    def covering(cls, fields: Sequence[RegisterField], ids: Mapping[str, int]) -> Read:
        """The smallest read holding every field of ``fields``."""
        start = min(f.address for f in fields)
        end = max(f.address + f.width for f in fields)
        tag_ids = np.array([ids[f.name] for f in fields], dtype=np.int32)
        return cls(start, end - start, tuple(fields), tag_ids)

    def bad(self, now_ns: int, code: int) -> SampleBatch:
        n = len(self.fields)
        return SampleBatch.of(
            self.tag_ids, np.full(n, now_ns), np.full(n, np.nan), np.full(n, code)
        )

    def halves(self) -> tuple[Read, Read]:
        ordered = sorted(self.fields, key=lambda f: f.address)
        mid = len(ordered) // 2
        ids = dict(zip((f.name for f in self.fields), self.tag_ids.tolist(), strict=True))
        return Read.covering(ordered[:mid], ids), Read.covering(ordered[mid:], ids)


Reader = Callable[[Read], Awaitable[SampleBatch | int]]
"""Performs one read: its samples, or the exception code the device answered with."""


@dataclass(frozen=True, slots=True, eq=False)
class Piece:
    """Part of a block's layout; ``refused`` is the exception code of a one-field read
    the device refuses, which is not asked again until the block is retried whole."""

    read: Read
    refused: int | None = None


class Block:
    """One planned read and the layout it is read with now (see the module)."""

    def __init__(self, read: Read, *, retry_ns: int) -> None:
        self.read = read
        self.retry_ns = retry_ns
        self.pieces = [Piece(read)]
        self.split_at_ns: int | None = None
        self.splits = 0

    @property
    def refused(self) -> list[tuple[RegisterField, int]]:
        """The fields the device refuses, with the exception code."""
        return [(p.read.fields[0], p.refused) for p in self.pieces if p.refused is not None]

    async def poll(self, reader: Reader, now_ns: int) -> list[SampleBatch]:
        """The samples of every field of the block, Bad where the device refuses."""
        if self.split_at_ns is not None and now_ns - self.split_at_ns >= self.retry_ns:
            self.pieces, self.split_at_ns = [Piece(self.read)], None
        layout: list[Piece] = []
        batches: list[SampleBatch] = []
        for piece in self.pieces:
            if piece.refused is not None:
                layout.append(piece)
                batches.append(piece.read.bad(now_ns, EXCEPTION_QUALITY[piece.refused]))
                continue
            await self._read(piece.read, reader, now_ns, layout, batches)
        whole = len(layout) == 1 and layout[0].read is self.read and layout[0].refused is None
        if self.split_at_ns is None and not whole:
            self.split_at_ns = now_ns
        self.pieces = layout
        return batches

    async def _read(
        self,
        read: Read,
        reader: Reader,
        now_ns: int,
        layout: list[Piece],
        batches: list[SampleBatch],
    ) -> None:
        """Read ``read``, splitting it while the device refuses it; appends the pieces
        it ends up as to ``layout`` and their samples to ``batches``."""
        outcome = await reader(read)
        if isinstance(outcome, SampleBatch):
            layout.append(Piece(read))
            batches.append(outcome)
        elif outcome not in SPLIT_CODES:
            layout.append(Piece(read))
            batches.append(read.bad(now_ns, EXCEPTION_QUALITY.get(outcome, quality.BAD)))
        elif len(read.fields) == 1:
            layout.append(Piece(read, outcome))
            batches.append(read.bad(now_ns, EXCEPTION_QUALITY[outcome]))
        else:
            self.splits += 1
            for half in read.halves():
                await self._read(half, reader, now_ns, layout, batches)
