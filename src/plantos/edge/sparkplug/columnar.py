"""Columnar decoding of Sparkplug B NDATA/DDATA payloads straight from the wire bytes.

Why not the protobuf classes: with the upb runtime a parse is cheap (about 50 ns per
metric) but Python-level reads are not: wrapping each ``Metric`` sub-message costs
about 170 ns and every attribute read about 70 ns more, so reading alias, timestamp
and value of each metric costs ~450 ns, more than the host's whole per-metric budget.
Here the metrics of many messages of one edge node or device are decoded together
with numpy: a few tens of numpy calls per batch (each ~1 µs on the reference machine,
which is why one message at a time would not pay off) and a few ns per metric.

How: :func:`envelope` splits each payload into its own fields (``timestamp``, ``seq``)
and its metric records; the records of all messages are joined and
:func:`decode_records` finds where each record starts (one 2-D view when all have the
same length, else a scan for record headers proven to chain from the first byte to
the last). Records of one length are rows of a 2-D byte array; the field layout of
one row (alias, timestamp, flags, value, each at a fixed place) is read in Python,
and one flat comparison proves which rows have exactly that layout (tag bytes equal,
the continuation bit of every varint byte where it must be). Those rows are decoded
column by column; the rest get the next layout. Every byte is accounted for before a
result is returned, so a result is always what protobuf itself would parse.

Only the layout a well-behaved edge node sends for data messages is decoded here:
the payload ``timestamp``, metrics by ``alias`` with an optional ``timestamp``, an
optional ``is_historical`` flag and one numeric value in the field the birth's
datatype asks for, then ``seq``. Anything else (names, nulls, properties such as a
quality, a datatype on the wire, strings, arrays, an alias the birth did not announce,
a value out of its datatype's range, a 64-bit integer beyond 2**53, records of 128
bytes and more, fields in another order, more than eight layouts of one length) makes
the functions return None, and the caller takes the exact per-metric path of
:mod:`plantos.edge.sparkplug.codec`: anything unusual is handled by one piece of code only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.timeunits import NS_PER_MS as _NS_PER_MS
from plantos.edge.sparkplug.codec import DataType
from plantos.edge.sparkplug.wire import (
    TAG_ALIAS,
    TAG_BOOL,
    TAG_DOUBLE,
    TAG_FLOAT,
    TAG_HISTORICAL,
    TAG_INT,
    TAG_LONG,
    TAG_METRIC,
    TAG_METRIC_TS,
    TAG_SEQ,
    TAG_TIMESTAMP,
)

_FIXED = {TAG_FLOAT: "<f4", TAG_DOUBLE: "<f8"}
_VARINT_VALUES = (TAG_INT, TAG_LONG, TAG_BOOL)

_VALUE_TAG: dict[DataType, int] = {
    DataType.Int8: TAG_INT,
    DataType.Int16: TAG_INT,
    DataType.Int32: TAG_INT,
    DataType.UInt8: TAG_INT,
    DataType.UInt16: TAG_INT,
    DataType.UInt32: TAG_INT,
    DataType.Int64: TAG_LONG,
    DataType.UInt64: TAG_LONG,
    DataType.DateTime: TAG_LONG,
    DataType.Float: TAG_FLOAT,
    DataType.Double: TAG_DOUBLE,
    DataType.Boolean: TAG_BOOL,
}
NUMERIC = frozenset(_VALUE_TAG)
"""The datatypes whose values this module decodes."""

MAX_ALIAS = 1 << 20
"""Aliases index a lookup array; a birth with a larger alias keeps to the exact path."""

MAX_TS_MS = (2**63 - 1) // _NS_PER_MS  # later timestamps do not fit int64 ns
_U32 = np.uint64(0xFFFF_FFFF)
_FLOAT_EXACT = 2**53
"""Integers beyond this magnitude take the exact path, which keeps them exact."""
_INT64_MIN = np.int64(-(2**63))
Index = npt.NDArray[np.intp]
Rows = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class AliasTable:
    """What one birth announced, as arrays indexed by alias, built once per birth.

    ``tag_id`` is the tag an alias feeds (-1: no tag, the metric is read and dropped);
    ``value_tag`` the wire tag its value must arrive in (0: not decoded here);
    ``datatype`` its Sparkplug datatype.
    """

    tag_id: npt.NDArray[np.int32]
    value_tag: npt.NDArray[np.uint8]
    datatype: npt.NDArray[np.uint8]

    @classmethod
    def build(cls, aliases: Iterable[tuple[int, DataType, int | None]]) -> AliasTable | None:
        """From ``(alias, datatype, tag id or None)`` of each aliased metric of a birth;
        None when an alias is too large for a lookup array."""
        rows = list(aliases)
        size = max((a for a, _, _ in rows), default=-1) + 1
        if size > MAX_ALIAS:
            return None
        tag_id = np.full(size, -1, dtype=np.int32)
        value_tag = np.zeros(size, dtype=np.uint8)
        datatype = np.zeros(size, dtype=np.uint8)
        for alias, dt, tag in rows:
            datatype[alias] = dt
            value_tag[alias] = _VALUE_TAG.get(dt, 0)
            tag_id[alias] = -1 if tag is None else tag
        return cls(tag_id, value_tag, datatype)


@dataclass(frozen=True, slots=True)
class Layout:
    """The field layout of one metric record: where each field's bytes sit in it."""

    size: int
    mask: npt.NDArray[np.uint8]
    expect: npt.NDArray[np.uint8]
    alias: slice
    ts: slice | None
    historical: bool
    """``is_historical`` is sent and true."""
    value_tag: int
    value: slice


