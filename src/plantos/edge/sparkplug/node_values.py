"""What an edge node's metrics can carry, and how a sample's value goes on the wire.

A batch's ``value`` column is float64; text and integers beyond 2**53 ride in its
``exact`` column (:mod:`plantos.core.batch`). An Int64 or UInt64 metric sends the exact
integer from there, never the float that stands in for it, and a String metric sends the
text: both travel losslessly to the host. The numeric path never looks at ``exact``, so a
batch of plain numbers costs what it did before.

A value the metric's datatype cannot carry is not dropped: it is sent as ``is_null``
with a status code that says why (``BadOutOfRange`` for a number outside the datatype,
``BadTypeMismatch`` for text into a number metric or a number into a String metric),
so the core stores a Bad sample at that time and the node counts it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core import quality
from plantos.core.batch import exact_held
from plantos.edge.sparkplug.codec import DataType
from plantos.edge.sparkplug.columnar_encode import (
    BOOLEAN_VALUE,
    DOUBLE_VALUE,
    FLOAT_VALUE,
    INT_VALUE,
    IS_NULL,
    LONG_VALUE,
    STRING_VALUE,
)

_FLOAT32_MAX = float(np.finfo(np.float32).max)
Exact = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Wire:
    """How samples of one datatype go on the wire: Metric field number and the range of
    the rounded value (``lo <= v < hi``; floats are not rounded)."""

    field: int
    lo: float
    hi: float
    bits: int = 0

    @property
    def int_range(self) -> range:
        """The integers an integer datatype holds, compared exactly (not as floats)."""
        return range(int(self.lo), int(self.hi))


def _ints(bits: int, *, signed: bool) -> Wire:
    field = LONG_VALUE if bits == 64 else INT_VALUE
    if signed:
        return Wire(field, -(2.0 ** (bits - 1)), 2.0 ** (bits - 1), bits)
    return Wire(field, 0.0, 2.0**bits, bits)


_TEXT = Wire(STRING_VALUE, -math.inf, math.inf)
WIRE: dict[DataType, Wire] = {
    DataType.Int8: _ints(8, signed=True),
    DataType.Int16: _ints(16, signed=True),
    DataType.Int32: _ints(32, signed=True),
    DataType.Int64: _ints(64, signed=True),
    DataType.UInt8: _ints(8, signed=False),
    DataType.UInt16: _ints(16, signed=False),
    DataType.UInt32: _ints(32, signed=False),
    DataType.UInt64: _ints(64, signed=False),
    DataType.DateTime: _ints(64, signed=False),
    DataType.Float: Wire(FLOAT_VALUE, -_FLOAT32_MAX, float(np.nextafter(_FLOAT32_MAX, math.inf))),
    DataType.Double: Wire(DOUBLE_VALUE, -math.inf, math.inf),
    DataType.Boolean: Wire(BOOLEAN_VALUE, -math.inf, math.inf),
    DataType.String: _TEXT,
    DataType.Text: _TEXT,
}
"""The datatypes a node publishes samples as."""


@dataclass(frozen=True, slots=True)
class Fitted:
    """Samples as their metrics can carry them, and which ones could not be."""

    value: npt.NDArray[np.float64]
    codes: npt.NDArray[np.uint32]
    exact: Exact | None
    out_of_range: npt.NDArray[np.bool_]
    mismatch: npt.NDArray[np.bool_]


class MetricWires:
    """The wire rules of a node's metrics as arrays indexed by metric, built once."""

    def __init__(self, datatypes: Sequence[DataType]) -> None:
        self._wires = [WIRE[dt] for dt in datatypes]
        wires = self._wires
        self.field = np.array([w.field for w in wires], dtype=np.uint8)
        self.lo = np.array([w.lo for w in wires], dtype=np.float64)
        self.hi = np.array([w.hi for w in wires], dtype=np.float64)
        self.is_int = np.array([w.bits > 0 for w in wires], dtype=np.bool_)
        self.is_text = self.field == STRING_VALUE
        self.mask = np.array([(1 << w.bits) - 1 for w in wires], dtype=np.uint64)

    def fit(
        self,
        idx: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        codes: npt.NDArray[np.uint32],
        exact: Exact | None,
    ) -> Fitted:
        """Each sample as metric ``idx`` can carry it: one that does not fit becomes NaN
        (``is_null``) with the code that says why; ``exact`` keeps only what goes on the
        wire exactly (text for String metrics, big integers for integer metrics)."""
        value, codes = value.copy(), codes.copy()
        is_int, text_metric = self.is_int[idx], self.is_text[idx]
        text, big = _kinds(exact, len(idx))
        rounded = np.where(is_int, np.rint(value), value)
        with np.errstate(invalid="ignore"):
            out = (rounded < self.lo[idx]) | (rounded >= self.hi[idx])
        out &= (is_int | np.isfinite(value)) & ~big
        mismatch = (text & ~text_metric) | (~text & text_metric & ~np.isnan(value))
        if exact is not None:
            exact = exact.copy()
            for i in np.flatnonzero(big).tolist():
                wire = self._wires[int(idx[i])]  # a String metric has no bits: a mismatch
                if wire.bits and exact[i] not in wire.int_range:
                    out[i] = True
                if not wire.bits or out[i]:
                    exact[i] = None  # a float metric sends the nearest float
            for i in np.flatnonzero(text).tolist():
                if mismatch[i]:
                    exact[i] = None
                elif not _utf8(exact[i]):
                    mismatch[i] = True
                    exact[i] = None
            if not any(e is not None for e in exact):
                exact = None
        value[out | mismatch] = np.nan
        codes[out] = quality.BAD_OUT_OF_RANGE
        codes[mismatch] = quality.BAD_TYPE_MISMATCH
        return Fitted(value, codes, exact, out, mismatch)

    def wire_values(
        self,
        idx: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        exact: Exact | None,
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], list[bytes]]:
        """Metric field number, wire bits and texts of fitted samples: integers rounded
        and written as two's complement of their width (exact ones from ``exact``), floats
        as their IEEE bits, texts as UTF-8, NaN without text as ``is_null``."""
        null = np.isnan(value)
        if exact is not None:
            null &= np.fromiter((not isinstance(e, str) for e in exact), bool, len(exact))
        field = np.where(null, np.uint8(IS_NULL), self.field[idx])
        raw = np.zeros(len(idx), dtype=np.uint64)
        m = field == DOUBLE_VALUE
        raw[m] = value[m].view(np.uint64)
        m = field == FLOAT_VALUE
        raw[m] = value[m].astype(np.float32).view(np.uint32)
        m = field == BOOLEAN_VALUE
        raw[m] = value[m] != 0
        m = (field == INT_VALUE) | (field == LONG_VALUE)
        rounded = np.rint(value[m])
        as_signed = np.where(rounded >= 2.0**63, rounded - 2.0**64, rounded).astype(np.int64)
        raw[m] = as_signed.view(np.uint64) & self.mask[idx[m]]
        texts: list[bytes] = []
        if exact is not None:
            for i in np.flatnonzero(exact_held(exact)).tolist():
                e = exact[i]
                if isinstance(e, str):
                    texts.append(e.encode())
                else:
                    raw[i] = e % (int(self.mask[int(idx[i])]) + 1)
        return field, raw, texts

    def python_value(self, i: int, value: float, exact: object) -> int | float | bool | str | None:
        """A birth value: what the data path writes for the same sample, as a Python value
        (None: the metric is null)."""
        if isinstance(exact, int | str):
            return exact
        if math.isnan(value):
            return None
        wire = self._wires[i]
        if wire.field == BOOLEAN_VALUE:
            return value != 0
        if wire.bits:
            return int(np.rint(value))
        return value


def _kinds(exact: Exact | None, n: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which samples carry text, and which an integer beyond 2**53."""
    if exact is None:
        none = np.zeros(n, dtype=np.bool_)
        return none, none
    text = np.fromiter((isinstance(e, str) for e in exact), dtype=np.bool_, count=n)
    big = np.fromiter(
        (isinstance(e, int) and not isinstance(e, bool) for e in exact), dtype=np.bool_, count=n
    )
    return text, big


def _utf8(text: str) -> bool:
    """A protobuf string must be UTF-8: a lone surrogate cannot be sent."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def same_exact(a: Exact, b: Exact) -> npt.NDArray[np.bool_]:
    """Elementwise equality of two ``exact`` columns (None equals None; 1 never equals
    True or '1')."""
    return np.fromiter(
        (type(x) is type(y) and x == y for x, y in zip(a, b, strict=True)),
        dtype=np.bool_,
        count=len(a),
    )
