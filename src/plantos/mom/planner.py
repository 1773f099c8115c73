"""Recalculating the plan: read the floor, repair at once, then search for better.

A recalculation has two steps. :meth:`Planner.repair` reads the open orders, routings
and the plan in force, builds the scheduling problem (:mod:`plantos.mom.planning`),
keeps every operation of the plan in force that still fits and moves the rest to the
first free slot, and publishes that plan with a ``ScheduleChanged`` event in one
transaction, in milliseconds: the floor and the maintenance loop learn within the
second that nothing is planned on a machine that went down or into a maintenance
window. :meth:`Planner.improve` then searches with CP-SAT from that plan within its
work limit (deterministic, so the same floor gives the same plan however busy the
machine is; the time limit is only a safety net) and publishes the result, with what it
moved against the repair, when it differs. The dispatching heuristic is run on the same
problem, so every change says how the plan compares with the baseline. Blocking: call
both from a worker thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plantos.core.events import Event
from plantos.core.timeunits import NS_PER_S as NS
from plantos.model.plant import Plant
from plantos.mom.domain.events import ScheduleChanged
from plantos.mom.domain.order import OPEN_STATES
from plantos.mom.domain.plan import PublishedPlan
from plantos.mom.planning import (
    FloorState,
    Scheduler,
    build_problem,
    moved_operations,
    published,
)
from plantos.mom.service import MomService


@dataclass(frozen=True)
class ScheduleChange:
    """One recalculation, as the report and the schedule page show it."""

    at_ns: int
    trigger: str
    asset: str | None
    plan_id: int
    solver: str
    moved: tuple[dict[str, Any], ...]
    late_orders: tuple[str, ...]
    solve_ms: float
    weighted_tardiness_s: int
    dispatch_weighted_tardiness_s: int
    down: tuple[str, ...] = ()
    planned_on_down: int = 0
    """Operations of the new plan on an asset that was down when it was made (from then
    on): zero unless the scheduler ignored a breakdown."""
    etas: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Draft:
    """A plan just published, and the floor it was made for with that plan in force:
    what :meth:`Planner.improve` starts from."""

    change: ScheduleChange
    events: list[Event]
    floor: FloorState
    dispatch_weighted_tardiness_s: int


class Planner:
    def __init__(
        self,
        service: MomService,
        plant: Plant,
        scheduler: Scheduler,
        *,
        frozen_horizon_ns: int,
        work_limit: float = 2.0,
        time_limit_s: float = 30.0,
        workers: int = 2,
    ) -> None:
        if work_limit <= 0 or time_limit_s <= 0:
            raise ValueError(
                f"work_limit and time_limit_s must be positive, got {work_limit}, {time_limit_s}"
            )
        self.service = service
        self.plant = plant
        self.scheduler = scheduler
        self.frozen_horizon_ns = frozen_horizon_ns
        self.work_limit = work_limit
        self.time_limit_s = time_limit_s
        self.workers = workers
        self._interrupt = scheduler.Interrupt()
        self.blocked: Callable[[], Mapping[str, Sequence[tuple[int, int]]]] | None = None
        """Maintenance windows per asset, asked for at each replan (set by the maintenance
        loop's wiring; none without it)."""

    def replan(
        self,
        trigger: str,
        *,
        asset: str | None = None,
        down: Collection[str] = (),
        now_ns: int | None = None,
    ) -> tuple[ScheduleChange | None, list[Event]]:
        """:meth:`repair`, then :meth:`improve`: the last plan published (``None`` when
        there is nothing to plan) and the events of both."""
        draft = self.repair(trigger, asset=asset, down=down, now_ns=now_ns)
        if draft is None:
            return None, []
        better = self.improve(draft)
        if better is None:
            return draft.change, draft.events
        return better.change, draft.events + better.events

    def repair(
        self,
        trigger: str,
        *,
        asset: str | None = None,
        down: Collection[str] = (),
        now_ns: int | None = None,
    ) -> Draft | None:
        """Publish at once the plan in force repaired for the floor as of ``now_ns`` (the
        time of the newest fact the floor reported; the clock when not given): every
        operation stays where it still fits, the rest take the first free slot. It takes
        milliseconds, so the floor hears of a breakdown or a maintenance window within
        the second; ``None`` when there is nothing to plan."""
        now = self.service.clock.now_ns() if now_ns is None else now_ns
        plans = self.service.plans()
        floor = self._floor(now, down, plans[0] if plans else None)
        problem, jobs = build_problem(self.scheduler, floor, self.plant)
        if not jobs:
            return None
        plan = self.scheduler.repair(problem)
        baseline = int(self.scheduler.dispatch(problem).weighted_tardiness_s)
        return self._publish(floor, problem, jobs, plan, baseline, trigger, asset)

    def improve(self, draft: Draft) -> Draft | None:
        """Search with CP-SAT, within the work limit, from the plan ``draft`` published,
        and publish the result when it differs; ``None`` when it does not."""
        floor = draft.floor
        problem, jobs = build_problem(self.scheduler, floor, self.plant)
        plan = self.scheduler.solve(
            problem,
            work_limit=self.work_limit,
            time_limit_s=self.time_limit_s,
            workers=self.workers,
            interrupt=self._interrupt,
        )
        if not _differs(plan, floor.previous):
            return None
        change = draft.change
        return self._publish(
            floor,
            problem,
            jobs,
            plan,
            draft.dispatch_weighted_tardiness_s,
            change.trigger,
            change.asset,
        )

    def stop(self) -> None:
        """End a search under way with its best plan so far, and make later searches
        return at once (the platform is stopping): callable from any thread."""
        self._interrupt.stop()

    def _floor(
        self, now_ns: int, down: Collection[str], previous: PublishedPlan | None
    ) -> FloorState:
        return FloorState(
            now_ns=now_ns,
            orders=self.service.orders(states=OPEN_STATES),
            routings=self.service.master()[1],
            down=frozenset(down),
            previous=previous,
            frozen_horizon_ns=self.frozen_horizon_ns,
            changeovers=self.service.changeovers(),
            blocked=self.blocked() if self.blocked is not None else {},
        )

    def _publish(
        self,
        floor: FloorState,
        problem: Any,
        jobs: list[Any],
        plan: Any,
        baseline: int,
        trigger: str,
        asset: str | None,
    ) -> Draft:
        """Store ``plan`` as the plan in force with its ``ScheduleChanged`` event (what
        moved against the plan in force before it) in one transaction."""
        now = floor.now_ns
        running = {(a.order_id, a.index) for a in problem.fixed}
        before = [
            a for a in _before(self.scheduler, floor, jobs) if (a.order_id, a.index) not in running
        ]
        change = self.scheduler.diff(before, plan, jobs)
        moved = moved_operations(change)
        record = published(plan, now_ns=now, trigger=trigger, asset=asset)

        def event(plan_id: int) -> Event:
            return ScheduleChanged(
                ts_ns=now,
                subject=asset or "plant",
                trigger=trigger,
                plan_id=plan_id,
                moved=moved,
                etas=dict(change.etas),
                late_orders=tuple(change.late_orders),
                solve_ms=float(plan.solve_ms),
                solver=plan.solver,
            )

        plan_id, events = self.service.publish_plan(record, event)
        return Draft(
            ScheduleChange(
                at_ns=now,
                trigger=trigger,
                asset=asset,
                plan_id=plan_id,
                solver=plan.solver,
                moved=moved,
                late_orders=tuple(change.late_orders),
                solve_ms=float(plan.solve_ms),
                weighted_tardiness_s=int(plan.weighted_tardiness_s),
                dispatch_weighted_tardiness_s=baseline,
                down=tuple(sorted(floor.down)),
                planned_on_down=sum(
                    1 for a in plan.assignments if a.asset in floor.down and a.end_s > now // NS
                ),
                etas=dict(change.etas),
            ),
            events,
            dataclasses.replace(floor, previous=record),
            baseline,
        )


def _differs(plan: Any, previous: PublishedPlan | None) -> bool:
    """Whether ``plan`` puts any operation elsewhere, or any order on another routing,
    than ``previous``."""
    if previous is None:
        return True
    return published(plan, now_ns=0, trigger="", asset=None).operations != previous.operations


def _before(sched: Scheduler, floor: FloorState, jobs: list[Any]) -> list[Any]:
    """Every operation of the plan in force still to be made, including those that had
    started or were due on a machine now down: moving them is what the floor must hear.
    (The caller leaves out operations running now: they stay where they run.)"""
    if floor.previous is None:
        return []
    keys = {(op.order_id, op.index) for job in jobs for op in job.operations}
    return [
        sched.Assignment(p.order_id, p.index, p.asset, p.start_s, p.end_s)
        for p in floor.previous.operations
        if (p.order_id, p.index) in keys
    ]
