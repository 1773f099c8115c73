"""A published plan as the operations domain keeps it: who runs what where and when.

The scheduler computes plans; the domain stores the one in force and the one before it,
so planners see what the last recalculation changed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlannedOperation:
    """Operation ``index`` of order ``order_id`` on ``asset`` over ``[start_s, end_s)``;
    ``routing`` names the routing the plan makes the order by when it could choose among
    alternatives (``None``: the order's own, with no choice)."""

    order_id: str
    index: int
    asset: str
    start_s: int
    end_s: int
    routing: str | None = None


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

    def routing_of(self, order_id: str) -> str | None:
        """The routing this plan chose for the order, when it had a choice."""
        return next(
            (o.routing for o in self.operations if o.order_id == order_id and o.routing), None
        )
