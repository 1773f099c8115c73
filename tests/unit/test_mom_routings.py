"""Alternative routings through the whole planner: the CP-SAT scheduler picks the
alternative when the primary routing's machine is down, the published plan (in the
database) records the choice, the order view shows it, and the next plan keeps it
without a gain from switching back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plantos.core.clock import ManualClock
from plantos.model import load_plant_text
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from plantos.mom.planner import Planner
from plantos.mom.planning import installed_scheduler
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from plantos.mom.views import order_view
from tests.unit.test_mom_planning import M1, M2, NS, PLANT, T0_S


@pytest.fixture
def planner(tmp_path: Path) -> Planner:
    return routing_planner(tmp_path)


def routing_planner(tmp_path: Path) -> Planner:
    """One order of a shaft whose routing mills on m1, with an alternative turning on m2
    that takes longer; the CP-SAT scheduler on a fresh SQLite database."""
    scheduler = installed_scheduler()
    if scheduler is None:
        pytest.skip("the CP-SAT scheduler (ortools) is not installed")
    plant = load_plant_text(PLANT)
    engine = open_engine(resolve_url("sqlite:///mom.sqlite", data_dir=tmp_path))
    upgrade(engine)
    mom = MomService(engine, clock=ManualClock(T0_S * NS), assets=plant.assets)
    primary = Routing(
        "shaft", "shaft", (RoutingStep("mill", (AssetOption(M1, 600, 60.0),)),), ("shaft-m2",)
    )
    alternative = Routing(
        "shaft-m2", "shaft", (RoutingStep("turn", (AssetOption(M2, 900, 90.0),)),)
    )
    mom.seed_master_data(
        MasterData(
            {"shaft": Product("shaft", "Shaft", "shaft")},
            {"shaft": primary, "shaft-m2": alternative},
        )
    )
    mom.create_orders([NewOrder("o-1", "shaft", 20, (T0_S + 2 * 86_400) * NS)])
    return Planner(mom, plant, scheduler, frozen_horizon_ns=0, work_limit=0.5)


def routing_in_plan(planner: Planner) -> tuple[str | None, set[str]]:
    plan = planner.service.plans()[0]
    return plan.routing_of("o-1"), {o.asset for o in plan.operations if o.order_id == "o-1"}


def view(planner: Planner) -> dict[str, Any]:
    order = planner.service.order("o-1")
    return order_view(order, None, planner.service.plans()[0])


def test_the_down_machine_sends_the_order_to_its_alternative_routing(planner: Planner) -> None:
    change, _ = planner.replan("asset down", asset=M1, down={M1})
    assert change is not None and change.planned_on_down == 0
    assert routing_in_plan(planner) == ("shaft-m2", {M2})
    assert (view(planner)["routing"], view(planner)["planned_routing"]) == ("shaft", "shaft-m2")
    # M1 is back: the primary would finish sooner, but the order is on time either way,
    # so the published choice stands
    planner.replan("asset up", asset=M1, now_ns=T0_S * NS + 60 * NS)
    assert routing_in_plan(planner) == ("shaft-m2", {M2})


def test_with_both_machines_free_the_order_keeps_its_primary_routing(planner: Planner) -> None:
    planner.replan("orders released")
    assert routing_in_plan(planner) == ("shaft", {M1})
    assert view(planner)["planned_routing"] == "shaft"


def test_a_started_order_keeps_its_routing(planner: Planner) -> None:
    planner.service.transition("o-1", "running", asset=M1)
    planner.replan("asset down", asset=M1, down={M1})
    routing, assets = routing_in_plan(planner)
    assert routing is None and assets == {M1}  # no choice offered: it stays on its steps


def test_an_order_started_on_its_alternative_routing_follows_that_routing(
    planner: Planner,
) -> None:
    planner.replan("asset down", asset=M1, down={M1})
    assert routing_in_plan(planner) == ("shaft-m2", {M2})
    # the first part on the alternative's machine starts the order there, on that routing
    booking, _ = planner.service.book([Count("machine", M2, (T0_S + 60) * NS, 5)])
    order = planner.service.order("o-1")
    assert booking.booked == 5
    assert (order.state, order.asset, order.routing, order.good) == (
        "running",
        M2,
        "shaft-m2",
        [5],
    )
    # M1 is back: the running operation stays pinned where it runs, on its routing's step
    planner.replan("asset up", asset=M1, now_ns=(T0_S + 120) * NS)
    assert routing_in_plan(planner)[1] == {M2}


def test_an_order_started_by_hand_on_the_chosen_alternative_stays_on_it(
    planner: Planner,
) -> None:
    planner.replan("asset down", asset=M1, down={M1})
    planner.service.transition("o-1", "running", asset=M2)
    assert planner.service.order("o-1").routing == "shaft-m2"
    planner.replan("asset up", asset=M1, now_ns=(T0_S + 120) * NS)
    assert routing_in_plan(planner)[1] == {M2}
    planner.service.book([Count("machine", M2, (T0_S + 180) * NS, 20)])
    order = planner.service.order("o-1")
    assert (order.state, order.good) == ("completed", [20])
