"""Columnar sample batches: the unit that crosses every boundary in PlantOS.

Python does per-batch work, numpy and the databases do per-point work. A batch
holds four equally long arrays; it is immutable once built, so one batch can be
handed to the historian, the live state and analytics without copies.

Values a float64 cannot hold (text, and integers beyond 2**53) ride in an optional
fifth column, ``exact``: per sample ``None`` where ``value`` is the value itself, the
exact ``int`` where ``value`` holds only its nearest float, or the ``str`` of a text
tag (``value`` is then NaN). A batch of plain numbers carries no such column at all,
so the numeric path costs what it did before text and exact integers existed; every
consumer that only computes on numbers reads ``value`` and need not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from plantos.core import quality

TagIds = npt.NDArray[np.int32]
Timestamps = npt.NDArray[np.int64]
Values = npt.NDArray[np.float64]
Qualities = npt.NDArray[np.uint32]
Exact = npt.NDArray[np.object_]
"""Per sample ``None`` (``value`` is exact), an ``int`` or a ``str``."""

NUMBERS_SCHEMA = pa.schema(
    [
        ("tag_id", pa.int32()),
        ("ts", pa.int64()),
        ("value", pa.float64()),
        ("quality", pa.uint32()),
    ]
)
ARROW_SCHEMA = NUMBERS_SCHEMA.append(pa.field("exact", pa.string()))


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Samples of any number of tags: tag id, UTC timestamp in ns, value, OPC UA status
    code, and where needed the exact value (see the module's docstring)."""

    tag_id: TagIds
    ts: Timestamps
    value: Values
    quality: Qualities
    exact: Exact | None = None

    def __post_init__(self) -> None:
        n = len(self.tag_id)
        lengths = [len(self.tag_id), len(self.ts), len(self.value), len(self.quality)]
        if self.exact is not None:
            lengths.append(len(self.exact))
        if any(length != n for length in lengths):
            raise ValueError(f"batch columns differ in length: {tuple(lengths)}")
        for name, arr, dtype in (
            ("tag_id", self.tag_id, np.int32),
            ("ts", self.ts, np.int64),
            ("value", self.value, np.float64),
            ("quality", self.quality, np.uint32),
            ("exact", self.exact, np.object_),
        ):
            if arr is None:
                continue
            if arr.dtype != dtype:
                raise TypeError(f"batch column {name} must be {np.dtype(dtype)}, got {arr.dtype}")

    @classmethod
    def of(
        cls,
        tag_id: npt.ArrayLike,
        ts: npt.ArrayLike,
        value: npt.ArrayLike,
        quality_codes: npt.ArrayLike | None = None,
        exact: Exact | None = None,
    ) -> SampleBatch:
        """Build a batch from anything array-like, converting dtypes; quality defaults to Good.

        >>> SampleBatch.of([1, 2], [10, 20], [0.5, 1.5]).value.tolist()
        [0.5, 1.5]
        """
        values = np.ascontiguousarray(value, dtype=np.float64)
        q = (
            np.full(len(values), quality.GOOD, dtype=np.uint32)
            if quality_codes is None
            else np.ascontiguousarray(quality_codes, dtype=np.uint32)
        )
        return cls(
            np.ascontiguousarray(tag_id, dtype=np.int32),
            np.ascontiguousarray(ts, dtype=np.int64),
            values,
            q,
            exact,
        )

    @classmethod
    def from_values(
        cls,
        tag_id: npt.ArrayLike,
        ts: npt.ArrayLike,
        values: Sequence[object],
        quality_codes: npt.ArrayLike | None = None,
    ) -> SampleBatch:
        """Build a batch from Python values of any kind a device sends (float, int of any
        size, bool, str, ``None`` for no value), filling ``exact`` only where needed.

        >>> b = SampleBatch.from_values([1, 2, 3], [10, 10, 10], [0.5, 2**63 + 1, "P-100"])
        >>> b.exact.tolist(), bool(b.value[1] == 2.0**63)
        ([None, 9223372036854775809, 'P-100'], True)
        """
        value, exact = split_values(values)
        return cls.of(tag_id, ts, value, quality_codes, exact)

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls.of([], [], [])

    @classmethod
    def concat(cls, batches: Sequence[SampleBatch]) -> SampleBatch:
        """Join batches in order into one."""
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return cls.empty()
        exact = None
        if any(b.exact is not None for b in batches):
            exact = np.concatenate([b.exact_column() for b in batches])
        return cls(
            np.concatenate([b.tag_id for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
            np.concatenate([b.quality for b in batches]),
            exact,
        )

    def __len__(self) -> int:
        return len(self.tag_id)

    def exact_column(self) -> Exact:
        """``exact`` as an array even when the batch carries none (all ``None``)."""
        if self.exact is not None:
            return self.exact
        return np.full(len(self), None, dtype=object)

    def select(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> SampleBatch:
        """The samples picked by a boolean mask or an index array."""
        return SampleBatch(
            self.tag_id[mask],
            self.ts[mask],
            self.value[mask],
            self.quality[mask],
            None if self.exact is None else self.exact[mask],
        )

    def with_quality(self, codes: Qualities) -> SampleBatch:
        """The same samples with other status codes."""
        return SampleBatch(self.tag_id, self.ts, self.value, codes, self.exact)

    def to_arrow(self) -> pa.Table:
        """Zero-copy view as an Arrow table, the form DuckDB and PostgreSQL ingest fastest.
        ``exact`` becomes a string column (integers in decimal), null where ``value``
        is exact: all null, and free, for a batch of plain numbers."""
        exact = exact_strings(self.exact, len(self))
        return pa.Table.from_arrays(
            [
                pa.array(self.tag_id),
                pa.array(self.ts),
                pa.array(self.value),
                pa.array(self.quality),
                exact,
            ],
            schema=ARROW_SCHEMA,
        )

    def numbers_arrow(self) -> pa.Table:
        """The four numeric columns alone, zero-copy: what the historian's ``samples``
        table takes (the exact values go beside it, see :meth:`exact_arrow`)."""
        return pa.Table.from_arrays(
            [
                pa.array(self.tag_id),
                pa.array(self.ts),
                pa.array(self.value),
                pa.array(self.quality),
            ],
            schema=NUMBERS_SCHEMA,
        )

    def exact_arrow(self) -> pa.Table | None:
        """Tag id, time and exact value (as text) of the samples that carry one; ``None``
        when none does."""
        if self.exact is None:
            return None
        held = exact_held(self.exact)
        if not held.any():
            return None
        return pa.table(
            {
                "tag_id": self.tag_id[held],
                "ts": self.ts[held],
                "exact": exact_strings(self.exact[held], int(held.sum())),
            }
        )

    @classmethod
    def from_arrow(cls, table: pa.Table) -> SampleBatch:
        """The batch :meth:`to_arrow` made (an ``exact`` column is optional)."""
        value = table.column("value").to_numpy().astype(np.float64, copy=False)
        exact = None
        if "exact" in table.column_names and table.column("exact").null_count < len(table):
            exact = exact_from_strings(table.column("exact").to_pylist(), value)
        return cls(
            table.column("tag_id").to_numpy().astype(np.int32, copy=False),
            table.column("ts").to_numpy().astype(np.int64, copy=False),
            value,
            table.column("quality").to_numpy().astype(np.uint32, copy=False),
            exact,
        )

    def to_ipc(self) -> bytes:
        """The batch as one Arrow IPC stream: how batches are kept on disk (dead letters)."""
        sink = pa.BufferOutputStream()
        table = self.to_arrow()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return bytes(sink.getvalue().to_pybytes())

    @classmethod
    def from_ipc(cls, data: bytes) -> SampleBatch:
        """The batch :meth:`to_ipc` wrote; raises ``pyarrow.ArrowInvalid`` on damaged data."""
        return cls.from_arrow(pa.ipc.open_stream(data).read_all())


def exact_strings(exact: Exact | None, n: int) -> pa.Array:
    """``exact`` as text for storage and transport: integers in decimal, null where
    ``value`` is exact (all of them, as a free null array, when there is no column)."""
    if exact is None:
        return pa.nulls(n, pa.string())
    ints = exact_kinds(exact) == EXACT_INT
    if ints.any():
        exact = exact.copy()
        exact[ints] = [str(v) for v in exact[ints]]
    return pa.array(exact, pa.string())


EXACT_NONE, EXACT_INT, EXACT_TEXT = 0, 1, 2
_KIND_OF_TYPE = {type(None): EXACT_NONE, int: EXACT_INT, str: EXACT_TEXT}


def exact_kinds(exact: Exact) -> npt.NDArray[np.int8]:
    """What every entry of an ``exact`` column holds: :data:`EXACT_NONE`,
    :data:`EXACT_INT` or :data:`EXACT_TEXT`, found in one pass in C (no Python loop)."""
    return np.fromiter(map(_KIND_OF_TYPE.__getitem__, map(type, exact)), np.int8, len(exact))


def exact_held(exact: Exact) -> npt.NDArray[np.bool_]:
    """Which samples of an ``exact`` column hold a value."""
    held: npt.NDArray[np.bool_] = exact_kinds(exact) != EXACT_NONE
    return held


def exact_from_strings(strings: Sequence[str | None], value: Values) -> Exact:
    """Undo :func:`exact_strings`. A stored string is text where its ``value`` is NaN and an
    integer where ``value`` holds the integer's nearest float, so no marker is needed."""
    exact = np.full(len(strings), None, dtype=object)
    for i, text in enumerate(strings):
        if text is not None:
            exact[i] = text if np.isnan(value[i]) else int(text)
    return exact


FLOAT_EXACT_LIMIT = 2**53
"""Integers up to this magnitude are exact in a float64; beyond it they need ``exact``."""


def split_values(values: Sequence[object]) -> tuple[Values, Exact | None]:
    """The ``value`` and ``exact`` columns for Python values: bools and numbers go to
    ``value``; integers beyond 2**53 also to ``exact``; text to ``exact`` with NaN in
    ``value``; ``None`` (no value) is NaN. ``exact`` is ``None`` when nothing needed it."""
    value = np.empty(len(values), dtype=np.float64)
    exact: Exact | None = None
    for i, v in enumerate(values):
        if isinstance(v, str):
            value[i] = np.nan
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > FLOAT_EXACT_LIMIT:
            value[i] = float(v)
        else:
            value[i] = np.nan if v is None else float(v)  # type: ignore[arg-type]
            continue
        if exact is None:
            exact = np.full(len(values), None, dtype=object)
        exact[i] = v
    return value, exact
