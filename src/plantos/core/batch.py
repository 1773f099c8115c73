"""Columnar sample batches: the unit that crosses every boundary in PlantOS.

Python does per-batch work, numpy and the databases do per-point work. A batch
holds four equally long arrays; it is immutable once built, so one batch can be
handed to the historian, the live state and analytics without copies.
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

ARROW_SCHEMA = pa.schema(
    [
        ("tag_id", pa.int32()),
        ("ts", pa.int64()),
        ("value", pa.float64()),
        ("quality", pa.uint32()),
    ]
)


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Samples of any number of tags: tag id, UTC timestamp in ns, value, OPC UA status code."""

    tag_id: TagIds
    ts: Timestamps
    value: Values
    quality: Qualities

    def __post_init__(self) -> None:
        n = len(self.tag_id)
        if not (len(self.ts) == len(self.value) == len(self.quality) == n):
            lengths = (len(self.tag_id), len(self.ts), len(self.value), len(self.quality))
            raise ValueError(f"batch columns differ in length: {lengths}")
        for name, arr, dtype in (
            ("tag_id", self.tag_id, np.int32),
            ("ts", self.ts, np.int64),
            ("value", self.value, np.float64),
            ("quality", self.quality, np.uint32),
        ):
            if arr.dtype != dtype:
                raise TypeError(f"batch column {name} must be {np.dtype(dtype)}, got {arr.dtype}")

    @classmethod
    def of(
        cls,
        tag_id: npt.ArrayLike,
        ts: npt.ArrayLike,
        value: npt.ArrayLike,
        quality_codes: npt.ArrayLike | None = None,
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
        )

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
        return cls(
            np.concatenate([b.tag_id for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
            np.concatenate([b.quality for b in batches]),
        )

    def __len__(self) -> int:
        return len(self.tag_id)

    def select(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> SampleBatch:
        """The samples picked by a boolean mask or an index array."""
        return SampleBatch(self.tag_id[mask], self.ts[mask], self.value[mask], self.quality[mask])

    def to_arrow(self) -> pa.Table:
        """Zero-copy view as an Arrow table, the form DuckDB and PostgreSQL ingest fastest."""
        return pa.Table.from_arrays(
            [
                pa.array(self.tag_id),
                pa.array(self.ts),
                pa.array(self.value),
                pa.array(self.quality),
            ],
            schema=ARROW_SCHEMA,
        )