def _py_varint_end(data: bytes, pos: int, stop: int) -> int | None:
    """Where the varint at ``pos`` ends (exclusive); None when it is not one within ``stop``."""
    for i in range(pos, min(pos + 10, stop)):
        if data[i] < 0x80:
            return i + 1
    return None


def _layout(data: bytes, start: int, stop: int) -> Layout | None:
    """The layout of the metric record at ``start``; None for anything not decoded here."""
    if stop - start < 4 or data[start] != TAG_METRIC or data[start + 1] >= 0x80:
        return None
    size = data[start + 1] + 2
    end = start + size
    if end > stop or data[start + 2] != TAG_ALIAS:
        return None
    mask = [0xFF, 0xFF, 0xFF]
    pos = start + 3

    def varint() -> slice | None:
        nonlocal pos
        after = _py_varint_end(data, pos, end)
        if after is None:
            return None
        field = slice(pos - start, after - start)
        mask.extend([0x80] * (after - pos))
        pos = after
        return field

    alias = varint()
    ts = None
    if alias is not None and pos < end and data[pos] == TAG_METRIC_TS:
        pos += 1
        mask.append(0xFF)
        ts = varint()
        if ts is None:
            return None
    historical = False
    if pos + 1 < end and data[pos] == TAG_HISTORICAL and data[pos + 1] <= 1:
        historical = data[pos + 1] == 1  # the flag byte is part of the layout
        mask += [0xFF, 0xFF]
        pos += 2
    if alias is None or pos >= end:
        return None
    tag = data[pos]
    pos += 1
    mask.append(0xFF)
    if tag in _FIXED:
        width = 4 if tag == TAG_FLOAT else 8
        value = slice(pos - start, pos - start + width)
        mask += [0] * width
        pos += width
    elif tag in _VARINT_VALUES:
        got = varint()
        if got is None:
            return None
        value = got
    else:
        return None
    if pos != end:
        return None
    mask_arr = np.array(mask, dtype=np.uint8)
    expect = np.frombuffer(data, dtype=np.uint8, count=size, offset=start) & mask_arr
    return Layout(size, mask_arr, expect, alias, ts, historical, tag, value)


def varint_column(rows: npt.NDArray[np.uint8], field: slice) -> npt.NDArray[np.uint64]:
    """The varints of one field of records sharing a layout (so of one length each); the
    records' bytes are the last axis of ``rows``."""
    out = rows[..., field.stop - 1].astype(np.uint64)  # the last byte has no continuation bit
    for col in range(field.stop - 2, field.start - 1, -1):  # column by column: no 2-D reduce
        out <<= np.uint64(7)
        out |= rows[..., col] & 0x7F
    return out


