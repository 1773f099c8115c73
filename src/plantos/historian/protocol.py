"""The historian port and the shapes its queries return."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from plantos.core.batch import Exact, SampleBatch
from plantos.model.plant import TagDef

AGGREGATES = ("avg", "min", "max", "sum", "first", "last", "count", "twa", "changes")
STATE_AGGREGATES = ("first", "last", "count", "changes")
"""What a text tag's buckets offer: its values are states to follow, not numbers to add."""


@dataclass(frozen=True, slots=True)
class Tier:
    """A rollup tier: buckets of ``width_ns``, kept for ``retention_ns`` (``None``: forever)."""

    width_ns: int
    retention_ns: int | None


@dataclass(frozen=True, slots=True)
class RawResult:
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    quality: npt.NDArray[np.uint32]
    truncated: bool
    exact: Exact | None = None
    """Per sample the text or exact integer where ``value`` cannot hold it (see
    :mod:`plantos.core.batch`); ``None`` when no sample needed one."""


@dataclass(frozen=True, slots=True)
class BucketResult:
    """Aggregates per bucket start; buckets without a good sample are absent."""

    bucket_ns: npt.NDArray[np.int64]
    values: dict[str, npt.NDArray[Any]]
    source: str
    exact: dict[str, Exact] = field(default_factory=dict)
    """Per aggregate (``first``, ``last``) the text or exact integers its float column
    cannot hold, as in :class:`RawResult`."""


class Historian(Protocol):
    """Every historian backend (DuckDB embedded, PostgreSQL scale-out) implements this."""

    newest_ts: int | None
    """Timestamp of the newest sample stored, ``None`` while empty."""

    def register_tags(self, tags: Iterable[TagDef]) -> dict[str, int]:
        """Give every tag path a stable integer id, keeping ids of tags seen before."""
        ...

    def tag_ids(self) -> dict[str, int]:
        """Every tag path the historian has an id for."""
        ...

    def write(self, batch: SampleBatch) -> None:
        """Store a batch durably; when it returns, the samples survive a crash."""
        ...

    def query_raw(self, tag_id: int, start_ns: int, end_ns: int, *, limit: int) -> RawResult: ...

    def newest_samples(self, since_ns: int) -> SampleBatch:
        """The newest stored sample of every tag that has one at or after ``since_ns``:
        what a restarted platform knew last (live values, and what a source restating
        them must not store twice)."""
        ...

    def query_buckets(
        self, tag_id: int, start_ns: int, end_ns: int, *, bucket_ns: int, aggs: Iterable[str]
    ) -> BucketResult: ...

    def maintain(self, now_ns: int) -> dict[str, Any]:
        """Bring rollups up to date and apply retention; return what was done."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
