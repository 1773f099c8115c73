"""The plan depends on the problem, not on how busy the machine is: the search is bounded by
CP-SAT's deterministic work, a fixed seed and fixed workers, and the polish by passes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from plantos.mom.scheduling import check_plan, dispatch, solve
from plantos.mom.scheduling.synthetic import synthetic_problem


@contextmanager
def busy_core() -> Iterator[None]:
    """A process spinning on one core for as long as the block runs."""
    with subprocess.Popen(
        [sys.executable, "-c", "print('spinning', flush=True)\nwhile True: pass"],
        stdout=subprocess.PIPE,
        text=True,
    ) as spin:
        try:
            assert spin.stdout is not None and spin.stdout.readline().strip() == "spinning"
            yield
            assert spin.poll() is None, "the busy loop ended before the solve did"
        finally:
            spin.kill()


def test_same_problem_same_plan_with_the_other_core_busy() -> None:
    base = synthetic_problem(orders=15, assets=6, seed=3)
    # a repair: the previous plan half moved, so the stability polish has work too
    shifted = dispatch(dataclasses.replace(base, now_s=base.now_s + 1800))
    problem = dataclasses.replace(base, previous=shifted.assignments)
    idle = solve(problem, work_limit=0.2, time_limit_s=120)
    with busy_core():
        loaded = solve(problem, work_limit=0.2, time_limit_s=120)
    assert check_plan(problem, idle) == []
    # the work limit, not a proof of optimality, ended the search: the case the clock spoiled
    assert (idle.solver, idle.status) == ("cp-sat", "feasible")
    assert loaded.assignments == idle.assignments
    assert (loaded.weighted_tardiness_s, loaded.makespan_s, loaded.moved) == (
        idle.weighted_tardiness_s,
        idle.makespan_s,
        idle.moved,
    )