@dataclass(frozen=True, slots=True)
class Envelope:
    """The payload-level fields of a data message and where its metric records are."""

    timestamp_ms: int | None
    seq: int | None
    start: int
    end: int


def envelope(data: bytes) -> Envelope | None:
    """``[timestamp] metric* [seq]`` with at least one metric; None for any other shape."""
    size = len(data)
    pos = 0
    timestamp_ms: int | None = None
    if size and data[0] == TAG_TIMESTAMP:
        after = _py_varint_end(data, 1, size)
        if after is None:
            return None
        timestamp_ms = 0
        for i in range(after - 1, 0, -1):
            timestamp_ms = (timestamp_ms << 7) | (data[i] & 0x7F)
        timestamp_ms &= 2**64 - 1  # a 10th byte may carry bits past 64, which protobuf drops
        pos = after
    seq: int | None = None
    end = size
    if size - pos >= 2 and data[-2] == TAG_SEQ and data[-1] < 0x80:
        seq, end = data[-1], size - 2
    elif size - pos >= 3 and data[-3] == TAG_SEQ and data[-2] >= 0x80 and data[-1] == 1:
        seq, end = (data[-2] & 0x7F) | 0x80, size - 3
    if end - pos < 4 or data[pos] != TAG_METRIC:
        return None
    return Envelope(timestamp_ms, seq, pos, end)


@dataclass(frozen=True, slots=True)
class Records:
    """The metrics of one or more data messages, one entry per metric in wire order."""

    alias: npt.NDArray[np.int64]
    ts_ms: npt.NDArray[np.int64]
    """The metric's timestamp in ms, -1 where the metric has none."""
    value: npt.NDArray[np.float64]
    """The value as a sample holds it (``float(value)`` of the exact path)."""
    raw: npt.NDArray[np.uint64]
    """The varint as sent, for integer datatypes (0 for Float and Double)."""
    historical: npt.NDArray[np.bool_]
    counts: npt.NDArray[np.intp]
    """How many of the metrics each message holds, in message order."""
    row: npt.NDArray[np.int64] | None = None
    """The aliases of each message's metrics when every message holds exactly these, in
    this order (messages of one shape), else None."""


def decode_records(
    regions: bytes | npt.NDArray[np.uint8], starts: npt.NDArray[np.intp], table: AliasTable
) -> Records | None:
    """Decode the metric records of data messages of one scope, joined into ``regions``
    (message ``i``'s records begin at ``starts[i]``); None when any of them needs the
    exact path (see the module docstring)."""
    buf = np.frombuffer(regions, dtype=np.uint8)
    groups = _uniform(buf, starts)
    if groups is not None:
        rec_index = starts // groups[0][1].shape[1]
        n = len(groups[0][1])
    else:
        rec = record_starts(buf)
        if rec is None:
            return None
        n = len(rec)
        rec_index = np.searchsorted(rec, starts)
        if not (rec[np.minimum(rec_index, n - 1)] == starts).all():
            return None  # a record would straddle two messages
        size = buf[rec + 1].astype(np.intp) + 2
        groups = []
        for s in np.flatnonzero(np.bincount(size)).tolist():
            of_size: Index = np.flatnonzero(size == s)
            windows = np.lib.stride_tricks.sliding_window_view(buf, s)
            groups.append((of_size, windows[rec[of_size]]))
    decoded: list[tuple[Index | None, _Out]] = []
    for picked, rows in groups:
        parts = _decode_group(rows, table)
        if parts is None:
            return None
        for here, got in parts:
            if picked is None:
                decoded.append((here, got))
            else:
                decoded.append((picked if here is None else picked[here], got))
    if len(decoded) == 1 and decoded[0][0] is None:
        alias, ts_ms, value, raw, historical = decoded[0][1]
    else:
        alias, ts_ms, value, raw, historical = (
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.float64),
            np.empty(n, dtype=np.uint64),
            np.empty(n, dtype=bool),
        )
        for here, got in decoded:
            for column, part in zip((alias, ts_ms, value, raw, historical), got, strict=True):
                column[here] = part
    counts = np.diff(np.append(rec_index, n))
    return Records(alias, ts_ms, value, raw, historical, counts)


