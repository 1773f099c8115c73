"""Durations (``8h``, ``30m``, ``250ms``) and points in time (ISO 8601, ``now``, ``-1h``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from plantos.core.errors import QueryError

_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 7 * 86_400_000_000_000,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|m|h|d|w)\s*$")


def parse_duration_ns(text: str) -> int:
    """Parse a duration such as ``8h``, ``30m``, ``1.5s`` or ``100ms`` into nanoseconds.

    >>> parse_duration_ns("90s")
    90000000000
    >>> parse_duration_ns("250ms")
    250000000
    """
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r} (write e.g. 500ms, 30s, 15m, 8h, 7d)")
    return round(float(m.group(1)) * _UNIT_NS[m.group(2)])


def format_duration(ns: int) -> str:
    """Shortest exact rendering of a duration (``3600000000000`` -> ``1h``)."""
    for unit in ("w", "d", "h", "m", "s", "ms", "us"):
        size = _UNIT_NS[unit]
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def parse_time_ns(text: str, *, now_ns: int) -> int:
    """Parse a point in time: ISO 8601 (naive means UTC), ``now``, ``-2h`` (relative to now),
    or integer nanoseconds since the epoch."""
    s = text.strip()
    if s == "now":
        return now_ns
    if s.startswith("-"):
        try:
            return now_ns - parse_duration_ns(s[1:])
        except ValueError:
            pass
    if re.fullmatch(r"\d{12,}", s):
        return int(s)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"not a time: {text!r} (use ISO 8601 like 2026-01-05T06:00:00Z, 'now' or '-1h')"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1_000


def iso(ts_ns: int) -> str:
    """ISO 8601 UTC with millisecond precision, the form the API and reports use."""
    dt = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    ms = (ts_ns % 1_000_000_000) // 1_000_000
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
