"""The maintenance loop: an anomaly on a machine becomes one predictive work order, the
right people are told, and a maintenance window before the estimated failure is
blocked in the schedule.

On every ``AnomalyRaised`` or ``AnomalyEscalated`` of an asset, in one transaction:

1. read the asset's maintenance history (last service, open work orders, past
   failures of the same mode);
2. read the schedule (the asset's operations in the horizon, the orders they belong
   to and their due dates, the next idle window);
3. open exactly one predictive work order, or add the new evidence to the one still
   open for that asset and failure mode; link a recently closed one as a possible
   repeat;
4. rate its priority from the severity, the time to failure, the asset's criticality
   and the schedule impact;
5. propose a window that ends before the estimated failure and, where the policy
   approves it automatically, schedule the work order in it;
6. queue the notifications the routing rules ask for.

The work order's events leave through the outbox, committed with it: the loop never
publishes on the topic it consumes, so it can never wait on its own full queue. After
the commit the notifications' dispatcher is woken, and a scheduled window triggers a
replan: the planner blocks it, so no operation remains on that asset during the
window, and publishes the new schedule. Each reaction records its wall-clock latency
to each of these three steps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised
from plantos.core.timeunits import NS_PER_S as NS
from plantos.integration.notify import store
from plantos.integration.notify.routing import Notice, Router
from plantos.loops.judgement import choose_window, priority_of, schedule_view
from plantos.model.plant import Plant
from plantos.mom.domain.events import ScheduleChanged
from plantos.mom.domain.plan import PublishedPlan
from plantos.mom.maintenance.catalogue import EquipmentClass
from plantos.mom.maintenance.history import history_of
from plantos.mom.maintenance.policy import MaintenancePolicy
from plantos.mom.maintenance.service import MaintenanceService, new_work_order_id
from plantos.mom.maintenance.uow import MaintenanceUnitOfWork
from plantos.mom.maintenance.workorder import Window, WorkOrder
from plantos.mom.store import tables as t

log = logging.getLogger(__name__)

BY = "loop:maintenance"
TRIGGER = "maintenance window"
REACTIONS_KEPT = 1000
WINDOW_MOVES = 3
"""How often one reaction moves its window after operations that stayed in it."""
Anomaly = AnomalyRaised | AnomalyEscalated


@dataclass
class Reaction:
    """What one anomaly led to, with wall-clock milliseconds from its arrival."""

    asset: str
    event: str
    at_ns: int
    work_order: str
    opened: bool
    stored_ms: float
    notifications_queued_ms: float
    notifications: int
    window: tuple[int, int] | None
    scheduled: bool
    schedule_published_ms: float | None = None
    plan_id: int | None = None
    operations_in_window: int | None = None
    """Operations on the asset inside the window: in the plan in force when the window
    was decided, then in the plan published for it (which must have none)."""
    window_moves: int = 0
    """Times the window moved after an operation the planner could not move."""
    started: float = field(default=0.0, repr=False)


@dataclass(frozen=True)
class _Outcome:
    order: WorkOrder
    opened: bool
    notifications: int
    scheduled: bool
    in_window: int
    """Operations of the plan in force inside the window when it was decided."""


class MaintenanceLoop:
    def __init__(
        self,
        *,
        service: MaintenanceService,
        replan: Callable[[str, str], None],
        plans: Callable[[], list[PublishedPlan]],
        plant: Plant,
        policy: MaintenancePolicy,
        router: Router,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        self.service = service
        self.replan = replan
        """Asks the planner for a new plan (trigger, asset); it publishes ScheduleChanged."""
        self.plans = plans
        """The plans in force, newest first."""
        self.plant = plant
        self.policy = policy
        self.router = router
        self.notify = notify
        """Called after notifications were queued: wakes their dispatcher."""
        self.reactions: deque[Reaction] = deque(maxlen=REACTIONS_KEPT)
        self.counters: Counter[str] = Counter()
        self._awaiting_plan: list[Reaction] = []

    async def handle(self, msg: object) -> None:
        """The bus consumer: anomalies in, and the schedules published for their windows."""
        if isinstance(msg, AnomalyRaised | AnomalyEscalated):
            await self.react(msg)
        elif isinstance(msg, ScheduleChanged) and msg.trigger == TRIGGER:
            await self._published(msg)

    async def react(self, anomaly: Anomaly) -> Reaction | None:
        started = time.perf_counter()
        asset = self.plant.assets.get(anomaly.subject)
        equipment = self.policy.catalogue.class_of(asset.type) if asset else None
        if asset is None or equipment is None:
            self.counters["anomalies_ignored"] += 1
            log.info("no maintenance for %s: not an asset with an equipment class", anomaly.subject)
            return None
        outcome, _events = await asyncio.to_thread(
            self.service.change, lambda uow: self._decide(uow, anomaly, equipment)
        )
        stored = time.perf_counter()
        self.notify()
        reaction = Reaction(
            asset=anomaly.subject, event=anomaly.kind, at_ns=anomaly.ts_ns,
            work_order=outcome.order.id, opened=outcome.opened,
            stored_ms=(stored - started) * 1e3, notifications_queued_ms=(stored - started) * 1e3,
            notifications=outcome.notifications, scheduled=outcome.scheduled,
            window=(outcome.order.window.start_ns, outcome.order.window.end_ns)
            if outcome.order.window else None, started=started,
            operations_in_window=outcome.in_window if outcome.order.window else None,
        )  # fmt: skip
        self.reactions.append(reaction)
        self.counters["work_orders_opened" if outcome.opened else "work_orders_updated"] += 1
        if outcome.scheduled:
            self._awaiting_plan.append(reaction)
            self.replan(TRIGGER, anomaly.subject)
        return reaction

    def _decide(
        self, uow: MaintenanceUnitOfWork, anomaly: Anomaly, equipment: EquipmentClass
    ) -> _Outcome:
        """Steps 1 to 6, on one unit of work (blocking: runs in a worker thread)."""
        asset, now_ns, mode = anomaly.subject, anomaly.ts_ns, equipment.anomaly_mode
        failure_ns = _estimated_failure_ns(anomaly)
        # 1. history
        history = history_of(asset, uow.work_orders.list(asset=asset), failure_mode=mode)
        # 2. schedule
        plans = uow.plans.latest(1)
        view = schedule_view(
            plans[0] if plans else None, lambda ids: _due_s(uow, ids), asset, now_s=now_ns // NS,
            horizon_s=self.policy.horizon_ns // NS,
            failure_s=failure_ns // NS if failure_ns else None,
        )  # fmt: skip
        # 3. exactly one open work order per asset and failure mode
        order = next((o for o in history.open_orders if o.failure_mode == mode), None)
        opened = order is None
        if order is None:
            recent = [
                o for o in history.past_failures
                if (o.closed_ns or 0) >= now_ns - self.policy.repeat_within_ns
            ]  # fmt: skip
            order = WorkOrder.request(
                id=new_work_order_id(), asset=asset, kind="predictive",
                title=f"{equipment.modes[mode]} on {asset.rsplit('/', 1)[-1]}: {anomaly.severity}",
                opened_ns=now_ns, by=BY, failure_mode=mode,
                mechanism=equipment.anomaly_mechanism, cause=equipment.anomaly_cause,
                last_service_ns=history.last_service_ns, repeat_of=recent[0].id if recent else None,
            )  # fmt: skip
            uow.work_orders.add(order)
        order.add_evidence(_evidence(anomaly), by=BY, at_ns=now_ns)
        order.affected_orders = list(view.affected_orders)
        if failure_ns is not None:
            order.estimated_failure_ns = min(failure_ns, order.estimated_failure_ns or failure_ns)
        # 4. priority
        hours = (
            (order.estimated_failure_ns - now_ns) / 3600 / NS
            if order.estimated_failure_ns
            else None
        )
        priority = priority_of(
            severity_rank=anomaly.severity_rank, hours_to_failure=hours,
            criticality=self.plant.assets[asset].criticality,
            impact=(1 if view.affected_orders else 0) + (1 if view.due_before_failure else 0),
        )  # fmt: skip
        order.set_priority(
            min(priority, order.priority) if not opened else priority, by=BY, at_ns=now_ns
        )
        # 5. window, scheduled at once where the policy says so
        scheduled = self._window(order, view.busy, view.running_until_s, now_ns)
        # 6. notifications, in this same transaction
        notice = _notice(order, anomaly, opened=opened, plant_line=asset.rsplit("/", 1)[0])
        queued = store.queue(uow.connection, notice, self.router.route(notice), now_ns=now_ns)
        window = order.window
        in_window = (
            sum(1 for s, e in view.busy if s < window.end_ns // NS and window.start_ns // NS < e)
            if window
            else 0
        )
        return _Outcome(order, opened, len(queued), scheduled, in_window)

    def _window(
        self,
        order: WorkOrder,
        busy: tuple[tuple[int, int], ...],
        running_until_s: int | None,
        now_ns: int,
    ) -> bool:
        """Propose (or bring forward) the window; schedule it when the policy approves.
        Returns whether a window was newly scheduled (the plan must block it)."""
        latest_end_s = (
            (order.estimated_failure_ns - self.policy.margin_ns) // NS
            if order.estimated_failure_ns else None
        )  # fmt: skip
        if order.window is not None and (
            latest_end_s is None or order.window.end_ns // NS <= latest_end_s
        ):
            return False  # the window in hand still ends before the failure
        if order.state not in ("requested", "approved", "scheduled"):
            return False  # the job has started: nothing to move
        earliest_s = max((now_ns + self.policy.notice_ns) // NS, running_until_s or 0)
        start_s, end_s, _idle = choose_window(
            busy, earliest_s=earliest_s, latest_end_s=latest_end_s,
            duration_s=self.policy.window_ns // NS,
        )  # fmt: skip
        if order.window is not None and end_s * NS >= order.window.end_ns:
            return False  # nothing earlier is possible: the window in hand stays
        order.propose_window(Window(start_s * NS, end_s * NS), by=BY, at_ns=now_ns)
        if order.priority > self.policy.auto_approve_up_to:
            return False  # a planner approves it
        if order.state == "requested":
            order.transition("approved", by=BY, at_ns=now_ns, note="approved by policy")
        if order.state == "approved":
            order.transition("scheduled", by=BY, at_ns=now_ns)
        return True

    async def _published(self, change: ScheduleChanged) -> None:
        """A plan made after these windows were scheduled: record its latency and check
        that no operation of it falls into a window. An operation the planner could not
        move (the job running on the machine took longer than planned) moves the window
        after it instead, and the plan is asked for again."""
        waiting, self._awaiting_plan = self._awaiting_plan, []
        if not waiting:
            return
        now = time.perf_counter()
        plans = await asyncio.to_thread(self.plans)
        plan = plans[0] if plans else None
        for reaction in waiting:
            reaction.schedule_published_ms = (now - reaction.started) * 1e3
            reaction.plan_id = change.plan_id
            if plan is None or reaction.window is None:
                continue
            start_s, end_s = reaction.window[0] // NS, reaction.window[1] // NS
            inside = [
                o for o in plan.on_asset(reaction.asset) if o.start_s < end_s and start_s < o.end_s
            ]
            reaction.operations_in_window = len(inside)
            if inside and reaction.window_moves < WINDOW_MOVES:
                after_ns = max(o.end_s for o in inside) * NS
                length_ns = reaction.window[1] - reaction.window[0]
                await self._move_window(reaction, Window(after_ns, after_ns + length_ns))

    async def _move_window(self, reaction: Reaction, window: Window) -> None:
        """Give ``reaction``'s work order ``window`` and ask for a plan that blocks it."""

        def work(uow: MaintenanceUnitOfWork) -> bool:
            order = uow.work_orders.get(reaction.work_order)
            if order.state != "scheduled":
                return False  # started, done or unscheduled meanwhile: nothing to block
            order.propose_window(window, by=BY, at_ns=reaction.at_ns)
            return True

        moved, _ = await asyncio.to_thread(self.service.change, work)
        if moved:
            self.counters["windows_moved"] += 1
            reaction.window_moves += 1
            reaction.window = (window.start_ns, window.end_ns)
            self._awaiting_plan.append(reaction)
            self.replan(TRIGGER, reaction.asset)

    def blocked(self) -> dict[str, list[tuple[int, int]]]:
        """Scheduled and running windows per asset in seconds: what the planner closes."""
        out: dict[str, list[tuple[int, int]]] = {}
        for order in self.service.list(states=("scheduled", "in_progress")):
            if order.window is not None:
                out.setdefault(order.asset, []).append(
                    (order.window.start_ns // NS, -(-order.window.end_ns // NS))
                )
        return out

    def metrics(self) -> dict[str, Any]:
        return {**dict(self.counters), "reactions": len(self.reactions)}


def _due_s(uow: MaintenanceUnitOfWork, order_ids: Sequence[str]) -> dict[str, int]:
    """Due dates in seconds, read without taking the orders into the unit of work (the
    loop changes no production order)."""
    query = sa.select(t.orders.c.id, t.orders.c.due_ns).where(t.orders.c.id.in_(list(order_ids)))
    return {row.id: row.due_ns // NS for row in uow.connection.execute(query)}


def _estimated_failure_ns(anomaly: Anomaly) -> int | None:
    """The earliest plausible time of the top severity (zone D), or the central estimate."""
    ttf = anomaly.time_to_threshold_low_s
    if ttf is None:
        ttf = anomaly.time_to_threshold_s
    return anomaly.ts_ns + int(ttf * NS) if ttf is not None else None


def _evidence(anomaly: Anomaly) -> dict[str, Any]:
    return {
        "at_ns": anomaly.ts_ns,
        "event": anomaly.kind,
        "detector": anomaly.detector,
        "severity": anomaly.severity,
        "score": round(anomaly.score, 3),
        "time_to_failure_s": anomaly.time_to_threshold_s,
        "time_to_failure_low_s": anomaly.time_to_threshold_low_s,
        "features": [
            {"feature": e.feature, "value": e.value, "healthy": e.expected, "share": e.share}
            for e in anomaly.evidence
        ],
    }


def _notice(order: WorkOrder, anomaly: Anomaly, *, opened: bool, plant_line: str) -> Notice:
    return Notice(
        asset=order.asset,
        line=plant_line,
        site=order.asset.split("/", 1)[0],
        kind="WorkOrderOpened" if opened else "WorkOrderUpdated",
        priority=order.priority,
        reference=order.id,
        title=f"{order.id} {order.title}",
        body={
            "work_order": order.id,
            "failure_mode": order.failure_mode,
            "severity": anomaly.severity,
            "estimated_failure_ns": order.estimated_failure_ns,
            "window_start_ns": order.window.start_ns if order.window else None,
            "window_end_ns": order.window.end_ns if order.window else None,
            "state": order.state,
            "affected_orders": list(order.affected_orders),
            "last_service_ns": order.last_service_ns,
        },
    )
