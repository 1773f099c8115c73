"""From the floor to the scheduler and back: the scheduling ``Problem`` built from open
orders, routings, shift calendars, planned downtime and machine states, and the returned
plan published with what it changed.

The scheduler itself (:mod:`plantos.mom.scheduling`) is pure and knows nothing of orders
or calendars; this adapter is the only place that translates. It is handed the
scheduler as a module-like object (:class:`Scheduler`), so it can be exercised with a
small stand-in and runs with the CP-SAT scheduler in production.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from plantos.core.timeunits import NS_PER_S as NS
from plantos.model.plant import Plant
from plantos.mom.domain.master import Changeover, Routing
from plantos.mom.domain.order import ProductionOrder
from plantos.mom.domain.plan import PlannedOperation, PublishedPlan

HORIZON_S = 14 * 86_400
"""How far ahead calendars and breakdowns close assets: beyond any plan of open orders."""


class Scheduler(Protocol):
    """What the adapter uses of :mod:`plantos.mom.scheduling` (see its interface)."""

    AssetOption: Callable[..., Any]
    Operation: Callable[..., Any]
    Job: Callable[..., Any]
    Route: Callable[..., Any]
    Assignment: Callable[..., Any]
    Changeover: Callable[..., Any]
    Problem: Callable[..., Any]
    Interrupt: Callable[[], Any]

    def solve(
        self,
        problem: Any,
        *,
        work_limit: float = ...,
        time_limit_s: float = ...,
        workers: int = ...,
        interrupt: Any = ...,
    ) -> Any: ...

    def dispatch(self, problem: Any) -> Any: ...

    def repair(self, problem: Any) -> Any: ...

    def diff(self, before: Sequence[Any], after: Any, jobs: Sequence[Any]) -> Any: ...


def installed_scheduler() -> Scheduler | None:
    """The CP-SAT scheduler when this PlantOS has it, else ``None`` (no planning)."""
    try:
        module: Any = importlib.import_module("plantos.mom.scheduling")
    except ImportError:
        return None
    scheduler: Scheduler = module
    return scheduler


@dataclass(frozen=True)
class FloorState:
    """What the plan must respect right now."""

    now_ns: int
    orders: Sequence[ProductionOrder]
    routings: Mapping[str, Routing]
    down: frozenset[str] = frozenset()
    """Assets whose machine state is down: closed from now until they are back."""
    previous: PublishedPlan | None = None
    frozen_horizon_ns: int = 0
    changeovers: Sequence[Changeover] = ()
    """Sequence-dependent setups between products (the operations' setup family)."""
    blocked: Mapping[str, Sequence[tuple[int, int]]] = field(default_factory=dict)
    """Maintenance windows ``[start_s, end_s)`` per asset: closed to production."""


def closed_intervals(plant: Plant, asset: str, start_s: int, end_s: int) -> list[tuple[int, int]]:
    """``[start, end)`` seconds in which ``asset`` does not produce: outside its shifts, in
    breaks and in planned downtime. An asset without a calendar is always open."""
    calendar = plant.calendar_for(asset) if asset in plant.assets else None
    if calendar is None:
        return []
    lo, hi = start_s * NS, end_s * NS
    shifts = sorted((s.start_ns // NS, s.end_ns // NS) for s in calendar.shifts_between(lo, hi))
    out: list[tuple[int, int]] = []
    cursor = start_s
    for a, b in shifts:
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end_s:
        out.append((cursor, end_s))
    out += [(s.start_ns // NS, -(-s.end_ns // NS)) for s in calendar.planned_stops_between(lo, hi)]
    return sorted((max(a, start_s), min(b, end_s)) for a, b in out if b > start_s and a < end_s)


def build_problem(sched: Scheduler, floor: FloorState, plant: Plant) -> tuple[Any, list[Any]]:
    """The scheduling problem of every open order, and its jobs (for the difference).

    Each order is planned from its current operation on, for the quantity still to
    make; an order running on an asset that is not down has that operation fixed there
    until its live ETA (or its planned run time). Paused orders may move. An order not
    started yet may be planned on an alternative of its routing; it keeps the routing the
    plan in force chose for it unless another is better."""
    now_s = floor.now_ns // NS
    jobs: list[Any] = []
    fixed: list[Any] = []
    assets: set[str] = set()
    for order in floor.orders:
        if not order.is_open:
            continue
        routing = floor.routings[order.routing]
        choice = _routings(order, floor)
        first = order.current_operation
        ops = _operations(sched, order, floor.routings[choice[0]], first, assets)
        pinned = _running_assignment(sched, order, routing, floor, now_s)
        if pinned is not None:
            fixed.append(pinned)
            assets.add(pinned.asset)
        release_s = max(now_s, order.release_ns // NS)
        jobs.append(
            sched.Job(
                order.id,
                ops,
                release_s,
                order.due_ns // NS,
                max(order.priority, 1),
                routing=choice[0],
                alternatives=tuple(
                    sched.Route(r, _operations(sched, order, floor.routings[r], first, assets))
                    for r in choice[1:]
                ),
            )
        )
    horizon = now_s + HORIZON_S
    unavailable = {a: tuple(closed_intervals(plant, a, now_s, horizon)) for a in sorted(assets)}
    for asset, spans in floor.blocked.items():
        if asset in unavailable:
            unavailable[asset] += _after_running(spans, asset, fixed)
    for asset in floor.down & assets:
        unavailable[asset] = ((now_s, horizon),)
    problem = sched.Problem(
        now_s=now_s,
        jobs=tuple(jobs),
        assets=tuple(sorted(assets)),
        unavailable=unavailable,
        changeovers=tuple(
            sched.Changeover(c.asset, c.from_product, c.to_product, c.setup_s)
            for c in floor.changeovers
            if c.asset in assets
        ),
        fixed=tuple(fixed),
        previous=_previous(sched, floor, jobs, now_s),
        frozen_until_s=now_s + floor.frozen_horizon_ns // NS,
    )
    return problem, jobs


def _routings(order: ProductionOrder, floor: FloorState) -> list[str]:
    """The routings the order may be planned by, the one to keep first: only its own once
    it has started; else its own and the alternatives that make the same product, led by
    the one the plan in force chose."""
    own = floor.routings[order.routing]
    if order.state not in ("released", "scheduled") or any(order.good) or any(order.scrap):
        return [order.routing]
    options = [order.routing] + [
        r
        for r in own.alternatives
        if r in floor.routings
        and floor.routings[r].product == own.product
        and len(floor.routings[r].steps) > 0
    ]
    chosen = floor.previous.routing_of(order.id) if floor.previous else None
    if chosen in options[1:]:
        options.remove(chosen)
        options.insert(0, chosen)
    return options


def _operations(
    sched: Scheduler, order: ProductionOrder, routing: Routing, first: int, assets: set[str]
) -> tuple[Any, ...]:
    """The order's operations along ``routing`` from ``first`` on, for what is left to
    make; their assets join ``assets``."""
    ops = []
    for index in range(first, len(routing.steps)):
        step = routing.steps[index]
        left = order.quantity - order.good[index] if index == first else order.quantity
        options = tuple(
            sched.AssetOption(o.asset, o.setup_s, math.ceil(o.run_s_per_unit * max(left, 1)))
            for o in step.options
        )
        assets.update(o.asset for o in step.options)
        ops.append(sched.Operation(order.id, index, options, family=order.product))
    return tuple(ops)


def _after_running(
    spans: Sequence[tuple[int, int]], asset: str, fixed: Sequence[Any]
) -> tuple[tuple[int, int], ...]:
    """Maintenance windows from the end of the operation running on ``asset``: a job
    under way finishes before maintenance takes the machine."""
    running_end = max((a.end_s for a in fixed if a.asset == asset), default=0)
    return tuple((max(s, running_end), e) for s, e in spans if e > max(s, running_end))


def _running_assignment(
    sched: Scheduler, order: ProductionOrder, routing: Routing, floor: FloorState, now_s: int
) -> Any:
    if order.state != "running" or order.asset is None or order.asset in floor.down:
        return None
    option = routing.steps[order.current_operation].option_on(order.asset)
    if option is None:
        return None
    left = order.quantity - order.good[order.current_operation]
    end_s = now_s + math.ceil(option.run_s_per_unit * max(left, 1))
    if order.eta_ns is not None and order.current_operation == order.operations - 1:
        end_s = max(now_s + 1, order.eta_ns // NS)
    return sched.Assignment(order.id, order.current_operation, order.asset, now_s, end_s)


def _previous(
    sched: Scheduler, floor: FloorState, jobs: Sequence[Any], now_s: int
) -> tuple[Any, ...]:
    """The last plan's operations still to come, on assets that are not down."""
    if floor.previous is None:
        return ()
    keys = {(op.order_id, op.index) for job in jobs for op in job.operations}
    routing = {job.order_id: job.routing for job in jobs}
    own = {o.id: o.routing for o in floor.orders}
    return tuple(
        sched.Assignment(p.order_id, p.index, p.asset, p.start_s, p.end_s)
        for p in floor.previous.operations
        if (p.order_id, p.index) in keys
        and p.start_s >= now_s
        and p.asset not in floor.down
        and (p.routing or own.get(p.order_id)) == routing.get(p.order_id)
    )


def published(plan: Any, *, now_ns: int, trigger: str, asset: str | None) -> PublishedPlan:
    """The scheduler's plan as the domain stores it."""
    return PublishedPlan(
        created_ns=now_ns,
        trigger=trigger,
        asset=asset,
        solver=plan.solver,
        status=plan.status,
        weighted_tardiness_s=int(plan.weighted_tardiness_s),
        makespan_s=int(plan.makespan_s),
        moved=int(plan.moved),
        solve_ms=float(plan.solve_ms),
        operations=tuple(
            PlannedOperation(
                a.order_id, a.index, a.asset, a.start_s, a.end_s, plan.routings.get(a.order_id)
            )
            for a in sorted(plan.assignments, key=lambda a: (a.start_s, a.asset, a.order_id))
        ),
    )


def moved_operations(change: Any) -> tuple[dict[str, Any], ...]:
    """The scheduler's moves as plain mappings for the event and the report."""
    return tuple(
        {
            "order": m.order_id,
            "index": m.index,
            "old": {"asset": m.old_asset, "start_s": m.old_start_s, "end_s": m.old_end_s},
            "new": {"asset": m.new_asset, "start_s": m.new_start_s, "end_s": m.new_end_s},
        }
        for m in change.moved
    )
