"""Job shop: JSPLIB files read with file:line errors, the dispatching rule, CP-SAT
reaching known optima (a hand-made instance, and ft06 from the reference data), and
the work-limited solve giving the same schedule on every run."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from plantos.mom.scheduling.jobshop import (
    CP_SAT_WORK_PER_SECOND,
    SAFETY_FACTOR,
    JobShopSchedule,
    dispatch_jobshop,
    lower_bound,
    solve_jobshop,
    work_budget,
)
from plantos.mom.scheduling.jsplib import InstanceFormatError, JobShop, parse_jsplib, read_jsplib
from plantos.mom.scheduling.tabu import tabu_search

# 3 jobs x 3 machines, small enough to know its optimum by trying every machine order
TINY = """\
# hand-made
3 3
0 3  1 2  2 2
0 4  2 1  1 3
2 2  0 4  1 1
"""


def violations(shop: JobShop, schedule: JobShopSchedule) -> list[str]:
    """Every broken job-shop rule: order within a job, overlap on a machine, makespan."""
    out, busy = [], []
    for j, job in enumerate(shop.jobs):
        end = 0
        for k, (machine, duration) in enumerate(job):
            start = schedule.starts[j][k]
            if start < end:
                out.append(f"job {j} op {k} starts before its predecessor ends")
            end = start + duration
            busy.append((machine, start, end))
            if end > schedule.makespan:
                out.append(f"job {j} op {k} ends after the makespan")
    busy.sort()
    for (m1, _, e1), (m2, s2, _) in itertools.pairwise(busy):
        if m1 == m2 and s2 < e1:
            out.append(f"overlap on machine {m1}")
    return out


def brute_force_optimum(shop: JobShop) -> int:
    """Shortest makespan over every order of the jobs on every machine (semi-active)."""
    on = [
        [(j, k) for j, job in enumerate(shop.jobs) for k, op in enumerate(job) if op[0] == m]
        for m in range(shop.machines)
    ]
    best = None
    for orders in itertools.product(*(itertools.permutations(ops) for ops in on)):
        end: dict[tuple[int, int], int] = {}
        queues = [list(order) for order in orders]
        free = [0] * shop.machines
        progress = True
        while progress:
            progress = False
            for m, queue in enumerate(queues):
                if queue and (queue[0][1] == 0 or (queue[0][0], queue[0][1] - 1) in end):
                    j, k = queue.pop(0)
                    start = max(free[m], end.get((j, k - 1), 0))
                    free[m] = end[(j, k)] = start + shop.jobs[j][k][1]
                    progress = True
        if len(end) == shop.operations:
            best = max(end.values()) if best is None else min(best, max(end.values()))
    assert best is not None
    return best


def test_tiny_instance_is_solved_to_its_optimum() -> None:
    shop = parse_jsplib(TINY)
    assert (len(shop.jobs), shop.machines, shop.operations) == (3, 3, 9)
    heuristic = dispatch_jobshop(shop)
    assert violations(shop, heuristic) == []
    best = solve_jobshop(shop, time_limit_s=10)
    assert violations(shop, best) == []
    assert (best.makespan, best.status) == (brute_force_optimum(shop), "optimal")
    assert lower_bound(shop) <= best.makespan <= heuristic.makespan


def test_ft06_reaches_the_published_optimum(shared_data: Path) -> None:
    folder = shared_data / "scheduling" / "jsplib"
    if not (folder / "instances" / "ft06").is_file():
        pytest.skip("ft06 is absent from the reference data")
    optimum = next(
        i["optimum"]
        for i in json.loads((folder / "instances.json").read_text())
        if i["name"] == "ft06"
    )
    shop = read_jsplib(folder / "instances" / "ft06")
    schedule = solve_jobshop(shop, time_limit_s=20)
    assert violations(shop, schedule) == []
    assert schedule.makespan == optimum == 55


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", ":1:", "no 'jobs machines' line"),
        ("# only a comment\n2\n", ":2:", "expected 'jobs machines'"),
        ("1 2\n0 5 1 x\n", ":2:", "'x' is not an integer"),
        ("1 2\n0 5 1\n", ":2:", "odd number of values"),
        ("1 2\n0 5 2 5\n", ":2:", "machine 2 outside 0..1"),
        ("1 2\n0 5 1 -3\n", ":2:", "negative duration"),
        ("2 2\n0 5 1 3\n", ":2:", "2 job lines announced, 1 found"),
        ("1 2\n0 5 1 3\n# fine\n1 1 0 1\n", ":4:", "1 job lines announced, 2 found"),
    ],
)
def test_malformed_files_name_file_and_line(
    text: str, where: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsp"
    path.write_text(text)
    with pytest.raises(InstanceFormatError) as raised:
        read_jsplib(path)
    assert str(raised.value).startswith(f"{path}{where}")
    assert message in str(raised.value)


def test_a_missing_file_is_an_instance_error(tmp_path: Path) -> None:
    with pytest.raises(InstanceFormatError, match="cannot read"):
        read_jsplib(tmp_path / "absent")


def random_shop(jobs: int, machines: int, seed: int) -> JobShop:
    rng = random.Random(seed)
    return JobShop(
        machines,
        tuple(
            tuple((m, rng.randint(1, 99)) for m in rng.sample(range(machines), machines))
            for _ in range(jobs)
        ),
    )


@pytest.mark.parametrize("seed", range(4))
def test_tabu_search_is_never_worse_than_its_start_and_stays_feasible(seed: int) -> None:
    shop = random_shop(8, 5, seed)
    rule = dispatch_jobshop(shop)
    makespan, starts, _ = tabu_search(shop, rule.starts, moves=300, seed=seed)
    found = JobShopSchedule(makespan, starts, "heuristic", 0.0)
    assert violations(shop, found) == []
    assert makespan == max(starts[j][-1] + job[-1][1] for j, job in enumerate(shop.jobs))
    assert lower_bound(shop) <= makespan <= rule.makespan


def test_tabu_search_is_bounded_by_its_moves_and_repeatable() -> None:
    shop = random_shop(12, 6, 5)
    rule = dispatch_jobshop(shop)
    assert tabu_search(shop, rule.starts, moves=0)[0] == rule.makespan
    runs = [tabu_search(shop, rule.starts, moves=moves) for moves in (150, 150, 600)]
    assert runs[0] == runs[1]
    assert runs[2][0] <= runs[0][0]  # the longer search walks the shorter one's moves first
    # it stops where it reaches its target, on the same walk
    assert tabu_search(shop, rule.starts, moves=100_000, target=runs[0][0])[0] == runs[0][0]
    # and once it found nothing shorter for ``patience`` moves in a row
    stalled = tabu_search(shop, rule.starts, moves=100_000, patience=200)
    assert stalled.moves < 100_000
    found_at = stalled.moves - 200
    assert tabu_search(shop, rule.starts, moves=found_at).makespan == stalled.makespan
    assert tabu_search(shop, rule.starts, moves=found_at - 1).makespan > stalled.makespan


def test_large_instances_go_through_tabu_search_then_cp_sat() -> None:
    shop = random_shop(20, 10, 9)  # 200 operations: the tabu search gets part of the time
    schedule = solve_jobshop(shop, time_limit_s=2)
    assert violations(shop, schedule) == []
    assert schedule.makespan <= dispatch_jobshop(shop).makespan


def test_zero_durations_are_scheduled() -> None:
    shop = parse_jsplib("2 2\n0 0 1 4\n1 3 0 0\n")
    for schedule in (dispatch_jobshop(shop), solve_jobshop(shop, time_limit_s=2)):
        assert violations(shop, schedule) == []
        assert schedule.makespan == 7  # machine 1 carries 4 + 3


def test_the_work_is_proportional_to_the_limit() -> None:
    small, large = random_shop(10, 10, 1), random_shop(20, 10, 2)  # 100 and 200 operations
    one, two = work_budget(large, 5.0), work_budget(large, 10.0)
    assert one.tabu_moves > 0 and one.cp_sat_work > 0
    assert two.cp_sat_work == pytest.approx(2 * one.cp_sat_work)
    assert abs(two.tabu_moves - 2 * one.tabu_moves) <= 1
    assert two.safety_s == pytest.approx(10.0 * SAFETY_FACTOR)
    # a move costs a pass over every operation: half as many on twice the operations
    assert abs(work_budget(small, 10.0).tabu_moves - 2 * two.tabu_moves) <= 2
    assert work_budget(small, 10.0).cp_sat_work == two.cp_sat_work
    # the work the tabu search leaves goes to CP-SAT: all of it when it makes no move
    assert two.cp_sat_work_after(two.tabu_moves) == two.cp_sat_work
    assert two.cp_sat_work_after(0) == pytest.approx(10.0 * CP_SAT_WORK_PER_SECOND, rel=1e-3)
    with pytest.raises(ValueError):
        work_budget(small, 0.0)


def test_the_same_limit_gives_the_same_schedule(shared_data: Path) -> None:
    """Work, not the clock, bounds the search: solves agree on every start, with the
    CP-SAT searches side by side or one after the other."""
    path = shared_data / "scheduling" / "jsplib" / "instances" / "ft10"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    shop = read_jsplib(path)
    first, second, alone = (
        solve_jobshop(shop, time_limit_s=1.0, workers=workers) for workers in (2, 2, 1)
    )
    assert first.status != "optimal"  # CP-SAT searched; a proof would end it early
    assert violations(shop, first) == []
    assert (first.makespan, first.starts) == (second.makespan, second.starts)
    assert (first.makespan, first.starts) == (alone.makespan, alone.starts)
