"""The planning adapter: orders, routings, calendars and breakdowns in, a stored plan and a
``ScheduleChanged`` out. The scheduler here is a small earliest-due-date stand-in with
the scheduling interface's shapes (tests/support/mom_scheduler.py), so the adapter is
checked on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plantos.core.clock import ManualClock
from plantos.model import load_plant_text
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import AssetOption, Changeover, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from plantos.mom.planner import Planner
from plantos.mom.planning import FloorState, build_problem, closed_intervals
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from tests.support.mom_scheduler import SCHEDULER

NS = 1_000_000_000
T0_S = 1_767_589_200  # 2026-01-05T05:00:00Z, a Monday
PLANT = """
plantos: 1
enterprise: {id: acme, name: ACME}
calendars:
  day:
    timezone: UTC
    shifts: [{name: day, start: "06:00", end: "18:00", days: [mon, tue, wed, thu, fri]}]
    breaks: [{name: lunch, start: "12:00", duration: 30m}]
sites:
  - id: p
    calendar: day
    areas:
      - id: a
        lines:
          - id: l
            assets: [{id: m1}, {id: m2}]
"""
M1, M2 = "p/a/l/m1", "p/a/l/m2"


@pytest.fixture
def plant() -> Any:
    return load_plant_text(PLANT)


@pytest.fixture
def service(tmp_path: Path, plant: Any) -> MomService:
    engine = open_engine(resolve_url("sqlite:///mom.sqlite", data_dir=tmp_path))
    upgrade(engine)
    routing = Routing(
        "shaft",
        "shaft",
        (RoutingStep("mill", (AssetOption(M1, 600, 100.0), AssetOption(M2, 600, 120.0))),),
    )
    mom = MomService(engine, clock=ManualClock(T0_S * NS), assets=plant.assets)
    mom.seed_master_data(
        MasterData({"shaft": Product("shaft", "Shaft", "shaft")}, {"shaft": routing})
    )
    return mom


def test_calendar_closes_nights_and_breaks(plant: Any) -> None:
    closed = closed_intervals(plant, M1, T0_S, T0_S + 86_400)
    hour = 3600
    assert closed == [
        (T0_S, T0_S + hour),  # before the 06:00 shift
        (T0_S + 7 * hour, T0_S + 7 * hour + 1800),  # lunch 12:00-12:30
        (T0_S + 13 * hour, T0_S + 86_400),  # from 18:00
    ]


def test_problem_plans_the_quantity_left_and_closes_down_assets(
    service: MomService, plant: Any
) -> None:
    service.create_orders([NewOrder("o-1", "shaft", 10, (T0_S + 86_400) * NS)])
    service.transition("o-1", "running", asset=M1)
    service.book([Count("machine", M1, T0_S * NS + 100 * NS, 4)])
    floor = FloorState(
        now_ns=T0_S * NS + 200 * NS,
        orders=service.orders(),
        routings=service.master()[1],
        down=frozenset({M2}),
        changeovers=[Changeover(M1, "shaft", "shaft", 60), Changeover("elsewhere", "a", "b", 1)],
    )
    problem, jobs = build_problem(SCHEDULER, floor, plant)  # type: ignore[arg-type]
    assert [(c.asset, c.from_family, c.setup_s) for c in problem.changeovers] == [(M1, "shaft", 60)]
    (job,) = jobs
    assert [o.run_s for o in job.operations[0].options] == [600, 720]  # 6 left
    assert problem.fixed[0].asset == M1 and problem.fixed[0].start_s == T0_S + 200
    assert problem.unavailable[M2] == ((T0_S + 200, T0_S + 200 + 14 * 86_400),)


def test_replan_after_breakdown_moves_work_off_the_down_machine(
    service: MomService, plant: Any
) -> None:
    due = (T0_S + 86_400) * NS
    service.create_orders([NewOrder(f"o-{i}", "shaft", 20, due + i) for i in range(4)])
    planner = Planner(service, plant, SCHEDULER, frozen_horizon_ns=0)  # type: ignore[arg-type]
    first, events = planner.replan("orders released")
    assert first is not None and [e.kind for e in events].count("ScheduleChanged") == 1
    on_m1 = [o for o in service.plans()[0].operations if o.asset == M1]
    assert on_m1, "the stand-in plans on both machines"
    change, events = planner.replan("asset down", asset=M1, down={M1}, now_ns=T0_S * NS + 60 * NS)
    assert change is not None and change.planned_on_down == 0
    assert {m["order"] for m in change.moved} >= {o.order_id for o in on_m1}
    assert all(m["new"]["asset"] == M2 for m in change.moved if m["old"]["asset"] == M1)
    current, previous = service.plans()
    assert current.trigger == "asset down" and previous.trigger == "orders released"
    assert {o.state for o in service.orders()} == {"scheduled"}
    (event,) = [e for e in events if e.kind == "ScheduleChanged"]
    assert event.subject == M1 and event.moved == change.moved  # type: ignore[attr-defined]


def test_nothing_open_publishes_nothing(service: MomService, plant: Any) -> None:
    planner = Planner(service, plant, SCHEDULER, frozen_horizon_ns=0)  # type: ignore[arg-type]
    assert planner.replan("start") == (None, [])
    assert service.plans() == []
