"""A published plan as the operations domain keeps it: who runs what where and when.

The scheduler computes plans; the domain stores the one in force and the one before it,
so planners see what the last recalculation changed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlannedOperation:
    """Operation ``index`` of order ``order_id`` on ``asset`` over ``[start_s, end_s)``."""

    order_id: str
    index: int
    asset: str
    start_s: int
    end_s: int


@dataclass(frozen=True, slots=True)
class PublishedPlan:
    """One plan with why it was made (``trigger``, ``asset``) and how good it is."""

    created_ns: int
    trigger: str
    asset: str | None
    solver: str
    status: str
    weighted_tardiness_s: int
    makespan_s: int
    moved: int
    solve_ms: float
    operations: tuple[PlannedOperation, ...]
    id: int | None = None

    def on_asset(self, asset: str) -> list[PlannedOperation]:
        """This asset's operations in start order."""
        return sorted((o for o in self.operations if o.asset == asset), key=lambda o: o.start_s)
