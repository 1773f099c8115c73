"""``solve`` and ``dispatch`` on small hand-made plants whose best plan is known."""

from __future__ import annotations

import dataclasses

import pytest

from plantos.mom.scheduling import (
    AssetOption,
    Assignment,
    Changeover,
    Job,
    Operation,
    Plan,
    Problem,
    SchedulingError,
    check_plan,
    dispatch,
    planner,
    solve,
)

NOW = 1_767_225_600
FAR = NOW + 10**6


def op(order: str, index: int, *options: tuple[str, int], family: str | None = None) -> Operation:
    return Operation(order, index, tuple(AssetOption(a, 0, run) for a, run in options), family)


def feasible(problem: Problem, plan: Plan) -> Plan:
    assert check_plan(problem, plan) == []
    return plan


def test_two_jobs_two_machines_reach_the_known_optimum() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(
            Job("A", (op("A", 0, ("m1", 3)), op("A", 1, ("m2", 2))), NOW, FAR),
            Job("B", (op("B", 0, ("m2", 3)), op("B", 1, ("m1", 2))), NOW, FAR),
        ),
        assets=("m1", "m2"),
    )
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert (plan.makespan_s, plan.weighted_tardiness_s, plan.status) == (5, 0, "optimal")
    assert plan.solver == "cp-sat"


def test_weight_beats_due_date_order_where_dispatch_follows_due_dates() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(
            Job("light", (op("light", 0, ("m", 10)),), NOW, NOW + 10, weight=1),
            Job("heavy", (op("heavy", 0, ("m", 10)),), NOW, NOW + 12, weight=10),
        ),
        assets=("m",),
    )
    edd = feasible(problem, dispatch(problem))
    best = feasible(problem, solve(problem, time_limit_s=5))
    assert edd.weighted_tardiness_s == 80  # heavy ends at +20, 8 s late, weight 10
    assert best.weighted_tardiness_s == 10  # light ends at +20, 10 s late, weight 1
    assert [a.order_id for a in best.assignments] == ["heavy", "light"]


def test_changeovers_group_families() -> None:
    jobs = tuple(
        Job(f"J{i}", (op(f"J{i}", 0, ("m", 10), family="XY"[i % 2]),), NOW, FAR) for i in range(4)
    )
    changeovers = (Changeover("m", "X", "Y", 50), Changeover("m", "Y", "X", 50))
    problem = Problem(now_s=NOW, jobs=jobs, assets=("m",), changeovers=changeovers)
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert plan.makespan_s == 90  # X X, one changeover, Y Y
    feasible(problem, dispatch(problem))


def test_an_asset_with_changeovers_may_stay_empty() -> None:
    """A slow asset with changeovers gets no work when a faster one is free."""
    jobs = (Job("J", (op("J", 0, ("slow", 30), ("fast", 10), family="X"),), NOW, NOW + 10),)
    changeovers = (Changeover("slow", "X", "X", 5),)
    problem = Problem(now_s=NOW, jobs=jobs, assets=("fast", "slow"), changeovers=changeovers)
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert (plan.solver, plan.status, plan.weighted_tardiness_s) == ("cp-sat", "optimal", 0)
    assert [a.asset for a in plan.assignments] == ["fast"]


def test_orders_due_long_before_now_are_planned_by_cp_sat() -> None:
    """Lateness beyond the horizon is still lateness (it was out of the model's range)."""
    jobs = tuple(Job(f"J{i}", (op(f"J{i}", 0, ("m", 1)),), NOW - 100, NOW - 100) for i in range(3))
    problem = Problem(now_s=NOW, jobs=jobs, assets=("m",))
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert (plan.solver, plan.status) == ("cp-sat", "optimal")
    assert plan.weighted_tardiness_s == 101 + 102 + 103


def test_closed_time_sends_work_to_the_open_alternative() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(Job("A", (op("A", 0, ("fast", 10), ("slow", 25)),), NOW, FAR),),
        assets=("fast", "slow"),
        unavailable={"fast": ((NOW + 5, NOW + 20),)},
    )
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert plan.assignments == (Assignment("A", 0, "slow", NOW, NOW + 25),)
    feasible(problem, dispatch(problem))


def test_release_dates_hold() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(Job("A", (op("A", 0, ("m", 10)),), NOW + 100, NOW + 50),),
        assets=("m",),
    )
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert plan.assignments[0].start_s == NOW + 100
    assert plan.weighted_tardiness_s == 60


def test_fixed_work_is_kept_exactly_and_worked_around() -> None:
    running = Assignment("A", 0, "m", NOW - 5, NOW + 20)
    problem = Problem(
        now_s=NOW,
        jobs=(
            Job("A", (op("A", 0, ("m", 30)), op("A", 1, ("m", 5))), NOW - 5, FAR),
            Job("B", (op("B", 0, ("m", 10)),), NOW, NOW + 10),
        ),
        assets=("m",),
        fixed=(running, Assignment("maintenance", 0, "m", NOW + 20, NOW + 30)),
    )
    for plan in (solve(problem, time_limit_s=5), dispatch(problem)):
        feasible(problem, plan)
        assert running in plan.assignments
        assert all(a.order_id != "maintenance" for a in plan.assignments)
        b = next(a for a in plan.assignments if a.order_id == "B")
        assert b.start_s >= NOW + 30


