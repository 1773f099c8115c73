"""A machine goes down: the plan is repaired with few moves, and ``diff`` tells the floor."""

from __future__ import annotations

import dataclasses
from collections import Counter

from plantos.mom.scheduling import (
    AssetOption,
    Assignment,
    Job,
    Operation,
    Plan,
    Problem,
    check_plan,
    diff,
    dispatch,
    repair,
    solve,
)
from plantos.mom.scheduling.evaluate import score, violations
from plantos.mom.scheduling.instance import Instance
from plantos.mom.scheduling.polish import restore_previous
from plantos.mom.scheduling.synthetic import synthetic_problem

OUTAGE_S = 6 * 3600


def breakdown(problem: Problem, plan: Plan) -> tuple[Problem, str]:
    """The busiest asset of ``plan`` down for six hours from now."""
    asset = Counter(a.asset for a in plan.assignments).most_common(1)[0][0]
    closed = dict(problem.unavailable)
    closed[asset] = (*closed.get(asset, ()), (problem.now_s, problem.now_s + OUTAGE_S))
    return dataclasses.replace(problem, unavailable=closed), asset


def moved_against(before: Plan, after: Plan) -> int:
    old = {a.key: a for a in before.assignments}
    return sum(
        1 for a in after.assignments if (o := old[a.key]).asset != a.asset or o.start_s != a.start_s
    )


def test_repair_moves_fewer_operations_than_planning_from_scratch() -> None:
    problem = synthetic_problem(orders=30, assets=8, seed=5)
    published = solve(problem, time_limit_s=3)
    down, asset = breakdown(problem, published)
    repaired = solve(dataclasses.replace(down, previous=published.assignments), time_limit_s=3)
    scratch = solve(down, time_limit_s=3)
    assert check_plan(down, repaired) == [] and check_plan(down, scratch) == []
    assert not any(
        a.asset == asset and a.start_s < down.now_s + OUTAGE_S for a in repaired.assignments
    )
    assert repaired.moved == moved_against(published, repaired)
    assert 0 < repaired.moved < moved_against(published, scratch)


def test_the_immediate_repair_moves_fewer_than_the_dispatcher_at_no_cost() -> None:
    """Where the dispatcher's fresh plan wins the repair's own candidates on makespan, the
    repair still puts back what it can without losing tardiness or makespan, so what the
    floor hears at once moves fewer operations than a plan made from scratch."""
    problem = synthetic_problem(orders=30, assets=8, seed=1)
    published = dispatch(problem)
    down, _ = breakdown(problem, published)
    down = dataclasses.replace(down, previous=published.assignments)
    repaired, scratch = repair(down), dispatch(dataclasses.replace(down, previous=()))
    assert check_plan(down, repaired) == []
    instance = Instance(down)
    ours = score(instance, {a.key: a for a in repaired.assignments})
    theirs = score(instance, {a.key: a for a in scratch.assignments})
    assert ours[:2] <= theirs[:2]
    assert repaired.moved == ours[2] < theirs[2]


def test_diff_lists_moves_etas_and_late_orders() -> None:
    now = 1_000_000
    jobs = (
        Job("A", (Operation("A", 0, (AssetOption("m1", 0, 10),)),), now, now + 15),
        Job(
            "B",
            (Operation("B", 0, (AssetOption("m1", 0, 10), AssetOption("m2", 0, 10))),),
            now,
            now + 100,
        ),
    )
    before = (Assignment("A", 0, "m1", now, now + 10), Assignment("B", 0, "m1", now + 10, now + 20))
    problem = Problem(
        now_s=now,
        jobs=jobs,
        assets=("m1", "m2"),
        unavailable={"m1": ((now, now + 10),)},
        previous=before,
    )
    plan = solve(problem, time_limit_s=5)
    assert check_plan(problem, plan) == []
    change = diff(before, plan, jobs)
    # B takes m2 so A, which only m1 can run, is just 5 s late
    assert [(m.order_id, m.old_asset, m.new_asset, m.new_start_s) for m in change.moved] == [
        ("A", "m1", "m1", now + 10),
        ("B", "m1", "m2", now),
    ]
    assert change.etas == {"A": now + 20, "B": now + 10}
    assert change.late_orders == ("A",)
    assert plan.moved == 2


def test_polish_returns_needlessly_moved_operations_and_only_those() -> None:
    now = 2_000_000
    jobs = tuple(
        Job(
            o,
            (Operation(o, 0, (AssetOption("m1", 0, 10), AssetOption("m2", 0, 10))),),
            now,
            now + 100,
        )
        for o in ("A", "B")
    )
    previous = (Assignment("A", 0, "m1", now, now + 10), Assignment("B", 0, "m2", now, now + 10))
    problem = Problem(
        now_s=now,
        jobs=jobs,
        assets=("m1", "m2"),
        unavailable={"m2": ((now, now + 5),)},  # B cannot stay; A can
        previous=previous,
    )
    instance = Instance(problem)
    shuffled = {
        ("A", 0): Assignment("A", 0, "m2", now + 5, now + 15),
        ("B", 0): Assignment("B", 0, "m1", now, now + 10),
    }
    assert violations(instance, shuffled) == []
    polished = restore_previous(instance, shuffled, passes=10)
    assert violations(instance, polished) == []
    # A back on m1 would overlap B there, so nothing can return without B moving first
    assert polished == shuffled
    freed = {  # m1 is empty now: A can go back, B cannot (m2 closed at its old start)
        ("A", 0): Assignment("A", 0, "m2", now + 15, now + 25),
        ("B", 0): Assignment("B", 0, "m2", now + 5, now + 15),
    }
    polished = restore_previous(instance, freed, passes=10)
    assert polished[("A", 0)] == previous[0]
    assert polished[("B", 0)] == freed[("B", 0)]