def _uniform(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp]
) -> list[tuple[Index | None, Rows]] | None:
    """All records as rows of one 2-D view when they all have the first one's length
    (the common case: no scan for record starts needed); None otherwise."""
    if len(buf) < 4 or buf[0] != TAG_METRIC or buf[1] >= 0x80:
        return None
    width = int(buf[1]) + 2
    if len(buf) % width or (starts % width).any():
        return None
    rows = buf.reshape(-1, width)
    if (rows[:, 0] != TAG_METRIC).any() or (rows[:, 1] != width - 2).any():
        return None
    uniform: list[tuple[Index | None, Rows]] = [(None, rows)]
    return uniform


def record_starts(buf: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp] | None:
    """Where each metric record of ``buf`` (nothing but records) begins, proven to chain
    from the first byte to the last; None when they do not, or a record is 128+ bytes."""
    hit = (buf[:-2] == TAG_METRIC) & (buf[2:] == TAG_ALIAS)
    cand = np.flatnonzero(hit)
    if not len(cand) or cand[0] != 0:
        return None
    nxt = cand + 2 + buf[cand + 1]
    if not (nxt[:-1] == cand[1:]).all():
        # A record's bytes may look like a record start by chance: keep the candidates
        # whose length lands on another candidate or on the end, then check again.
        lands = np.zeros(len(buf) + 256, dtype=bool)
        lands[cand] = True
        lands[len(buf)] = True
        cand = cand[lands[nxt]]
        nxt = cand + 2 + buf[cand + 1]
        if not len(cand) or cand[0] != 0 or not (nxt[:-1] == cand[1:]).all():
            return None
    if nxt[-1] != len(buf) or (buf[cand + 1] >= 0x80).any():
        return None
    return cand


_Out = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.uint64],
    npt.NDArray[np.bool_],
]


def _decode_group(
    rows: npt.NDArray[np.uint8], table: AliasTable
) -> list[tuple[Index | None, _Out]] | None:
    """Decode records of one length, one layout at a time: for each layout the rows it
    covers (None: all) and their columns; None when one needs the exact path."""
    split = split_layouts(rows)
    if split is None:
        return None
    parts: list[tuple[Index | None, _Out]] = []
    for here, layout in split:
        got = _decode_layout(layout, rows if here is None else rows[here], table)
        if got is None:
            return None
        parts.append((here, got))
    return parts


def split_layouts(rows: npt.NDArray[np.uint8]) -> list[tuple[Index | None, Layout]] | None:
    """The layouts of records of one length (rows): each with the rows that have exactly
    it (None: all rows), found one layout at a time from the first row not yet covered;
    None when a row has none decoded here, or there are more than eight."""
    parts: list[tuple[Index | None, Layout]] = []
    todo: Index | None = None  # row numbers still to cover (None: all)
    while len(parts) < _MAX_LAYOUTS:
        layout = _layout(rows[0].tobytes(), 0, rows.shape[1])
        if layout is None:
            return None
        mask, expect = _tiled(layout, len(rows))
        wrong = (rows.reshape(-1) & mask) != expect  # flat: one long loop, not 20-byte ones
        if not wrong.any():
            parts.append((todo, layout))
            return parts
        match = ~wrong.reshape(rows.shape).any(axis=1)
        here = np.flatnonzero(match) if todo is None else todo[match]
        parts.append((here, layout))
        rows = rows[~match]
        todo = np.flatnonzero(~match) if todo is None else todo[~match]
    return None


_MAX_LAYOUTS = 8
_TILES: dict[bytes, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]] = {}


