"""An asset's maintenance history as the maintenance loop and the planner read it: the
last service, what is open, and how often and how long the same problem took before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.maintenance.workorder import WorkOrder


@dataclass(frozen=True)
class AssetHistory:
    asset: str
    last_service: WorkOrder | None
    """The newest work order done on the asset (any kind)."""
    open_orders: tuple[WorkOrder, ...]
    past_failures: tuple[WorkOrder, ...]
    """Done work orders for the failure mode asked about, newest first."""

    @property
    def last_service_ns(self) -> int | None:
        return self.last_service.closed_ns if self.last_service else None

    @property
    def mean_repair_s(self) -> float | None:
        """Mean time from start to done of the past failures (None without any)."""
        times = [t for t in (repair_s(o) for o in self.past_failures) if t is not None]
        return sum(times) / len(times) if times else None


def repair_s(order: WorkOrder) -> float | None:
    """Seconds from the job's start (``in_progress``) to ``done``, when it has both."""
    started: int | None = next(
        (int(t["at_ns"]) for t in order.transitions if t["to"] == "in_progress"), None
    )
    if started is None or order.closed_ns is None or order.state != "done":
        return None
    return (order.closed_ns - started) / NS


def history_of(
    asset: str, orders: Sequence[WorkOrder], *, failure_mode: str | None
) -> AssetHistory:
    """The history from all of ``asset``'s work orders (any order)."""
    mine = [o for o in orders if o.asset == asset]
    done = sorted(
        (o for o in mine if o.state == "done"), key=lambda o: o.closed_ns or 0, reverse=True
    )
    return AssetHistory(
        asset=asset,
        last_service=done[0] if done else None,
        open_orders=tuple(o for o in mine if o.is_open),
        past_failures=tuple(o for o in done if o.failure_mode == failure_mode),
    )
