"""One read's registers as sample columns, every value exact: pure, no I/O.

:func:`~plantos.edge.modbus.codec.decode_block` gives one float64 per field, which is
all a float, a bool or an integer up to 2**53 needs. :func:`decode_samples` adds what a
float64 cannot hold, in the optional ``exact`` column of
:class:`~plantos.core.batch.SampleBatch`: the integer itself where an integer field
passes 2**53 (a 64-bit counter, a totaliser), and the text of a string field. The
numbers-only path pays one vectorised comparison for this.

>>> fields = [RegisterField("parts", 0, "uint64"), RegisterField("program", 4, "string", length=2)]
>>> decoded = decode_samples([0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE, 0x4F31, 0x3233], 0, fields)
>>> decoded.exact.tolist(), decoded.undecodable
([18446744073709551614, 'O123'], {})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from plantos.core.batch import FLOAT_EXACT_LIMIT, Exact, Values
from plantos.edge.modbus.codec import (
    CodecError,
    RegisterField,
    Words,
    as_words,
    decode_block,
    decode_text,
)

_INTEGERS = frozenset({"int16", "uint16", "int32", "uint32", "int64", "uint64"})


@dataclass(frozen=True, slots=True)
class Decoded:
    """Columns for one read: ``value`` per field, ``exact`` where a float64 is not enough
    (``None`` when no field needed it), and the fields whose registers hold no value of
    their type (position to reason), which the caller marks Bad."""

    value: Values
    exact: Exact | None
    undecodable: dict[int, str] = field(default_factory=dict)


def decode_samples(
    registers: Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.bool_],
    start: int,
    fields: Sequence[RegisterField],
) -> Decoded:
    """:func:`decode_block` plus exact integers beyond 2**53 and text: see the module."""
    words = as_words(registers, start)
    value = decode_block(words, start, fields)
    exact: Exact | None = None
    undecodable: dict[int, str] = {}
    for i in _needing_exact(value, fields):
        f = fields[i]
        slot = words[f.address - start : f.address - start + f.width]
        if f.dtype == "string":
            try:
                text: str | int = decode_text(slot, f)
            except CodecError as exc:
                undecodable[i] = str(exc)
                continue
        else:
            text = _exact_integer(slot, f)
            value[i] = float(text)
        if exact is None:
            exact = np.full(len(fields), None, dtype=object)
        exact[i] = text
    return Decoded(value, exact, undecodable)


def _needing_exact(value: Values, fields: Sequence[RegisterField]) -> list[int]:
    """Positions of string fields and of whole-scaled integer fields from 2**53 on."""
    big = np.flatnonzero(np.abs(value) >= FLOAT_EXACT_LIMIT).tolist()  # 2**53 + 1 rounds down
    wanted = {i for i in big if fields[i].dtype in _INTEGERS and _whole_scaling(fields[i])}
    wanted |= {i for i, f in enumerate(fields) if f.dtype == "string"}
    return sorted(wanted)


def _whole_scaling(f: RegisterField) -> bool:
    return float(f.scale).is_integer() and float(f.offset).is_integer()


def _exact_integer(slot: Words, f: RegisterField) -> int:
    """The field's integer computed in Python ints: raw times scale plus offset."""
    words = slot[::-1] if f.word_order == "little" else slot
    data = words.astype(">u2" if f.byte_order == "big" else "<u2").tobytes()
    raw = int.from_bytes(data, "big", signed=not f.dtype.startswith("u"))
    return raw * int(f.scale) + int(f.offset)
