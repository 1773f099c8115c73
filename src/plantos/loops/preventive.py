"""The preventive loop: every so often (``plans_every`` of plant time, and once at
start-up) each preventive plan is brought up to date, in one transaction per plan:

1. if the plan's work order was closed (done, or cancelled: the occurrence is over), the
   plan moves on: a floating plan counts ``every`` from the completion, a fixed one
   takes the next date of its grid after it;
2. a meter plan reads what its meter counted since its last reading, from the
   historian (up to ``SETTLE_NS`` behind plant time, so samples still on their way to
   the historian are counted by the next reading, never lost);
3. a plan that is due (within its lead), enabled and without an open work order opens
   one, *preventive*, and remembers it: while it is open the plan opens no other.

A disabled plan still takes steps 1 and 2, so once enabled again it stands where the
asset stands: a plan that fell due meanwhile opens its work order at the next look.

Everything a plan knows is in the database and the historian, so a restarted platform
catches up at once: the first evaluation reads the meters from their last reading on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from plantos.core.timeparse import iso
from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.maintenance.errors import InvalidPlanError, PlanInUseError, PlanOwnedByFileError
from plantos.mom.maintenance.plans import (
    PlanState,
    PreventivePlan,
    carry_state,
    first_state,
    next_due,
)
from plantos.mom.maintenance.service import MaintenanceService, new_work_order_id
from plantos.mom.maintenance.uow import MaintenanceUnitOfWork
from plantos.mom.maintenance.workorder import WorkOrder
from plantos.mom.store.repositories import ConcurrentChangeError

log = logging.getLogger(__name__)

BY = "loop:preventive"
SETTLE_NS = 60 * NS
POLL_S = 1.0
"""Wall seconds between looks at the plant clock (which may run faster than the wall)."""
MeterRead = Callable[[PreventivePlan, int, int], float]
"""What a plan's meter counted over ``[start_ns, end_ns)``."""


@dataclass(frozen=True)
class PlanView:
    """A plan and where it stands, as the API, the page and the CLI show it."""

    plan: PreventivePlan
    state: PlanState

    def to_dict(self) -> dict[str, Any]:
        plan, state = self.plan, self.state
        calendar = plan.meter is None
        return {
            "id": plan.id, "asset": plan.asset, "title": plan.title, "origin": plan.origin,
            "kind": "calendar" if calendar else "meter", "interval": plan.interval,
            "meter": plan.meter.source if plan.meter else None,
            "tag": plan.meter.tag if plan.meter else None, "unit": None if calendar else plan.unit,
            "every": plan.every / NS if calendar else plan.every,
            "lead": plan.lead / NS if calendar else plan.lead, "priority": plan.priority,
            "next_due": iso(int(state.due)) if calendar else state.due,
            "opens_at": iso(int(state.due - plan.lead)) if calendar else state.due - plan.lead,
            "reading": None if calendar else state.reading,
            "since_last": None if calendar else state.reading - state.done_at,
            "read_at": None if calendar or state.reading_ns is None else iso(state.reading_ns),
            "work_order": state.work_order, "last_done": iso(state.last_done_ns)
            if state.last_done_ns is not None else None,
            "last_work_order": state.last_work_order, "enabled": state.enabled,
            "disabled_by": state.disabled_by, "disabled_at": iso(state.disabled_ns)
            if state.disabled_ns is not None else None,
        }  # fmt: skip


