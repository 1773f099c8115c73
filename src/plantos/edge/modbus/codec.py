"""Modbus register blocks to engineering values and back: pure, vectorised, no I/O.

A Modbus read returns a list of 16-bit registers (or of bools, for coils and
discrete inputs). This module turns such a block into one float64 engineering
value per :class:`RegisterField`, encodes a value back into registers for
writes, and plans which reads cover a register map.

Byte and word order
-------------------
Modbus sends each register high byte first and says nothing about values wider
than one register, so devices disagree. Name the bytes of a 32-bit value
A B C D, most significant first: float32 123.456 is ``42 F6 E9 79``. The four
orders found on real devices are:

=====  ==============  ==============  ====================
order  ``byte_order``  ``word_order``  registers
=====  ==============  ==============  ====================
ABCD   big             big             ``0x42F6 0xE979``
CDAB   big             little          ``0xE979 0x42F6``
BADC   little          big             ``0xF642 0x79E9``
DCBA   little          little          ``0x79E9 0xF642``
=====  ==============  ==============  ====================

``word_order="little"`` puts the low word first (CDAB, the "word swap" of many
PLCs); for 64-bit values it reverses all four words. ``byte_order="little"``
swaps the two bytes inside every register (BADC). Word order means nothing for
one-register types; byte order applies to them too.

>>> cdab = RegisterField("temp", 100, "float32", word_order="little")
>>> decode_block([0xE979, 0x42F6], 100, [cdab]).round(3).tolist()
[123.456]
>>> [hex(r) for r in encode_value(cdab, 123.456)]
['0xe979', '0x42f6']
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from plantos.core.errors import PlantOSError

DType = Literal[
    "int16",
    "uint16",
    "int32",
    "uint32",
    "float32",
    "float64",
    "int64",
    "uint64",
    "bool",
    "string",
]
Order = Literal["big", "little"]
Words = npt.NDArray[np.uint16]
Values = npt.NDArray[np.float64]

# struct format character of each numeric type; numpy reads the same characters.
_FORMATS = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "float32": "f",
    "float64": "d",
    "int64": "q",
    "uint64": "Q",
}
_WIDTHS = {name: struct.calcsize(fmt) // 2 for name, fmt in _FORMATS.items()} | {"bool": 1}
MAX_STRING_REGISTERS = 125
"""A string field is read in one request, so it spans at most one read's registers."""
_INT_RANGES = {
    name: (int(np.iinfo(fmt).min), int(np.iinfo(fmt).max))
    for name, fmt in _FORMATS.items()
    if fmt not in "fd"
} | {"bool": (0, 1)}


class CodecError(PlantOSError):
    """Registers cannot be decoded into, or a value cannot be encoded as, the fields asked for."""


