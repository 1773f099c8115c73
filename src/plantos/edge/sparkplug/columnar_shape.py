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

from dataclasses import dataclass

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

    @property
    def records(self) -> int:
        return len(self.alias)


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


def decode_shaped(regions: bytes, messages: int, shape: Shape) -> Records | None:
    """The records of ``messages`` metric regions of the shape's length, joined; None
    when one does not have the shape or a value needs the exact path."""
    width = len(shape.mask)
    if len(regions) != messages * width:
        return None
    buf = np.frombuffer(regions, dtype=np.uint8).reshape(messages, width)
    if ((buf & shape.mask) != shape.expect).any():
        return None
    n = shape.records
    one = len(shape.runs) == 1
    ts_ms = np.empty((messages, n), dtype=np.int64)
    value = np.empty((messages, n), dtype=np.float64)
    raw = np.zeros((messages, n), dtype=np.uint64)
    for run in shape.runs:
        got = _decode_run(buf, run, messages)
        if got is None:
            return None
        cols = slice(run.first, run.first + run.count)
        if one:
            ts_ms, value = got[0], got[1]
            if got[2] is not None:
                raw = got[2]
            break
        ts_ms[:, cols], value[:, cols] = got[0], got[1]
        if got[2] is not None:
            raw[:, cols] = got[2]
    return Records(
        np.tile(shape.alias, messages),
        ts_ms.reshape(-1),
        value.reshape(-1),
        raw.reshape(-1),
        np.tile(shape.historical, messages),
        np.full(messages, n, dtype=np.intp),
    )


def _decode_run(
    buf: npt.NDArray[np.uint8], run: Run, messages: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint64] | None] | None:
    """Timestamps, values and (integers only) the varints of one run in every message,
    as (messages, records) arrays."""
    layout = run.layout
    rows = buf[:, run.start : run.start + run.count * layout.size].reshape(
        messages, run.count, layout.size
    )
    if layout.ts is None:
        ts_ms = np.full((messages, run.count), -1, dtype=np.int64)
    else:
        ts_u = varint_column(rows, layout.ts)
        if int(ts_u.max()) > MAX_TS_MS:
            return None
        ts_ms = ts_u.astype(np.int64)
    if layout.value_tag in _FIXED:
        fixed = np.ascontiguousarray(rows[:, :, layout.value]).view(_FIXED[layout.value_tag])
        return ts_ms, fixed.reshape(messages, run.count).astype(np.float64, copy=False), None
    wire = varint_column(rows, layout.value)
    got = integers(wire.reshape(-1), np.tile(run.datatype, messages), np.tile(run.mapped, messages))
    if got is None:
        return None
    return ts_ms, got.reshape(messages, run.count), wire


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

    def decode(self, parts: list[bytes], regions: bytes, table: AliasTable) -> Records | None:
        """The records of the metric regions ``parts`` (joined: ``regions``) when they all
        have one shape: the one kept for their length, else one built from the first."""
        width = len(parts[0])
        if any(len(p) != width for p in parts):
            return None
        shape = self._shapes.get(width)
        if shape is not None:
            got = decode_shaped(regions, len(parts), shape)
            if got is not None:
                return got
        elif self._skip.get(width, 0) > 0:
            self._skip[width] -= 1
            return None
        fresh = build_shape(parts[0], table)
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
        return decode_shaped(regions, len(parts), fresh)


def _same(a: Shape, b: Shape) -> bool:
    return np.array_equal(a.mask, b.mask) and np.array_equal(a.expect, b.expect)
