"""Alternative routings: an order switches only when that lowers weighted tardiness."""

from __future__ import annotations

import dataclasses

import pytest

from plantos.mom.scheduling import (
    AssetOption,
    Job,
    Operation,
    Problem,
    Route,
    SchedulingError,
    check_plan,
    solve,
)
from plantos.mom.scheduling.routes import resolve

NOW = 1_767_225_600
DAY = 86_400


def steps(order: str, *route: tuple[str, int]) -> tuple[Operation, ...]:
    return tuple(
        Operation(order, i, (AssetOption(asset, 60, run),)) for i, (asset, run) in enumerate(route)
    )


def problem(*, down: tuple[str, ...] = (), own: str = "mill") -> Problem:
    """Order J: routing "mill" (two steps on m1, the faster) or "lathe" (one on m2)."""
    routes = {
        "mill": steps("J", ("m1", 600), ("m1", 600)),
        "lathe": steps("J", ("m2", 1800)),
    }
    other = "lathe" if own == "mill" else "mill"
    job = Job(
        "J",
        routes[own],
        NOW,
        NOW + 4 * 3600,
        routing=own,
        alternatives=(Route(other, routes[other]),),
    )
    return Problem(
        now_s=NOW,
        jobs=(job, Job("K", steps("K", ("m2", 300)), NOW, NOW + DAY)),
        assets=("m1", "m2"),
        unavailable={a: ((NOW, NOW + 14 * DAY),) for a in down},
    )


def test_an_order_whose_machine_is_down_takes_its_alternative() -> None:
    down = problem(down=("m1",))
    plan = solve(down, work_limit=1.0)
    assert check_plan(down, plan) == []
    assert plan.routings == {"J": "lathe"}
    assert {(a.order_id, a.index): a.asset for a in plan.assignments} == {
        ("J", 0): "m2",
        ("K", 0): "m2",
    }
    assert plan.weighted_tardiness_s == 0


def test_with_both_free_the_order_keeps_its_routing() -> None:
    free = problem()
    plan = solve(free, work_limit=1.0)
    assert check_plan(free, plan) == []
    assert plan.routings == {"J": "mill"}
    assert {a.asset for a in plan.assignments if a.order_id == "J"} == {"m1"}


def test_no_switch_back_without_less_tardiness() -> None:
    """The last plan chose "lathe"; "mill" would end sooner but nobody is late either way,
    so the order stays on "lathe"."""
    kept = problem(own="lathe")
    plan = solve(kept, work_limit=1.0)
    assert check_plan(kept, plan) == []
    assert plan.routings == {"J": "lathe"}


def test_a_plan_is_checked_against_the_routing_it_chose() -> None:
    down = problem(down=("m1",))
    plan = solve(down, work_limit=1.0)
    wrong = dataclasses.replace(plan, routings={"J": "mill"})
    assert any("not planned" in p for p in check_plan(down, wrong))
    with pytest.raises(SchedulingError, match="no routing 'drill'"):
        resolve(down, {"J": "drill"})