@dataclass(frozen=True, slots=True)
class RegisterField:
    """One value in a register map: where it starts, how it is stored, how to scale it.

    ``address`` is the zero-based protocol address (holding register 40001 is
    address 0). The engineering value is ``raw * scale + offset``. ``bit`` picks
    one bit of a 16-bit register (0 is the least significant, counted after any
    byte swap) and needs ``dtype="bool"``; a bool field without a bit is true
    when its register is non-zero, which also decodes coil and discrete input
    reads (lists of bools).

    >>> RegisterField("flow", 10, "float64").width
    4
    """

    name: str
    address: int
    dtype: DType
    byte_order: Order = "big"
    word_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0
    bit: int | None = None
    length: int | None = None

    def __post_init__(self) -> None:
        if self.dtype not in _WIDTHS and self.dtype != "string":
            known = sorted([*_WIDTHS, "string"])
            raise ValueError(
                f"field {self.name!r}: dtype must be one of {known}, got {self.dtype!r}"
            )
        self._check_length()
        for label, order in (("byte_order", self.byte_order), ("word_order", self.word_order)):
            if order not in ("big", "little"):
                raise ValueError(
                    f"field {self.name!r}: {label} must be big or little, got {order!r}"
                )
        last = 65536 - self.width
        if not isinstance(self.address, int) or not 0 <= self.address <= last:
            raise ValueError(
                f"field {self.name!r}: address must be 0..{last}, got {self.address!r}"
            )
        if self.bit is not None and (self.dtype != "bool" or not 0 <= self.bit <= 15):
            raise ValueError(
                f"field {self.name!r}: bit must be 0..15 on a bool field, "
                f"got bit {self.bit!r} on {self.dtype}"
            )
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ValueError(
                f"field {self.name!r}: scale must be finite and non-zero, got {self.scale!r}"
            )
        if not math.isfinite(self.offset):
            raise ValueError(f"field {self.name!r}: offset must be finite, got {self.offset!r}")

    def _check_length(self) -> None:
        if self.dtype != "string":
            if self.length is not None:
                raise ValueError(
                    f"field {self.name!r}: length is for string fields, not {self.dtype}"
                )
            return
        if not isinstance(self.length, int) or not 1 <= self.length <= MAX_STRING_REGISTERS:
            raise ValueError(
                f"field {self.name!r}: a string needs length 1..{MAX_STRING_REGISTERS} "
                f"(registers, two bytes each), got {self.length!r}"
            )
        if self.scale != 1 or self.offset != 0 or self.word_order != "big":
            raise ValueError(
                f"field {self.name!r}: a string takes no scale, offset or word_order "
                "(its bytes run in address order; byte_order swaps the two in a register)"
            )

    @property
    def width(self) -> int:
        """Registers the field occupies: 1, 2 or 4, or a string's ``length``."""
        return self.length if self.length is not None else _WIDTHS[self.dtype]


def decode_block(
    registers: Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.bool_],
    start: int,
    fields: Sequence[RegisterField],
) -> Values:
    """Engineering values, one float64 per field in the order given, from one read.

    ``registers`` is what a read starting at address ``start`` returned. Fields
    of one dtype are decoded together with numpy views, so the cost grows with
    the number of dtypes, not of registers. 64-bit integers beyond 2**53 lose
    precision in float64 and strings are NaN here: :func:`~plantos.edge.modbus.
    samples.decode_samples` adds their exact values.

    >>> fields = [RegisterField("a", 0, "int32"), RegisterField("b", 2, "uint16", scale=0.1)]
    >>> decode_block([0xFFFF, 0xFFFE, 215], 0, fields).tolist()
    [-2.0, 21.5]
    """
    words = as_words(registers, start)
    offsets = np.array([f.address - start for f in fields], dtype=np.int64)
    _check_inside(words, start, fields, offsets)
    raw = np.empty(len(fields), dtype=np.float64)
    groups: dict[str, list[int]] = {}
    for i, field in enumerate(fields):
        groups.setdefault(field.dtype, []).append(i)
    for dtype, positions in groups.items():
        members = [fields[i] for i in positions]
        if dtype == "string":
            raw[positions] = np.nan
            continue
        decode = _decode_bools if dtype == "bool" else _decode_numbers
        raw[positions] = decode(words, offsets[positions], members)
    scale = np.array([f.scale for f in fields], dtype=np.float64)
    offset = np.array([f.offset for f in fields], dtype=np.float64)
    values: Values = raw * scale + offset
    return values


def encode_value(field: RegisterField, value: float | str) -> list[int]:
    """The registers that hold ``value`` for ``field``, in the field's byte and word order.

    Integer types round ``(value - offset) / scale`` to the nearest integer
    (halves to even); a Python int with no scale or offset is stored exactly.
    NaN, infinities and values outside the type's range raise
    :class:`CodecError`, except NaN and infinities into float types. For a bit
    field the other 15 bits are zero: write it with a mask write (function 22)
    or merged into the current register, never as a plain register write. A
    string field takes text (see :func:`~plantos.edge.modbus.strings.encode_text`).

    >>> encode_value(RegisterField("setpoint", 0, "int16", scale=0.1), -2.0)
    [65516]
    """
    if field.dtype == "string" or isinstance(value, str):
        return encode_text(field, value)
    fmt = _FORMATS.get(field.dtype)
    if fmt is None:
        raw = _raw_integer(field, value)
        words = [raw << field.bit if field.bit is not None else raw]
    else:
        packed = struct.pack(
            ">" + fmt, _raw_float(field, value) if fmt in "fd" else _raw_integer(field, value)
        )
        words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
        if field.word_order == "little":
            words.reverse()
    if field.byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words


