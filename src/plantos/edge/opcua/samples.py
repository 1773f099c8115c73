"""OPC UA data changes as batch columns: a variant's value split into ``value`` and
``exact``, timestamps as UTC nanoseconds, and the bounded buffer that holds them between
two collects."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from asyncua import ua

from plantos.core.batch import FLOAT_EXACT_LIMIT, SampleBatch

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Buffer:
    """Columnar, bounded: ``append`` returns False when full and the sample is dropped.
    Exact values (text, integers beyond 2**53) are kept aside by position, so a buffer of
    plain numbers builds its batch without an ``exact`` column."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._clear()

    def _clear(self) -> None:
        self._tag_id: list[int] = []
        self._ts: list[int] = []
        self._value: list[float] = []
        self._quality: list[int] = []
        self._exact: dict[int, int | str] = {}

    def __len__(self) -> int:
        return len(self._tag_id)

    def append(
        self, tag_id: int, ts_ns: int, value: float, code: int, exact: int | str | None = None
    ) -> bool:
        n = len(self._tag_id)
        if n >= self.capacity:
            return False
        if exact is not None:
            self._exact[n] = exact
        self._tag_id.append(tag_id)
        self._ts.append(ts_ns)
        self._value.append(value)
        self._quality.append(code)
        return True

    def extend(self, tag_id: int, ts_ns: list[int], values: list[float], code: int) -> bool:
        """Samples of one tag with one quality, all of them or (returning False) none."""
        n = len(ts_ns)
        if len(self._tag_id) + n > self.capacity:
            return False
        self._tag_id += [tag_id] * n
        self._ts += ts_ns
        self._value += values
        self._quality += [code] * n
        return True

    def drain(self) -> SampleBatch:
        exact = None
        if self._exact:
            exact = np.full(len(self._tag_id), None, dtype=object)
            for i, e in self._exact.items():
                exact[i] = e
        batch = SampleBatch.of(self._tag_id, self._ts, self._value, self._quality, exact)
        self._clear()
        return batch


def split_variant(value: Any) -> tuple[float | None, int | str | None]:
    """A variant's value as ``(value, exact)`` for a batch: numbers as float, booleans
    as 0/1, integers beyond 2**53 also exact, text (String, LocalizedText, DateTime as
    ISO 8601) as NaN and its text, a missing value (a Bad status) as NaN. ``(None, None)``
    for what no tag can hold (arrays, structures, byte strings)."""
    if value is None:
        return math.nan, None
    if isinstance(value, bool | float):
        return float(value), None
    if isinstance(value, int):
        return float(value), (value if abs(value) > FLOAT_EXACT_LIMIT else None)
    if isinstance(value, str):
        return math.nan, value
    if isinstance(value, ua.LocalizedText):
        return math.nan, value.Text or ""
    if isinstance(value, datetime):
        return math.nan, utc(value).isoformat()
    return None, None


def waveform_values(value: list[Any]) -> list[float] | None:
    """An array variant's elements as floats (numbers and booleans); None if any is not.

    >>> waveform_values([0.5, 2, True]), waveform_values([0.5, "x"])
    ([0.5, 2.0, 1.0], None)
    """
    if not all(isinstance(v, int | float) for v in value):
        return None
    return [float(v) for v in value]


def utc(ts: datetime) -> datetime:
    """asyncua's timestamps are naive UTC."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def ns_of(ts: datetime) -> int:
    """UTC nanoseconds of an asyncua timestamp (naive datetimes are UTC)."""
    delta = utc(ts) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
