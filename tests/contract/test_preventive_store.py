"""Preventive plans on SQLite and on a fresh PostgreSQL database: calendar plans with a
fixed grid or a floating interval open one preventive work order when due (with their
lead), never a second while it is open, and move on when it is done or cancelled."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock
from plantos.loops.preventive import PreventiveLoop
from plantos.mom.maintenance.catalogue import DEFAULT_CATALOGUE
from plantos.mom.maintenance.errors import (
    InvalidPlanError,
    PlanInUseError,
    PlanOwnedByFileError,
    UnknownPlanError,
)
from plantos.mom.maintenance.plans import PreventivePlan
from plantos.mom.maintenance.service import MaintenanceService
from plantos.mom.maintenance.workorder import Window
from plantos.mom.store.migrate import current_revision

NS = 1_000_000_000
DAY = 86_400 * NS
T0 = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z
CNC = "p/a/l/cnc-07"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def loop(engine: sa.Engine, clock: ManualClock) -> PreventiveLoop:
    service = MaintenanceService(
        engine, clock=clock, catalogue=DEFAULT_CATALOGUE, asset_types={CNC: "cnc-mill"}
    )
    return PreventiveLoop(service=service, meter=lambda plan, a, b: 0.0, every_ns=3600 * NS)


def plan(interval: str, **fields: object) -> PreventivePlan:
    base: dict[str, object] = dict(
        id=f"lube-{interval}", asset=CNC, title="Lubricate", every=float(10 * DAY),
        lead=float(2 * DAY), interval=interval, start_ns=T0,
    )  # fmt: skip
    return PreventivePlan(**{**base, **fields})  # type: ignore[arg-type]


def finish(loop: PreventiveLoop, clock: ManualClock, order_id: str, at_ns: int) -> None:
    clock.advance_to(at_ns)
    service = loop.service
    service.change(
        lambda uow: uow.work_orders.get(order_id).propose_window(
            Window(at_ns, at_ns + NS), by="t", at_ns=at_ns
        )
    )
    for to in ("approved", "scheduled", "in_progress", "done"):
        service.transition(order_id, to, by="planner")


def test_schema_is_at_the_plans_revision(engine: sa.Engine) -> None:
    assert current_revision(engine) is not None
    with engine.connect() as c:
        assert sa.inspect(c).has_table("mom_preventive_plans")


@pytest.mark.parametrize("interval", ["floating", "fixed"])
def test_calendar_plan_opens_one_work_order_at_its_lead_and_moves_on_when_done(
    loop: PreventiveLoop, clock: ManualClock, interval: str
) -> None:
    loop.sync([plan(interval)])
    assert loop.evaluate(T0 + 8 * DAY - NS) == []  # lead of 2 days before day 10: not yet
    (order,) = loop.evaluate(T0 + 8 * DAY)
    assert (order.kind, order.asset, order.state, order.priority) == (
        "preventive",
        CNC,
        "requested",
        4,
    )
    assert order.evidence[0]["plan"] == f"lube-{interval}"
    # overdue and still open: never a second one
    assert loop.evaluate(T0 + 15 * DAY) == []
    assert [o.id for o in loop.service.list(asset=CNC)] == [order.id]
    finish(loop, clock, order.id, T0 + 13 * DAY)  # done three days late
    loop.evaluate(T0 + 13 * DAY)
    (view,) = loop.list()
    assert view.state.work_order is None and view.state.last_work_order == order.id
    assert view.state.last_done_ns == T0 + 13 * DAY
    expected = T0 + 23 * DAY if interval == "floating" else T0 + 20 * DAY
    assert view.state.due == pytest.approx(expected, abs=1000)
    assert loop.evaluate(expected - 2 * DAY - NS) == []
    (second,) = loop.evaluate(expected - 2 * DAY)
    assert second.id != order.id


def test_fixed_plan_done_after_its_next_date_skips_to_the_one_after(
    loop: PreventiveLoop, clock: ManualClock
) -> None:
    loop.sync([plan("fixed")])
    (order,) = loop.evaluate(T0 + 9 * DAY)
    finish(loop, clock, order.id, T0 + 21 * DAY)  # after day 20 too
    loop.evaluate(T0 + 21 * DAY)
    (view,) = loop.list()
    assert view.state.due == pytest.approx(T0 + 30 * DAY, abs=1000)


def test_cancelled_work_order_ends_its_occurrence(loop: PreventiveLoop, clock: ManualClock) -> None:
    loop.sync([plan("floating")])
    (order,) = loop.evaluate(T0 + 9 * DAY)
    clock.advance_to(T0 + 9 * DAY)
    loop.service.transition(order.id, "cancelled", by="planner")
    assert loop.evaluate(T0 + 9 * DAY) == []  # not handed back at once
    (view,) = loop.list()
    assert view.state.last_done_ns is None  # cancelled is not a completion
    assert view.state.due == pytest.approx(T0 + 19 * DAY, abs=1000)


def test_plans_survive_a_new_loop_on_the_same_database(
    loop: PreventiveLoop, clock: ManualClock, engine: sa.Engine
) -> None:
    loop.sync([plan("floating")])
    (order,) = loop.evaluate(T0 + 9 * DAY)
    again = PreventiveLoop(service=loop.service, meter=loop.meter, every_ns=loop.every_ns)
    again.sync([plan("floating")])  # start-up with the same plant file
    assert again.evaluate(T0 + 12 * DAY) == []
    assert again.list()[0].state.work_order == order.id


def test_file_plan_changes_keep_state_and_removed_ones_go(loop: PreventiveLoop) -> None:
    loop.sync([plan("floating"), plan("fixed")])
    loop.sync([plan("floating", every=float(20 * DAY))])
    (view,) = loop.list()
    assert view.plan.every == 20 * DAY
    assert view.state.due == pytest.approx(T0 + 20 * DAY, abs=1000)


def test_api_plans_are_created_updated_and_file_plans_refused(loop: PreventiveLoop) -> None:
    loop.sync([plan("floating")])
    created = loop.create(plan("fixed", id="api-1", origin="api"))
    assert created.plan.origin == "api"
    with pytest.raises(InvalidPlanError, match="exists already"):
        loop.create(plan("fixed", id="api-1", origin="api"))
    loop.update(plan("fixed", id="api-1", origin="api", priority=2))
    assert {v.plan.id: v.plan.priority for v in loop.list()}["api-1"] == 2
    with pytest.raises(PlanOwnedByFileError, match="plant file"):
        loop.update(plan("floating", origin="api"))
    with pytest.raises(InvalidPlanError, match="another asset"):
        loop.update(plan("fixed", id="api-1", origin="api", asset="p/a/l/cnc-08"))


def test_disabled_plan_opens_no_work_order_and_opens_it_once_enabled(
    loop: PreventiveLoop, clock: ManualClock
) -> None:
    loop.sync([plan("floating")])
    clock.advance_to(T0 + DAY)
    view = loop.set_enabled("lube-floating", False, by="planner-1")
    assert (view.state.disabled_by, view.state.disabled_ns) == ("planner-1", T0 + DAY)
    assert view.to_dict()["enabled"] is False
    assert loop.evaluate(T0 + 9 * DAY) == []  # due within its lead, but disabled
    assert loop.service.list(asset=CNC) == []
    loop.sync([plan("floating")])  # a restart with the same plant file keeps it disabled
    assert loop.evaluate(T0 + 11 * DAY) == []
    assert loop.set_enabled("lube-floating", True, by="planner-2").state.enabled
    (order,) = loop.evaluate(T0 + 11 * DAY)  # fell due meanwhile: opens at the next look
    assert order.evidence[0]["plan"] == "lube-floating"


def test_disabling_keeps_the_open_work_order_and_the_plan_moves_on_when_it_closes(
    loop: PreventiveLoop, clock: ManualClock
) -> None:
    loop.sync([plan("floating")])
    (order,) = loop.evaluate(T0 + 9 * DAY)
    loop.set_enabled("lube-floating", False, by="planner")
    finish(loop, clock, order.id, T0 + 10 * DAY)
    assert loop.evaluate(T0 + 30 * DAY) == []  # overdue again, but disabled
    view = loop.get("lube-floating")
    assert view.state.work_order is None and view.state.last_work_order == order.id
    assert view.state.due == pytest.approx(T0 + 20 * DAY, abs=1000)


def test_delete_is_refused_while_the_work_order_is_open_and_for_file_plans(
    loop: PreventiveLoop, clock: ManualClock
) -> None:
    loop.sync([plan("floating")])
    loop.create(plan("fixed", id="api-1", origin="api"))
    first, _ = sorted(loop.evaluate(T0 + 9 * DAY), key=lambda o: o.evidence[0]["plan"])
    with pytest.raises(PlanInUseError, match=f"work order {first.id} open"):
        loop.delete("api-1")
    with pytest.raises(PlanOwnedByFileError, match="plant file"):
        loop.delete("lube-floating")
    clock.advance_to(T0 + 9 * DAY)
    loop.service.transition(first.id, "cancelled", by="planner")
    assert loop.delete("api-1").plan.id == "api-1"
    assert [v.plan.id for v in loop.list()] == ["lube-floating"]
    assert loop.service.get(first.id).evidence[0]["plan"] == "api-1"  # history stays
    with pytest.raises(UnknownPlanError, match="api-1"):
        loop.set_enabled("api-1", False, by="planner")
    with pytest.raises(UnknownPlanError):
        loop.delete("api-1")