def decode_text(registers: Words, field: RegisterField) -> str:
    """The text a string field's registers hold: UTF-8 (so ASCII too), two bytes a
    register high byte first (``byte_order="little"`` swaps them), ending at the first NUL,
    trailing spaces stripped: how PLCs pad a fixed-length string. Bytes that are not UTF-8
    raise :class:`CodecError` rather than guess at a character set.

    >>> decode_text(np.array([0x5031, 0x3030, 0x2000], dtype=np.uint16),
    ...             RegisterField("program", 0, "string", length=3))
    'P100'
    """
    data = registers.astype(">u2" if field.byte_order == "big" else "<u2").tobytes()
    data = data.split(b"\0", 1)[0]
    try:
        return data.decode("utf-8").rstrip(" ")
    except UnicodeDecodeError as exc:
        raise CodecError(
            f"field {field.name!r} (string at {field.address}) holds bytes that are not "
            f"UTF-8: {data!r} ({exc.reason} at byte {exc.start})"
        ) from None


def encode_text(field: RegisterField, text: float | str) -> list[int]:
    """The registers of ``text`` for a string field: UTF-8, padded with NULs to ``length``.
    Text longer than the field, or holding a NUL (which would end it early), raises
    :class:`CodecError`."""
    if field.dtype != "string" or not isinstance(text, str):
        raise CodecError(
            f"field {field.name!r} ({field.dtype}) cannot hold {text!r}: "
            "text goes into string fields only"
        )
    data = text.encode("utf-8")
    if b"\0" in data or len(data) > 2 * field.width:
        raise CodecError(
            f"field {field.name!r} holds {2 * field.width} bytes without NULs; "
            f"{text!r} is {len(data)} bytes" + (" with a NUL" if b"\0" in data else "")
        )
    padded = data.ljust(2 * field.width, b"\0")
    words = np.frombuffer(padded, dtype=">u2" if field.byte_order == "big" else "<u2")
    return [int(w) for w in words]


def plan_reads(
    fields: Sequence[RegisterField], *, max_registers: int = 125, max_gap: int = 8
) -> list[tuple[int, int]]:
    """``(start, count)`` reads that cover every field, in address order.

    Neighbouring fields share a read when at most ``max_gap`` unused registers
    lie between them and the read stays within ``max_registers`` (125 is the
    Modbus limit for holding and input registers; pass 2000 for coils and
    discrete inputs). Reading a few unused registers is cheaper than another
    round trip, but some devices reject reads over unmapped addresses: set
    ``max_gap=0`` for those.

    >>> plan_reads([RegisterField("a", 0, "float32"), RegisterField("b", 5, "int16")])
    [(0, 6)]
    """
    if max_registers < 1:
        raise ValueError(f"max_registers must be at least 1, got {max_registers}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be 0 or more, got {max_gap}")
    spans: list[tuple[int, int]] = []  # [first, end) in addresses
    for field in sorted(fields, key=lambda f: (f.address, f.width)):
        begin, end = field.address, field.address + field.width
        if field.width > max_registers:
            raise ValueError(
                f"field {field.name!r} needs {field.width} registers, "
                f"more than max_registers={max_registers}"
            )
        if spans:
            first, last = spans[-1]
            if begin - last <= max_gap and max(last, end) - first <= max_registers:
                spans[-1] = (first, max(last, end))
                continue
        spans.append((begin, end))
    return [(first, end - first) for first, end in spans]


