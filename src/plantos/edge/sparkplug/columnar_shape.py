"""Columnar decoding of data messages that all have the shape of one message before them.

An edge node that reports a fixed set of metrics (a PlantOS edge gateway, any node that
publishes all its tags every period) sends message after message with the same bytes
everywhere but in the timestamps and values: the same records, aliases, lengths and
flags, in the same order. :func:`plantos.edge.sparkplug.columnar.decode_records` proves
each batch's record layout anew; here it is proven once, for one message, and kept as a
:class:`Shape`: a mask of the bytes that must be equal (every tag and length byte, the
alias bytes, the flag bytes, the continuation bit of each timestamp and integer byte)
and what they must equal. A message of the shape's length whose masked bytes are those
(one comparison over all messages of a batch) has records exactly where the first had
them, so its fields are read from fixed places: runs of records with one layout are a
2-D view of the bytes, without searching for record starts or grouping records by
length. Values and timestamps get the same range checks as in ``decode_records``.

The shapes of an edge node or device (:class:`ShapeCache`) are kept with what its birth
announced (:attr:`plantos.edge.sparkplug.decoding.Scope.shapes`), one per metric region
length, at most a few; a batch that does not fit its shape gets a new one built from
its first message, else it is decoded by ``decode_records`` (which decides on the exact
path): a shape decides nothing but speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from plantos.edge.sparkplug.columnar import (
    MAX_TS_MS,
    AliasTable,
    Layout,
    Records,
    integers,
    record_starts,
    split_layouts,
    varint_column,
)
from plantos.edge.sparkplug.wire import TAG_DOUBLE, TAG_FLOAT

MAX_RUNS = 32
"""A message with more runs of records of one layout has no shape: a loop per run would
cost more than the search it saves."""
MAX_SHAPES = 8
"""Shapes kept per edge node or device (one per region length); more and all are
forgotten, so a node whose messages vary in length keeps no stale ones."""

RETRY_AFTER = 64
"""Batches of a region length whose message had no shape before another is tried."""
_FIXED = {TAG_FLOAT: "<f4", TAG_DOUBLE: "<f8"}
_SAFE_TS_BYTES = (MAX_TS_MS.bit_length() - 1) // 7
"""A timestamp varint of at most this many bytes (6: 42 bits, the year 2109 in ms) is
never beyond ``MAX_TS_MS``: no need to look."""


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive records with one layout: ``count`` records from byte ``start``."""

    start: int
    count: int
    first: int
    """The index of its first record among the message's records."""
    layout: Layout
    alias: npt.NDArray[np.int64]
    datatype: npt.NDArray[np.uint8]
    mapped: npt.NDArray[np.bool_]
    """The record's metric feeds a tag."""


