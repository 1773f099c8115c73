"""A recalculation publishes the repaired plan first and CP-SAT's plan after it: the
floor hears of a breakdown in milliseconds, the better plan follows, and a search is
skipped when newer triggers are already waiting (their own repair comes first)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from plantos.mom.domain.commands import NewOrder
from plantos.mom.planner import Planner
from plantos.mom.planning import installed_scheduler
from plantos.mom.runtime import MomRuntime
from plantos.mom.service import MomService
from tests.support.mom_scheduler import SCHEDULER
from tests.unit.test_mom_planning import M1, M2, NS, T0_S, plant, service  # noqa: F401
from tests.unit.test_mom_routings import routing_in_plan, routing_planner
from tests.unit.test_mom_runtime import T0, build, started


@pytest.fixture
def scheduler() -> Any:
    found = installed_scheduler()
    if found is None:
        pytest.skip("the CP-SAT scheduler (ortools) is not installed")
    return found


def test_the_quick_plan_is_published_first_and_the_search_improves_it(
    service: MomService,  # noqa: F811
    plant: Any,  # noqa: F811
    scheduler: Any,
) -> None:
    # mill-1 is down, so both orders queue on mill-2 (3,000 s each from 06:00) and only
    # the first can be on time: earliest due date puts the low-priority order first,
    # weighted tardiness puts the one five times as important first
    open_s = T0_S + 3600
    service.create_orders(
        [
            NewOrder("o-low", "shaft", 20, (open_s + 3100) * NS, priority=1),
            NewOrder("o-high", "shaft", 20, (open_s + 3160) * NS, priority=5),
        ]
    )
    planner = Planner(service, plant, scheduler, frozen_horizon_ns=0, work_limit=0.5)
    draft = planner.repair("orders released", down={M1})
    assert draft is not None and draft.change.solver == "repair"
    assert service.plans()[0].id == draft.change.plan_id and service.plans()[0].solver == "repair"
    assert draft.change.planned_on_down == 0 and draft.change.late_orders == ("o-high",)
    (event,) = [e for e in draft.events if e.kind == "ScheduleChanged"]
    assert event.solver == "repair"  # type: ignore[attr-defined]

    better = planner.improve(draft)
    assert better is not None and better.change.solver == "cp-sat"
    assert better.change.late_orders == ("o-low",) and better.change.planned_on_down == 0
    assert better.change.weighted_tardiness_s < draft.change.weighted_tardiness_s
    assert {m["order"] for m in better.change.moved} == {"o-low", "o-high"}
    assert service.plans()[0].id == better.change.plan_id
    assert planner.improve(better) is None, "a plan the search cannot better is not republished"


def test_a_repair_sends_a_late_order_to_its_alternative_routing(tmp_path: Path) -> None:
    planner = routing_planner(tmp_path)
    planner.replan("orders released")
    assert routing_in_plan(planner) == ("shaft", {M1})
    draft = planner.repair("asset down", asset=M1, down={M1})
    assert draft is not None and draft.change.solver == "repair"
    assert draft.change.planned_on_down == 0 and not draft.change.late_orders
    assert routing_in_plan(planner) == ("shaft-m2", {M2})


def searching(calls: list[str], during_repair: Any = None) -> SimpleNamespace:
    """The stand-in scheduler whose search finds a plan a minute later than its repair
    (so it differs and is published), recording the calls; ``during_repair`` runs inside
    the first repair, as a trigger arriving meanwhile would."""

    def repair(problem: Any) -> Any:
        calls.append("repair")
        if during_repair is not None and calls.count("repair") == 1:
            during_repair()
        return SCHEDULER.repair(problem)

    def solve(problem: Any, **_: Any) -> Any:
        calls.append("solve")
        plan = SCHEDULER.solve(problem)
        later = tuple(
            dataclasses.replace(a, start_s=a.start_s + 60, end_s=a.end_s + 60)
            for a in plan.assignments
        )
        return SimpleNamespace(**{**vars(plan), "assignments": later, "solver": "searched"})

    class Interrupt:
        def stop(self) -> None:
            calls.append("stop")

    return SimpleNamespace(
        **{**vars(SCHEDULER), "repair": repair, "solve": solve, "Interrupt": Interrupt}
    )


def run_until_planned(
    runtime: MomRuntime, bus: Any, plans: int, loop: list[asyncio.AbstractEventLoop]
) -> None:
    """Run the runtime's consumers until ``plans`` plans are published (``loop`` gets
    the event loop, for triggers from the planner's worker thread)."""

    async def scenario() -> None:
        loop.append(asyncio.get_running_loop())
        tasks = started(runtime, bus)
        for _ in range(200):
            if len(runtime.changes) >= plans:
                break
            await asyncio.sleep(0.02)
        await bus.close()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_the_search_follows_the_repair(tmp_path: Path) -> None:
    runtime, bus, _, published = build(tmp_path)
    calls: list[str] = []
    assert runtime.planner is not None
    runtime.planner = Planner(
        runtime.service, runtime.planner.plant, searching(calls), frozen_horizon_ns=0
    )
    runtime.service.create_orders([NewOrder("o-1", "paint", 10, T0 + 3600 * NS, T0)])
    run_until_planned(runtime, bus, 2, [])
    assert calls == ["repair", "solve", "stop"]  # the stop ends a search under way
    assert [c.solver for c in runtime.changes] == ["edd", "searched"]
    solvers = [e.solver for e in published if e.kind == "ScheduleChanged"]  # type: ignore[attr-defined]
    assert solvers == ["edd", "searched"]


def test_a_trigger_waiting_skips_the_search_until_its_own_repair(tmp_path: Path) -> None:
    runtime, bus, _, _ = build(tmp_path)
    calls: list[str] = []
    loop: list[asyncio.AbstractEventLoop] = []

    def order_changed() -> None:  # runs in the planner's worker thread
        loop[0].call_soon_threadsafe(runtime.trigger, "orders changed")

    assert runtime.planner is not None
    runtime.planner = Planner(
        runtime.service, runtime.planner.plant, searching(calls, order_changed), frozen_horizon_ns=0
    )
    runtime.service.create_orders([NewOrder("o-1", "paint", 10, T0 + 3600 * NS, T0)])
    run_until_planned(runtime, bus, 3, loop)
    assert calls == ["repair", "repair", "solve", "stop"]
    assert [c.trigger for c in runtime.changes] == ["start", "orders changed", "orders changed"]
    assert runtime.metrics()["searches_superseded"] == 1