def as_words(
    registers: Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.bool_], start: int
) -> Words:
    """A read's registers as uint16 words; a value not 16 bits wide raises :class:`CodecError`."""
    if not isinstance(start, int) or not 0 <= start <= 0xFFFF:
        raise ValueError(f"start must be an address 0..65535, got {start!r}")
    arr = np.asarray(registers)
    if arr.ndim != 1:
        raise CodecError(f"registers must be a flat sequence, got an array of shape {arr.shape}")
    if arr.dtype == np.uint16:
        return arr
    if arr.dtype.kind in "bui":
        bad = np.flatnonzero((arr < 0) | (arr > 0xFFFF)).tolist()
    else:  # floats, or Python ints too large for numpy: rare, so a scan is fine
        bad = [i for i, register in enumerate(arr.tolist()) if not _is_word(register)]
    if bad:
        i = bad[0]
        raise CodecError(
            f"register {start + i} holds {arr.tolist()[i]!r}, "
            "which is not a 16-bit value (0..65535)"
        )
    return arr.astype(np.uint16)


def _is_word(register: object) -> bool:
    return isinstance(register, int) and 0 <= register <= 0xFFFF


def _check_inside(
    words: Words, start: int, fields: Sequence[RegisterField], offsets: npt.NDArray[np.int64]
) -> None:
    widths = np.array([f.width for f in fields], dtype=np.int64)
    outside = np.flatnonzero((offsets < 0) | (offsets + widths > len(words)))
    if outside.size:
        field = fields[int(outside[0])]
        held = f"{start}..{start + len(words) - 1}" if len(words) else "nothing"
        raise CodecError(
            f"field {field.name!r} ({field.dtype}) needs registers "
            f"{field.address}..{field.address + field.width - 1}, but the block holds {held}"
        )


def _decode_numbers(
    words: Words, offsets: npt.NDArray[np.int64], members: list[RegisterField]
) -> Values:
    dtype = members[0].dtype
    width = _WIDTHS[dtype]
    ahead = np.arange(width)
    low_first = np.array([f.word_order == "little" for f in members])
    columns = np.where(low_first[:, None], ahead[::-1], ahead)
    picked = words[offsets[:, None] + columns]  # one row per field, high word first
    swapped = np.array([f.byte_order == "little" for f in members])
    picked = np.where(swapped[:, None], picked.byteswap(), picked)
    raw = picked.astype(">u2").view(">" + _FORMATS[dtype])
    return raw[:, 0].astype(np.float64)


def _decode_bools(
    words: Words, offsets: npt.NDArray[np.int64], members: list[RegisterField]
) -> Values:
    picked = words[offsets]
    swapped = np.array([f.byte_order == "little" for f in members])
    picked = np.where(swapped, picked.byteswap(), picked)
    bits = np.array([-1 if f.bit is None else f.bit for f in members], dtype=np.int16)
    whole = picked != 0
    one_bit = ((picked >> np.maximum(bits, 0).astype(np.uint16)) & 1) != 0
    values: Values = np.where(bits < 0, whole, one_bit).astype(np.float64)
    return values


def _scaled(field: RegisterField, value: float) -> float:
    try:
        return (float(value) - field.offset) / field.scale
    except OverflowError:
        raise CodecError(f"field {field.name!r} ({field.dtype}) cannot hold {value!r}") from None


def _raw_float(field: RegisterField, value: float) -> float:
    raw = _scaled(field, value)
    if math.isfinite(value) and not math.isfinite(raw):
        raise CodecError(
            f"field {field.name!r}: {value!r} overflows float64 after scale and offset"
        )
    if field.dtype == "float32" and math.isfinite(raw):
        try:
            struct.pack(">f", raw)
        except OverflowError:
            raise CodecError(
                f"field {field.name!r} ({field.dtype}) cannot hold {value!r}: "
                f"raw value {raw!r} is beyond the float32 range"
            ) from None
    return raw


def _raw_integer(field: RegisterField, value: float) -> int:
    if isinstance(value, int) and field.scale == 1 and field.offset == 0:
        raw = int(value)
    else:
        scaled = _scaled(field, value)
        if not math.isfinite(scaled):
            raise CodecError(f"field {field.name!r} ({field.dtype}) cannot hold {value!r}")
        raw = round(scaled)
    low, high = _INT_RANGES[field.dtype]
    if not low <= raw <= high:
        raise CodecError(
            f"field {field.name!r} ({field.dtype}) cannot hold {value!r}: "
            f"raw value {raw} is outside {low}..{high}"
        )
    return raw
