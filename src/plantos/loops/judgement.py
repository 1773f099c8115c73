"""The maintenance loop's judgements, pure: what the schedule says about an asset, when
to take it for maintenance, and how urgent the job is.

>>> choose_window([(100, 200), (260, 400)], earliest_s=50, latest_end_s=1000, duration_s=60)
(200, 260, True)
>>> choose_window([(100, 200)], earliest_s=50, latest_end_s=150, duration_s=60)
(50, 110, False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from plantos.mom.domain.plan import PublishedPlan

HOUR_S = 3600
CRITICALITY_POINTS = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class ScheduleView:
    """The plan in force seen from one asset over the loop's horizon (``due_of`` gives
    the due dates, in seconds, of the orders it names)."""

    busy: tuple[tuple[int, int], ...]
    """The asset's planned operations ``[start_s, end_s)`` ending after now, in order."""
    affected_orders: tuple[str, ...]
    """Orders with an operation on the asset inside the horizon, by start."""
    due_before_failure: tuple[str, ...]
    """Those of them due before the estimated failure: the ones a breakdown would hurt."""
    running_until_s: int | None
    """End of the operation running on the asset now: a window starts after it."""


def schedule_view(
    plan: PublishedPlan | None,
    due_of: Callable[[Sequence[str]], Mapping[str, int]],
    asset: str,
    *,
    now_s: int,
    horizon_s: int,
    failure_s: int | None,
) -> ScheduleView:
    ops = [o for o in (plan.on_asset(asset) if plan else []) if o.end_s > now_s]
    inside = [o for o in ops if o.start_s < now_s + horizon_s]
    affected = tuple(dict.fromkeys(o.order_id for o in inside))
    due = due_of(affected)
    limit = failure_s if failure_s is not None else now_s + horizon_s
    running = [o.end_s for o in ops if o.start_s <= now_s]
    return ScheduleView(
        busy=tuple((o.start_s, o.end_s) for o in ops),
        affected_orders=affected,
        due_before_failure=tuple(a for a in affected if due.get(a, limit + 1) <= limit),
        running_until_s=max(running) if running else None,
    )


def choose_window(
    busy: Sequence[tuple[int, int]], *, earliest_s: int, latest_end_s: int | None, duration_s: int
) -> tuple[int, int, bool]:
    """``(start_s, end_s, idle)``: the first gap of ``duration_s`` in the asset's plan from
    ``earliest_s`` that ends by ``latest_end_s`` (``idle`` True: no operation must move);
    without one, the earliest window (the replan moves the operations in it)."""
    candidates = sorted({earliest_s, *(e for _, e in busy if e > earliest_s)})
    for start in candidates:
        end = start + duration_s
        if latest_end_s is not None and end > latest_end_s:
            break
        if not any(s < end and start < e for s, e in busy):
            return start, end, True
    return earliest_s, earliest_s + duration_s, False


def priority_of(
    *, severity_rank: int, hours_to_failure: float | None, criticality: str, impact: int
) -> int:
    """1 (emergency) to 4 (routine) from points: the severity's rank, the asset's
    criticality (0-3), urgency (3 under 8 h to failure, 2 under a day, 1 under three
    days) and schedule impact (1 with orders planned on the asset, 2 when some are due
    before the failure).

    >>> priority_of(severity_rank=1, hours_to_failure=10, criticality="critical", impact=2)
    1
    >>> priority_of(severity_rank=0, hours_to_failure=None, criticality="low", impact=0)
    4
    """
    urgency = 0
    if hours_to_failure is not None:
        urgency = (
            3
            if hours_to_failure < 8
            else 2
            if hours_to_failure < 24
            else 1
            if hours_to_failure < 72
            else 0
        )
    points = severity_rank + CRITICALITY_POINTS.get(criticality, 1) + urgency + impact
    return 1 if points >= 8 else 2 if points >= 6 else 3 if points >= 3 else 4