@dataclass(frozen=True, slots=True)
class Shape:
    """The records of one message: the bytes that must be equal, and the runs."""

    mask: npt.NDArray[np.uint8]
    expect: npt.NDArray[np.uint8]
    runs: tuple[Run, ...]
    alias: npt.NDArray[np.int64]
    historical: npt.NDArray[np.bool_]
    _tiles: list[npt.NDArray[np.uint8]] = field(default_factory=list, compare=False)

    @property
    def records(self) -> int:
        return len(self.alias)

    def tiles(self, messages: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """``mask`` and ``expect`` repeated for at least ``messages`` messages, built once
        for the largest batch so far (a prefix serves a smaller one); word-aligned."""
        if not self._tiles or len(self._tiles[0]) < messages * len(self.mask):
            count = max(messages, 64)
            self._tiles[:] = [_aligned(np.tile(a, count)) for a in (self.mask, self.expect)]
        return self._tiles[0], self._tiles[1]


def _aligned(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A copy of ``data`` that starts on a word boundary."""
    out = np.empty(-(-len(data) // 8), dtype=np.uint64).view(np.uint8)[: len(data)]
    out[:] = data
    return out


def build_shape(region: bytes, table: AliasTable) -> Shape | None:
    """The shape of one message's metric region; None when ``decode_records`` would not
    take it (an unknown alias, a layout not decoded by columns) or it has too many runs."""
    buf = np.frombuffer(region, dtype=np.uint8)
    rec = record_starts(buf)
    if rec is None:
        return None
    size = buf[rec + 1].astype(np.intp) + 2
    layout_of: list[Layout | None] = [None] * len(rec)
    for s in np.unique(size).tolist():
        of_size = np.flatnonzero(size == s)
        rows = np.lib.stride_tricks.sliding_window_view(buf, s)[rec[of_size]]
        split = split_layouts(rows)
        if split is None:
            return None
        for here, found in split:
            for i in (of_size if here is None else of_size[here]).tolist():
                layout_of[i] = found
    breaks = [0] + [i for i in range(1, len(rec)) if layout_of[i] is not layout_of[i - 1]]
    if len(breaks) > MAX_RUNS:
        return None
    mask = np.zeros(len(buf), dtype=np.uint8)
    runs: list[Run] = []
    for first, stop in zip(breaks, [*breaks[1:], len(rec)], strict=True):
        layout = layout_of[first]
        assert layout is not None
        start, count = int(rec[first]), stop - first
        span = mask[start : start + count * layout.size].reshape(count, layout.size)
        span[:] = layout.mask
        span[:, layout.alias] = 0xFF  # the aliases are part of the shape
        rows = buf[start : start + count * layout.size].reshape(count, layout.size)
        alias = varint_column(rows, layout.alias).astype(np.int64)
        if int(alias.max()) >= len(table.value_tag):
            return None
        if (table.value_tag[alias] != layout.value_tag).any():
            return None
        runs.append(
            Run(start, count, first, layout, alias, table.datatype[alias], table.tag_id[alias] >= 0)
        )
    alias = np.concatenate([run.alias for run in runs])
    historical = np.concatenate([np.full(run.count, run.layout.historical) for run in runs])
    return Shape(mask, buf & mask, tuple(runs), alias, historical)


def decode_shaped(regions: npt.NDArray[np.uint8], messages: int, shape: Shape) -> Records | None:
    """The records of ``messages`` metric regions of the shape's length, joined; None
    when one does not have the shape or a value needs the exact path."""
    width = len(shape.mask)
    if len(regions) != messages * width or not _has_shape(regions, messages, shape):
        return None
    n = shape.records
    ts_ms = np.empty((messages, n), dtype=np.int64)
    value = np.empty((messages, n), dtype=np.float64)
    raw = np.zeros((messages, n), dtype=np.uint64)
    for run in shape.runs:
        cols = slice(run.first, run.first + run.count)
        out = (ts_ms.view(np.uint64)[:, cols], value[:, cols], raw[:, cols])
        if not _decode_run(regions, width, run, messages, out):
            return None
    return Records(
        np.tile(shape.alias, messages),
        ts_ms.reshape(-1),
        value.reshape(-1),
        raw.reshape(-1),
        np.tile(shape.historical, messages),
        np.full(messages, n, dtype=np.intp),
        shape.alias,
    )


def _has_shape(regions: npt.NDArray[np.uint8], messages: int, shape: Shape) -> bool:
    """Every message's masked bytes are the shape's: compared eight bytes at a time (a
    byte-wise comparison of the whole batch cost more than decoding it), the last
    bytes that make no whole word one by one."""
    total = len(regions)
    whole = total - total % 8
    mask, expect = shape.tiles(messages)
    words = regions[:whole].view(np.uint64)
    if ((words & mask[:whole].view(np.uint64)) != expect[:whole].view(np.uint64)).any():
        return False
    return not ((regions[whole:] & mask[whole:total]) != expect[whole:total]).any()


def _field(
    regions: npt.NDArray[np.uint8], width: int, run: Run, messages: int, at: int, dtype: str
) -> npt.NDArray[Any] | None:
    """The ``dtype`` at byte ``at`` of every record of ``run`` in every message, as a
    (messages, records) view of ``regions`` (no copy); None when the last one would
    reach past its end."""
    offset = run.start + at
    size = run.layout.size
    if offset + (messages - 1) * width + (run.count - 1) * size + np.dtype(dtype).itemsize > len(
        regions
    ):
        return None
    view: npt.NDArray[Any] = np.ndarray(
        (messages, run.count), dtype=dtype, buffer=regions, offset=offset, strides=(width, size)
    )
    return view


def _varints(
    regions: npt.NDArray[np.uint8],
    width: int,
    run: Run,
    messages: int,
    field: slice,
    out: npt.NDArray[np.uint64],
) -> npt.NDArray[np.uint64]:
    """The varints of one field of ``run`` (their continuation bits proven by the shape),
    written into ``out`` and returned as a contiguous array: up to eight bytes read as
    one little-endian word each and their 7-bit groups packed together with a few
    word-wide operations (on a contiguous array: on a strided view of ``out`` they take
    twice as long)."""
    length = field.stop - field.start
    words = _field(regions, width, run, messages, field.start, "<u8") if length <= 8 else None
    if words is None:
        size = run.layout.size
        rows = regions.reshape(messages, width)[:, run.start : run.start + run.count * size]
        got = varint_column(rows.reshape(messages, run.count, size), field)
    else:
        got = out if out.flags.c_contiguous else np.empty(out.shape, dtype=np.uint64)
        np.bitwise_and(words, np.uint64(int.from_bytes(b"\x7f" * length, "little")), out=got)
        for bits, low in _PACK[: (length - 1).bit_length()]:
            high = got & ~low
            got &= low
            high >>= bits
            got |= high
    if got is not out:
        out[...] = got
    return got


_PACK = [
    (np.uint64(1), np.uint64(0x007F_007F_007F_007F)),
    (np.uint64(2), np.uint64(0x0000_3FFF_0000_3FFF)),
    (np.uint64(4), np.uint64(0x0000_0000_0FFF_FFFF)),
]
"""Shift and kept low part of each step that packs 7-bit groups: bytes to 14 bits per
16-bit lane, lanes to 28 bits per 32-bit half, halves to 56 bits."""
Out = tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64], npt.NDArray[np.uint64]]


def _decode_run(
    regions: npt.NDArray[np.uint8], width: int, run: Run, messages: int, out: Out
) -> bool:
    """Timestamps (ms as unsigned, -1 where none), values and (integers only) the
    varints of one run in every message into ``out``, (messages, records) views of the
    result; False when a value needs the exact path."""
    layout = run.layout
    ts_out, value_out, raw_out = out
    if layout.ts is None:
        ts_out.view(np.int64)[...] = -1
    else:
        ts_u = _varints(regions, width, run, messages, layout.ts, ts_out)
        if layout.ts.stop - layout.ts.start > _SAFE_TS_BYTES and int(ts_u.max()) > MAX_TS_MS:
            return False
    if layout.value_tag in _FIXED:
        fixed = _field(regions, width, run, messages, layout.value.start, _FIXED[layout.value_tag])
        assert fixed is not None  # the value lies inside its record
        np.copyto(value_out, fixed)
        return True
    wire = _varints(regions, width, run, messages, layout.value, raw_out)
    got = integers(wire.reshape(-1), np.tile(run.datatype, messages), np.tile(run.mapped, messages))
    if got is None:
        return False
    value_out[...] = got.reshape(messages, run.count)
    return True


class ShapeCache:
    """The shapes of one edge node or device, per metric region length (see the module
    doc); forgotten with the birth they were built against."""

    def __init__(self) -> None:
        self._shapes: dict[int, Shape] = {}
        self._skip: dict[int, int] = {}
        """Region lengths whose message had no shape: batches left before trying again."""

    def clear(self) -> None:
        self._shapes.clear()
        self._skip.clear()

    def decode(
        self, flat: npt.NDArray[np.uint8], messages: int, width: int, table: AliasTable
    ) -> Records | None:
        """The records of ``messages`` metric regions of ``width`` bytes each, joined in
        ``flat``, when they all have one shape: the one kept for their length, else one
        built from the first."""
        shape = self._shapes.get(width)
        if shape is not None:
            got = decode_shaped(flat, messages, shape)
            if got is not None:
                return got
        elif self._skip.get(width, 0) > 0:
            self._skip[width] -= 1
            return None
        fresh = build_shape(flat[:width].tobytes(), table)
        if fresh is None:
            self._shapes.pop(width, None)
            self._skip[width] = RETRY_AFTER
            return None
        if shape is not None and _same(fresh, shape):
            return None  # the shape holds, a value does not: for decode_records to judge
        if len(self._shapes) >= MAX_SHAPES:
            self._shapes.clear()
        self._shapes[width] = fresh
        self._skip.pop(width, None)
        return decode_shaped(flat, messages, fresh)


def _same(a: Shape, b: Shape) -> bool:
    return np.array_equal(a.mask, b.mask) and np.array_equal(a.expect, b.expect)
