"""Events the SPC monitor emits: rule violations and flat (stuck) signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class SpcViolation(Event):
    """A run rule fired on a control chart.

    ``ts_ns`` is the time of the point that completes the pattern (the subgroup's
    last sample, or its window's end); ``point_ts_ns`` and ``point_values`` are
    the points that take part, oldest first, ending with that point. The centre
    and limits are the ones the point was judged against. ``phase`` is
    ``baseline`` for points of the period the limits were computed from (judged
    once, when the limits are frozen) and ``monitoring`` afterwards.
    """

    kind: ClassVar[str] = "SpcViolation"
    rule: int
    rule_set: str
    chart: str
    statistic: str
    point_ts_ns: tuple[int, ...]
    point_values: tuple[float, ...]
    center: float
    lcl: float
    ucl: float
    phase: str = "monitoring"


@dataclass(frozen=True, slots=True, kw_only=True)
class StuckSignal(Event):
    """Limits could not be computed because the signal did not vary: a flat line.

    A stuck sensor reads constant; limits of zero width would flag every honest
    change as out of control, so the monitor refuses them and says so instead.
    ``points`` subgroups between ``from_ns`` and ``to_ns`` all plotted ``value``.
    """

    kind: ClassVar[str] = "StuckSignal"
    chart: str
    statistic: str
    value: float
    points: int
    from_ns: int
    to_ns: int