def _tiled(layout: Layout, rows: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The layout's mask and expected bytes repeated for ``rows`` records, cached: a
    flat comparison against them is ten times faster than a broadcast one."""
    key = layout.mask.tobytes() + layout.expect.tobytes()
    have = _TILES.get(key)
    if have is None or len(have[0]) < rows * layout.size:
        if len(_TILES) >= 64:
            _TILES.clear()
        count = max(rows, 1024)
        have = (np.tile(layout.mask, count), np.tile(layout.expect, count))
        _TILES[key] = have
    size = rows * layout.size
    return have[0][:size], have[1][:size]


def _decode_layout(layout: Layout, rows: npt.NDArray[np.uint8], table: AliasTable) -> _Out | None:
    """The columns of records that share ``layout``; None when an alias or a value needs
    the exact path."""
    n = len(rows)
    alias_u = varint_column(rows, layout.alias)
    if int(alias_u.max()) >= len(table.value_tag):
        return None
    alias = alias_u.astype(np.int64)
    if (table.value_tag[alias] != layout.value_tag).any():
        return None  # an alias the birth did not announce, or a value in the wrong field
    if layout.ts is None:
        ts_ms = np.full(n, -1, dtype=np.int64)
    else:
        ts_u = varint_column(rows, layout.ts)
        if int(ts_u.max()) > MAX_TS_MS:
            return None
        ts_ms = ts_u.astype(np.int64)
    historical = np.full(n, layout.historical)
    if layout.value_tag in _FIXED:
        fixed = np.ascontiguousarray(rows[:, layout.value]).view(_FIXED[layout.value_tag])
        value = fixed.reshape(n).astype(np.float64)
        return alias, ts_ms, value, np.zeros(n, dtype=np.uint64), historical
    raw = varint_column(rows, layout.value)
    ints = integers(raw, table.datatype[alias], table.tag_id[alias] >= 0)
    if ints is None:
        return None
    return alias, ts_ms, ints, raw, historical


def integers(
    raw: npt.NDArray[np.uint64], datatype: npt.NDArray[np.uint8], mapped: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64] | None:
    """Integer and Boolean values, each by its own datatype; ``mapped``: the metric feeds
    a tag (only then must a 64-bit integer fit a float64 exactly, see :func:`_integer`)."""
    first = int(datatype[0])
    if (datatype == first).all():
        return _integer(raw, DataType(first), mapped)
    out = np.empty(len(raw), dtype=np.float64)
    for dt in np.unique(datatype).tolist():
        mask = datatype == dt
        got = _integer(raw[mask], DataType(dt), mapped[mask])
        if got is None:
            return None
        out[mask] = got
    return out


def _integer(
    wire: npt.NDArray[np.uint64], dt: DataType, mapped: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64] | None:
    """Values of one integer datatype as the codec reads them (two's complement of the
    width; Int8 and Int16 also sign-extended to 32 bits); None when one is out of range,
    or is a 64-bit integer beyond 2**53 that feeds a tag: the exact path keeps it exact.
    One that feeds no tag (``PlantOS/Stream Seq``, whose numbers are that large) is read
    from the varint (``Records.raw``); its float is never used."""
    if dt is DataType.Boolean:
        out: npt.NDArray[np.float64] = (wire != 0).astype(np.float64)
        return out
    if dt is DataType.Int64:
        signed = wire.view(np.int64)
        if (((np.abs(signed) > _FLOAT_EXACT) | (signed == _INT64_MIN)) & mapped).any():
            return None  # the exact path keeps the integer a float64 cannot hold
        return signed.astype(np.float64)
    if dt in (DataType.UInt64, DataType.DateTime):
        if ((wire > np.uint64(_FLOAT_EXACT)) & mapped).any():
            return None
        return wire.astype(np.float64)
    low = wire & _U32  # int_value is a uint32 field: a longer varint is cut to 32 bits
    if dt is DataType.UInt32:
        return low.astype(np.float64)
    if dt is DataType.Int32:
        return low.astype(np.uint32).view(np.int32).astype(np.float64)
    bits = 8 if dt in (DataType.Int8, DataType.UInt8) else 16
    small = low < np.uint64(1 << bits)
    if dt in (DataType.UInt8, DataType.UInt16):
        return low.astype(np.float64) if small.all() else None
    half = 1 << (bits - 1)
    extended = low >= np.uint64(2**32 - half)
    if not (small | extended).all():
        return None
    signed = low.astype(np.int64)
    signed = np.where(small, np.where(signed >= half, signed - (1 << bits), signed), signed - 2**32)
    return signed.astype(np.float64)
