"""A history request as users write it (``from=-1h&bucket=1m&agg=avg,max``), parsed and run.

Shared by the HTTP API and the ``plantos query`` command so both accept the same
words and answer with the same columnar shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from plantos.core import quality
from plantos.core.batch import Exact
from plantos.core.errors import QueryError
from plantos.core.timeparse import format_duration, iso, parse_duration_ns, parse_time_ns
from plantos.core.timeunits import HOUR_NS
from plantos.historian.protocol import AGGREGATES, Historian
from plantos.model.valuetypes import JsonValue, json_values

DEFAULT_SPAN_NS = HOUR_NS
MAX_RAW_LIMIT = 1_000_000


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    start_ns: int
    end_ns: int
    bucket_ns: int | None
    aggs: tuple[str, ...]
    limit: int

    @classmethod
    def parse(
        cls,
        *,
        now_ns: int,
        start: str | None = None,
        end: str | None = None,
        bucket: str | None = None,
        agg: str | None = None,
        limit: int = 10_000,
    ) -> HistoryRequest:
        """Validate user input; every problem is a :class:`QueryError` with the reason."""
        end_ns = parse_time_ns(end, now_ns=now_ns) if end else now_ns
        start_ns = parse_time_ns(start, now_ns=now_ns) if start else end_ns - DEFAULT_SPAN_NS
        if start_ns >= end_ns:
            raise QueryError(f"'from' ({iso(start_ns)}) must be before 'to' ({iso(end_ns)})")
        bucket_ns = None
        if bucket:
            try:
                bucket_ns = parse_duration_ns(bucket)
            except ValueError as exc:
                raise QueryError(str(exc)) from None
            if bucket_ns <= 0:
                raise QueryError(f"bucket must be longer than zero, got {bucket!r}")
        aggs = tuple(a.strip() for a in (agg or "").split(",") if a.strip())
        unknown = [a for a in aggs if a not in AGGREGATES]
        if unknown or (agg is not None and not aggs):
            named = ", ".join(repr(a) for a in unknown) if unknown else repr(agg)
            raise QueryError(f"unknown aggregate {named}; use {', '.join(AGGREGATES)}")
        if bucket_ns is None and agg:
            raise QueryError("'agg' needs a 'bucket' (e.g. bucket=1m)")
        if not 1 <= limit <= MAX_RAW_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_RAW_LIMIT}, got {limit}")
        return cls(start_ns, end_ns, bucket_ns, aggs, limit)

    def run(self, historian: Historian, tag_id: int, dtype: str) -> dict[str, Any]:
        """Columnar answer: ``t`` (ISO times) plus one array per aggregate, or raw columns.
        Values are typed by the tag's ``dtype``: text as strings, whole numbers exact."""
        head: dict[str, Any] = {"from": iso(self.start_ns), "to": iso(self.end_ns)}
        if self.bucket_ns is None:
            raw = historian.query_raw(tag_id, self.start_ns, self.end_ns, limit=self.limit)
            return head | {
                "bucket": None,
                "source": "raw",
                "truncated": raw.truncated,
                "t_ms": (raw.ts // 1_000_000).tolist(),
                "value": json_values(dtype, raw.value, raw.exact),
                "quality": _quality_names(raw.quality),
            }
        aggs = self.aggs or (("last",) if dtype == "text" else ("avg",))
        result = historian.query_buckets(
            tag_id, self.start_ns, self.end_ns, bucket_ns=self.bucket_ns, aggs=aggs
        )
        columns = {
            name: _json_column(name, vals, result.exact.get(name), dtype)
            for name, vals in result.values.items()
        }
        return head | {
            "bucket": format_duration(self.bucket_ns),
            "source": result.source,
            "truncated": False,
            "t_ms": (result.bucket_ns // 1_000_000).tolist(),
            **columns,
        }


def _json_column(
    name: str, values: np.ndarray[Any, Any], exact: Exact | None, dtype: str
) -> list[JsonValue]:
    """One aggregate's column: counts as integers, first, last and extremes typed like the
    tag's values, averages and sums as floats."""
    if name in ("count", "changes"):
        counts: list[JsonValue] = values.tolist()
        return counts
    typed = dtype if name in ("first", "last", "min", "max") else "float"
    return json_values(typed, values.astype(np.float64), exact)


def _quality_names(codes: np.ndarray[Any, Any]) -> list[str]:
    """Status code names per sample, naming each distinct code once (there are few)."""
    distinct, index = np.unique(codes, return_inverse=True)
    names = [quality.name(int(c)) for c in distinct]
    return [names[i] for i in index.tolist()]
