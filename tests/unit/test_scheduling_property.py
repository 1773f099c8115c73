"""Random small plants, some orders with an alternative routing: every plan from ``solve``
and ``dispatch`` obeys every rule (along the routing it chose), and ``solve`` is never
worse than ``dispatch`` on weighted tardiness."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantos.mom.scheduling import (
    AssetOption,
    Assignment,
    Changeover,
    Job,
    Operation,
    Problem,
    Route,
    check_plan,
    dispatch,
    solve,
)

NOW = 10_000
ASSETS = ("a", "b", "c")
FAMILIES = ("X", "Y", None)


@st.composite
def routes(draw: st.DrawFn, order: str) -> tuple[Operation, ...]:
    ops = []
    for k in range(draw(st.integers(1, 3))):
        assets = draw(st.lists(st.sampled_from(ASSETS), min_size=1, max_size=3, unique=True))
        options = tuple(
            AssetOption(a, draw(st.integers(0, 5)), draw(st.integers(1, 30))) for a in assets
        )
        ops.append(Operation(order, k, options, draw(st.sampled_from(FAMILIES))))
    return tuple(ops)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    jobs = []
    for j in range(draw(st.integers(1, 5))):
        order = f"J{j}"
        release = NOW + draw(st.integers(-20, 40))
        due = release + draw(st.integers(0, 120))
        alternatives = tuple(
            Route(f"r{k}", draw(routes(order))) for k in range(draw(st.integers(0, 2)))
        )
        jobs.append(
            Job(
                order,
                draw(routes(order)),
                release,
                due,
                draw(st.integers(1, 5)),
                routing="own",
                alternatives=alternatives,
            )
        )
    closed = {
        a: tuple(
            (NOW + s, NOW + s + d)
            for s, d in draw(
                st.lists(st.tuples(st.integers(-10, 150), st.integers(1, 40)), max_size=3)
            )
        )
        for a in ASSETS
    }
    changeovers = tuple(
        Changeover(a, f, t, draw(st.integers(0, 20)))
        for a in draw(st.lists(st.sampled_from(ASSETS), max_size=2, unique=True))
        for f in ("X", "Y")
        for t in ("X", "Y")
    )
    fixed: tuple[Assignment, ...] = ()
    if draw(st.booleans()):  # foreign work already on an asset
        fixed = (Assignment("service", 0, "a", NOW + 5, NOW + 25),)
    return Problem(NOW, tuple(jobs), ASSETS, closed, changeovers, fixed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_plan_is_feasible_and_solve_beats_or_ties_dispatch(problem: Problem) -> None:
    baseline = dispatch(problem)
    assert check_plan(problem, baseline) == []
    best = solve(problem, work_limit=0.2)
    assert check_plan(problem, best) == []
    assert best.weighted_tardiness_s <= baseline.weighted_tardiness_s


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 60))
def test_repaired_plans_are_feasible_and_keep_frozen_work(problem: Problem, frozen: int) -> None:
    published = dispatch(problem)
    again = dataclasses.replace(
        problem, previous=published.assignments, frozen_until_s=NOW + frozen
    )
    plan = solve(again, work_limit=0.2)
    assert check_plan(again, plan) == []
    kept = {a for a in published.assignments if a.start_s < NOW + frozen}
    assert kept <= set(plan.assignments)
