"""Turn composed parts into the aggregates a caller asked for, in numpy.

The time-weighted average uses step-hold (last observation carried forward):
each sample holds until the next one. A bucket's average covers from its first
sample (or from its start, when an earlier bucket gives the value held into it)
to its end (or to the query horizon, for the newest bucket), so a value that
held for 50 s weighs 50 times one that held for 1 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plantos.historian.protocol import BucketResult

NS = 1e9


def finish_buckets(
    rows: dict[str, Any], *, bucket_ns: int, horizon_ns: int, aggs: list[str], source: str
) -> BucketResult:
    bucket = np.asarray(rows["bucket"], dtype=np.int64)
    n = np.asarray(rows["n"], dtype=np.int64)
    values: dict[str, np.ndarray[Any, Any]] = {}
    for agg in aggs:
        if agg == "count":
            values[agg] = n
        elif agg == "avg":
            values[agg] = np.asarray(rows["s"], dtype=np.float64) / np.maximum(n, 1)
        elif agg == "sum":
            values[agg] = np.asarray(rows["s"], dtype=np.float64)
        elif agg == "min":
            values[agg] = np.asarray(rows["mn"], dtype=np.float64)
        elif agg == "max":
            values[agg] = np.asarray(rows["mx"], dtype=np.float64)
        elif agg == "first":
            values[agg] = np.asarray(rows["fv"], dtype=np.float64)
        elif agg == "last":
            values[agg] = np.asarray(rows["lv"], dtype=np.float64)
        elif agg == "twa":
            values[agg] = _time_weighted(rows, bucket, bucket_ns, horizon_ns)
    return BucketResult(bucket, values, source)


def _time_weighted(
    rows: dict[str, Any], bucket: np.ndarray[Any, Any], bucket_ns: int, horizon_ns: int
) -> np.ndarray[Any, Any]:
    fts = np.asarray(rows["fts"], dtype=np.int64)
    lts = np.asarray(rows["lts"], dtype=np.int64)
    fv = np.asarray(rows["fv"], dtype=np.float64)
    lv = np.asarray(rows["lv"], dtype=np.float64)
    integral = np.asarray(rows["integral"], dtype=np.float64)
    if len(bucket) == 0:
        return np.empty(0, dtype=np.float64)
    held_in = np.r_[np.nan, lv[:-1]]
    lead_s = np.where(np.isnan(held_in), 0.0, (fts - bucket) / NS)
    lead_area = np.where(np.isnan(held_in), 0.0, held_in * lead_s)
    tail_end = np.minimum(bucket + bucket_ns, horizon_ns)
    tail_s = np.maximum(tail_end - lts, 0) / NS
    covered = lead_s + (lts - fts) / NS + tail_s
    area = lead_area + integral + lv * tail_s
    with np.errstate(invalid="ignore", divide="ignore"):
        twa = area / covered
    return np.where(covered > 0, twa, fv)
