"""The dispatching heuristic: due-date order, first free slot, calendars and changeovers."""

from __future__ import annotations

from plantos.mom.scheduling import (
    AssetOption,
    Changeover,
    Job,
    Operation,
    Problem,
    check_plan,
    dispatch,
)

NOW = 50_000


def single(
    order: str,
    run_s: int,
    due_s: int,
    *,
    asset: str = "m",
    setup_s: int = 0,
    family: str | None = None,
) -> Job:
    return Job(
        order, (Operation(order, 0, (AssetOption(asset, setup_s, run_s),), family),), NOW, due_s
    )


def test_orders_go_by_due_date_into_the_first_free_slot() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(single("late", 10, NOW + 500), single("soon", 10, NOW + 20)),
        assets=("m",),
    )
    plan = dispatch(problem)
    assert check_plan(problem, plan) == []
    assert [(a.order_id, a.start_s) for a in plan.assignments] == [
        ("soon", NOW),
        ("late", NOW + 10),
    ]
    assert (plan.solver, plan.status, plan.weighted_tardiness_s, plan.makespan_s) == (
        "dispatch",
        "heuristic",
        0,
        20,
    )


def test_a_gap_before_closed_time_is_used_when_the_operation_fits() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(single("long", 30, NOW + 100), single("short", 5, NOW + 200)),
        assets=("m",),
        unavailable={"m": ((NOW + 10, NOW + 20),)},
    )
    plan = dispatch(problem)
    assert check_plan(problem, plan) == []
    where = {a.order_id: (a.start_s, a.end_s) for a in plan.assignments}
    assert where == {"long": (NOW + 20, NOW + 50), "short": (NOW, NOW + 5)}


def test_changeover_setup_follows_the_family_before() -> None:
    problem = Problem(
        now_s=NOW,
        jobs=(
            single("a", 10, NOW + 10, setup_s=3, family="X"),
            single("b", 10, NOW + 20, setup_s=3, family="Y"),
        ),
        assets=("m",),
        changeovers=(Changeover("m", "X", "Y", 40),),
    )
    plan = dispatch(problem)
    assert check_plan(problem, plan) == []
    # first on the asset: own setup 3 s; after X, Y needs the 40 s changeover
    assert [(a.start_s, a.end_s) for a in plan.assignments] == [
        (NOW, NOW + 13),
        (NOW + 13, NOW + 63),
    ]


def test_insertion_never_changes_the_setup_of_the_operation_after() -> None:
    urgent = Job(
        "urgent", (Operation("urgent", 0, (AssetOption("m", 0, 10),), "X"),), NOW + 100, NOW + 110
    )
    problem = Problem(
        now_s=NOW,
        jobs=(urgent, single("later", 10, NOW + 500, family="Y")),
        assets=("m",),
        changeovers=(Changeover("m", "Y", "X", 200),),
    )
    plan = dispatch(problem)
    assert check_plan(problem, plan) == []
    where = {a.order_id: a.start_s for a in plan.assignments}
    # the gap before "urgent" is free, but Y there would give "urgent" a 200 s changeover
    assert where == {"urgent": NOW + 100, "later": NOW + 110}


def test_release_and_routing_order_hold_across_assets() -> None:
    ops = (
        Operation("o", 0, (AssetOption("m1", 0, 10),)),
        Operation("o", 1, (AssetOption("m2", 0, 10),)),
    )
    problem = Problem(
        now_s=NOW,
        jobs=(Job("o", ops, NOW + 7, NOW + 30),),
        assets=("m1", "m2"),
    )
    plan = dispatch(problem)
    assert check_plan(problem, plan) == []
    assert [(a.asset, a.start_s) for a in plan.assignments] == [("m1", NOW + 7), ("m2", NOW + 17)]