def test_frozen_operations_of_the_previous_plan_do_not_move() -> None:
    jobs = tuple(
        Job(f"J{i}", (op(f"J{i}", 0, ("m", 10)),), NOW, NOW + 10 * (3 - i)) for i in range(3)
    )
    # the previous plan ran them in the worst order for due dates
    previous = tuple(
        Assignment(f"J{i}", 0, "m", NOW + 10 * i, NOW + 10 * (i + 1)) for i in range(3)
    )
    problem = Problem(
        now_s=NOW, jobs=jobs, assets=("m",), previous=previous, frozen_until_s=NOW + 1
    )
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert previous[0] in plan.assignments  # J0 starts inside the frozen horizon
    unfrozen = dataclasses.replace(problem, frozen_until_s=None)
    free = feasible(unfrozen, solve(unfrozen, time_limit_s=5))
    assert previous[0] not in free.assignments  # due dates alone would move it


def test_stability_breaks_ties_between_equally_good_plans() -> None:
    jobs = tuple(
        Job(f"J{i}", (op(f"J{i}", 0, ("m1", 10), ("m2", 10)),), NOW, FAR) for i in range(2)
    )
    previous = (Assignment("J0", 0, "m2", NOW, NOW + 10), Assignment("J1", 0, "m1", NOW, NOW + 10))
    problem = Problem(now_s=NOW, jobs=jobs, assets=("m1", "m2"), previous=previous)
    plan = feasible(problem, solve(problem, time_limit_s=5))
    assert plan.moved == 0
    assert set(plan.assignments) == set(previous)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jobs": (Job("A", (Operation("A", 0, ()),), NOW, FAR),)}, "no eligible asset"),
        ({"jobs": (Job("A", (op("A", 0, ("nowhere", 5)),), NOW, FAR),)}, "unknown asset"),
        ({"unavailable": {"nowhere": ((NOW, NOW + 1),)}}, "unknown asset"),
        (
            {
                "fixed": (
                    Assignment("x", 0, "m", NOW, NOW + 9),
                    Assignment("y", 0, "m", NOW + 5, NOW + 20),
                )
            },
            "overlap",
        ),
        ({"fixed": (Assignment("A", 1, "m", NOW, NOW + 9),)}, "fixed but A/0 before it is not"),
    ],
)
def test_input_that_cannot_be_planned_raises(change: dict[str, object], message: str) -> None:
    base = Problem(
        now_s=NOW,
        jobs=(Job("A", (op("A", 0, ("m", 5)), op("A", 1, ("m", 5))), NOW, FAR),),
        assets=("m",),
    )
    problem = dataclasses.replace(base, **change)  # type: ignore[arg-type]
    for run in (lambda: solve(problem, time_limit_s=1), lambda: dispatch(problem)):
        with pytest.raises(SchedulingError, match=message):
            run()


def test_dispatch_plan_is_returned_when_cp_sat_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(
            Job("A", (op("A", 0, ("m", 10)),), NOW, FAR),
            Job("B", (op("B", 0, ("m", 10)),), NOW, FAR),
        ),
        assets=("m",),
    )
    monkeypatch.setattr(planner, "_stages", lambda *a, **k: (None, False))
    plan = feasible(problem, planner.solve(problem, time_limit_s=1))
    assert (plan.solver, plan.status) == ("dispatch", "heuristic")


def test_bad_solver_options_are_refused() -> None:
    problem = Problem(now_s=NOW, jobs=(), assets=())
    with pytest.raises(ValueError, match="time_limit_s"):
        solve(problem, time_limit_s=0)
    assert solve(problem).assignments == ()


def test_setup_after_running_work_follows_its_family_and_after_foreign_work_its_own() -> None:
    def job(order: str) -> Job:
        return Job(order, (Operation(order, 0, (AssetOption("m", 1, 10),), "X"),), NOW, FAR)

    running = Assignment("A", 0, "m", NOW - 5, NOW + 6)
    service = Assignment("service", 0, "m", NOW + 20, NOW + 30)
    problem = Problem(
        now_s=NOW,
        jobs=(job("A"), job("B"), job("C")),
        assets=("m",),
        changeovers=(Changeover("m", "X", "X", 0),),
        fixed=(running, service),
    )
    for plan in (solve(problem, time_limit_s=5), dispatch(problem)):
        feasible(problem, plan)
        spans = {a.order_id: (a.start_s - NOW, a.end_s - NOW) for a in plan.assignments}
        # B right behind running X work needs no setup; C behind the service its own 1 s
        assert spans == {"A": (-5, 6), "B": (6, 16), "C": (30, 41)}
