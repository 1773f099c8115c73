"""The one way connector configurations write durations: ``250ms``, ``2s``, ``1m``, positive,
held in nanoseconds after validation."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from plantos.core.timeparse import parse_duration_ns


def positive_duration_ns(value: object) -> int:
    """Parse a duration with its unit; a bare number or a zero is refused with the reason."""
    if not isinstance(value, str):
        raise ValueError(f"write a duration with its unit (e.g. 500ms, 2s), got {value!r}")
    ns = parse_duration_ns(value)
    if ns <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return ns


DurationNs = Annotated[int, BeforeValidator(positive_duration_ns)]
"""A duration written as ``250ms``/``2s``/``1m``, held in nanoseconds."""