class PreventiveLoop:
    def __init__(self, *, service: MaintenanceService, meter: MeterRead, every_ns: int) -> None:
        self.service = service
        self.meter = meter
        self.every_ns = every_ns
        self.counters: Counter[str] = Counter()
        self._last_ns: int | None = None

    def sync(self, plans: Sequence[PreventivePlan]) -> None:
        """Put the plant file's plans into the database (at start-up)."""
        now = self.service.clock.now_ns()
        self.service.change(lambda uow: uow.preventive.sync_file_plans(plans, now_ns=now))

    def evaluate(self, now_ns: int | None = None) -> list[WorkOrder]:
        """Bring every plan up to date; return the work orders opened (blocking)."""
        now = self.service.clock.now_ns() if now_ns is None else now_ns
        ids = self.service.read(lambda uow: [p.id for p, _ in uow.preventive.list()])
        opened = []
        for plan_id in ids:
            try:
                order, _ = self.service.change(partial(self._step, plan_id=plan_id, now_ns=now))
            except ConcurrentChangeError:
                self.counters["conflicts"] += 1  # changed meanwhile: the next round takes it
                continue
            if order is not None:
                opened.append(order)
        self._last_ns = now
        self.counters["evaluations"] += 1
        self.counters["work_orders_opened"] += len(opened)
        return opened

    def _step(self, uow: MaintenanceUnitOfWork, *, plan_id: str, now_ns: int) -> WorkOrder | None:
        plan, state = uow.preventive.get(plan_id)
        if state.work_order is not None:
            order = uow.work_orders.get(state.work_order)
            if order.is_open:
                self._read_meter(plan, state, now_ns - SETTLE_NS)
                uow.preventive.save(plan, state)
                return None
            self._closed(plan, state, order)
        self._read_meter(plan, state, now_ns - SETTLE_NS)
        opened: WorkOrder | None = None
        if state.enabled and state.is_due(plan, now_ns):
            opened = self._open(plan, state, now_ns)
            uow.work_orders.add(opened)
            state.work_order = opened.id
        uow.preventive.save(plan, state)
        return opened

    def _closed(self, plan: PreventivePlan, state: PlanState, order: WorkOrder) -> None:
        """The plan's work order is done or cancelled: move the plan on from then."""
        closed_ns = order.closed_ns if order.closed_ns is not None else self.service.clock.now_ns()
        if plan.meter is None:
            at = float(closed_ns)
        elif state.reading_ns is None or closed_ns >= state.reading_ns:
            self._read_meter(plan, state, closed_ns)
            at = state.reading
        else:  # read past the completion already: take back what came after it
            at = state.reading - self.meter(plan, closed_ns, state.reading_ns)
        state.due = next_due(plan, due=state.due, done_at=at)
        state.done_at = at
        state.last_work_order, state.work_order = order.id, None
        if order.state == "done":
            state.last_done_ns = closed_ns

    def _read_meter(self, plan: PreventivePlan, state: PlanState, until_ns: int) -> None:
        if plan.meter is None:
            return
        since = state.reading_ns if state.reading_ns is not None else until_ns
        if until_ns > since:
            state.reading += self.meter(plan, since, until_ns)
        state.reading_ns = max(since, until_ns)

    def _open(self, plan: PreventivePlan, state: PlanState, now_ns: int) -> WorkOrder:
        view = PlanView(plan, state).to_dict()
        due = (
            f"due {view['next_due']}"
            if plan.meter is None
            else (f"due at {state.due:g} {plan.unit}, read {state.reading:g}")
        )
        return WorkOrder.request(
            id=new_work_order_id(), asset=plan.asset, kind="preventive",
            title=f"{plan.title} ({due})"[:300], opened_ns=now_ns, by=BY,
            priority=plan.priority, last_service_ns=state.last_done_ns,
            evidence=[{"plan": plan.id, "at_ns": now_ns, "due": state.due,
                       "reading": state.reading if plan.meter else None,
                       "meter": plan.meter.source if plan.meter else None}],
        )  # fmt: skip

    def create(self, plan: PreventivePlan) -> PlanView:
        """A new plan (from the API): counting from its start, or from now."""
        state = first_state(plan, self.service.clock.now_ns())

        def work(uow: MaintenanceUnitOfWork) -> PlanView:
            uow.preventive.add(plan, state)
            return PlanView(plan, state)

        return self.service.change(work)[0]

    def update(self, plan: PreventivePlan) -> PlanView:
        """Change a plan created over the API; it keeps where it stands. A plan of the
        plant file is refused (:class:`PlanOwnedByFileError`): it is changed there."""

        def work(uow: MaintenanceUnitOfWork) -> PlanView:
            old, state = uow.preventive.get(plan.id)
            if old.origin == "file":
                raise PlanOwnedByFileError(
                    f"plan {plan.id} is defined in the plant file: change it there"
                )
            if old.asset != plan.asset:
                raise InvalidPlanError(
                    f"plan {plan.id} is on {old.asset}: a plan cannot move to another asset"
                )
            carry_state(old, plan, state, now_ns=self.service.clock.now_ns())
            uow.preventive.save(plan, state)
            return PlanView(plan, state)

        return self.service.change(work)[0]

    def get(self, plan_id: str) -> PlanView:
        """One plan; :class:`UnknownPlanError` when there is none."""
        return self.service.read(lambda uow: PlanView(*uow.preventive.get(plan_id)))

    def set_enabled(self, plan_id: str, enabled: bool, *, by: str) -> PlanView:
        """Disable a plan (it opens no work order until enabled again; one already open
        stays open) or enable it. Plans of the plant file may be disabled too: that is a
        planner's decision of the day, not a change of the plan."""
        now = self.service.clock.now_ns()

        def work(uow: MaintenanceUnitOfWork) -> PlanView:
            plan, state = uow.preventive.get(plan_id)
            if enabled:
                state.enable()
            else:
                state.disable(by, now)
            uow.preventive.save(plan, state)
            return PlanView(plan, state)

        return self.service.change(work)[0]

    def delete(self, plan_id: str) -> PlanView:
        """Delete a plan created over the API; its work orders stay, with the plan named in
        their evidence. Refused while its work order is open (:class:`PlanInUseError`:
        finish or cancel it first, or disable the plan) and for a plan of the plant file
        (:class:`PlanOwnedByFileError`: it is removed there)."""

        def work(uow: MaintenanceUnitOfWork) -> PlanView:
            plan, state = uow.preventive.get(plan_id)
            if plan.origin == "file":
                raise PlanOwnedByFileError(
                    f"plan {plan_id} is defined in the plant file: remove it there, or disable it"
                )
            if state.work_order is not None and uow.work_orders.get(state.work_order).is_open:
                raise PlanInUseError(
                    f"plan {plan_id} has work order {state.work_order} open: finish or cancel "
                    "it first, or disable the plan"
                )
            uow.preventive.delete(plan_id)
            return PlanView(plan, state)

        return self.service.change(work)[0]

    def list(self) -> list[PlanView]:
        return self.service.read(lambda uow: [PlanView(p, s) for p, s in uow.preventive.list()])

    async def run(self, stopping: Callable[[], bool]) -> None:
        """The supervised stage: evaluate at once, then every ``every_ns`` of plant time."""
        clock = self.service.clock
        while not stopping():
            now = clock.now_ns()
            if self._last_ns is None or now - self._last_ns >= self.every_ns:
                await asyncio.to_thread(self.evaluate, now)
            await asyncio.sleep(POLL_S)

    def metrics(self) -> dict[str, Any]:
        return dict(self.counters)
