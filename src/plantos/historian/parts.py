"""Partial aggregates in numpy: the same *parts* as :mod:`plantos.historian.sql`, for samples
already in memory, and composing parts into wider buckets.

A part (one tag, one sub-bucket) holds ``n, s, mn, mx, fts, fv, lts, lv, integral``: count,
sum, extremes, first and last sample, and the step-hold integral between its samples in
value x seconds. Parts from the database and parts computed here mix freely.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plantos.core import quality

Parts = dict[str, np.ndarray[Any, Any]]
COLUMNS = ("bucket", "n", "s", "mn", "mx", "fts", "fv", "lts", "lv", "integral")


def empty() -> Parts:
    return {
        c: np.empty(0, dtype=np.int64 if c in ("bucket", "n", "fts", "lts") else np.float64)
        for c in COLUMNS
    }


def from_samples(
    ts: np.ndarray[Any, Any],
    value: np.ndarray[Any, Any],
    codes: np.ndarray[Any, Any],
    width_ns: int,
) -> Parts:
    """Parts of one tag's samples, given in arrival order, per bucket of ``width_ns``.

    Bad or non-finite samples are left out, as in the database.
    """
    usable = ~quality.is_bad(codes) & np.isfinite(value)
    ts, value = ts[usable], value[usable]
    if len(ts) == 0:
        return empty()
    order = np.argsort(ts, kind="stable")  # by time, then arrival
    ts, value = ts[order], value[order]
    sub = ts - ts % width_ns
    starts = np.flatnonzero(np.r_[True, sub[1:] != sub[:-1]])
    ends = np.r_[starts[1:], len(ts)] - 1
    held = np.where(np.r_[sub[1:] == sub[:-1], False], np.r_[np.diff(ts), 0], 0)
    return {
        "bucket": sub[starts],
        "n": np.diff(np.r_[starts, len(ts)]),
        "s": np.add.reduceat(value, starts),
        "mn": np.minimum.reduceat(value, starts),
        "mx": np.maximum.reduceat(value, starts),
        "fts": ts[starts],
        "fv": value[starts],
        "lts": ts[ends],
        "lv": value[ends],
        "integral": np.add.reduceat(value * held, starts) / 1e9,
    }


def concat(pieces: list[Parts]) -> Parts:
    """Join time-ordered pieces that cover successive, disjoint spans, in that order."""
    pieces = [p for p in pieces if len(p["bucket"])]
    if len(pieces) <= 1:
        return pieces[0] if pieces else empty()
    return {c: np.concatenate([p[c] for p in pieces]) for c in COLUMNS}


def compose(parts: Parts, width_ns: int) -> Parts:
    """Merge time-ordered parts into buckets of ``width_ns`` (a multiple of their widths)."""
    if len(parts["bucket"]) == 0:
        return parts
    b = parts["bucket"] - parts["bucket"] % width_ns
    if np.array_equal(b, parts["bucket"]) and bool(np.all(b[1:] > b[:-1])):
        return parts  # every part already is one whole bucket
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    same_next = np.r_[b[1:] == b[:-1], False]
    gap_area = np.where(same_next, parts["lv"] * (np.r_[parts["fts"][1:], 0] - parts["lts"]), 0.0)
    return {
        "bucket": b[starts],
        "n": np.add.reduceat(parts["n"], starts),
        "s": np.add.reduceat(parts["s"], starts),
        "mn": np.minimum.reduceat(parts["mn"], starts),
        "mx": np.maximum.reduceat(parts["mx"], starts),
        "fts": parts["fts"][starts],
        "fv": parts["fv"][starts],
        "lts": parts["lts"][ends],
        "lv": parts["lv"][ends],
        "integral": np.add.reduceat(parts["integral"] + gap_area / 1e9, starts),
    }
