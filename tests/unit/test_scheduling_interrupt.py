"""A search under way stops when asked from another thread (the platform is stopping)
and returns a feasible plan; a search asked to stop before it starts returns the
heuristic plan without searching."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("ortools", reason="the CP-SAT scheduler (ortools) is not installed")

from plantos.mom.scheduling import Interrupt, check_plan, solve
from plantos.mom.scheduling.synthetic import synthetic_problem


def test_a_long_search_stops_when_asked_with_a_feasible_plan() -> None:
    problem = synthetic_problem(assets=20, orders=120, seed=3)
    interrupt = Interrupt()
    plans = []
    search = threading.Thread(
        target=lambda: plans.append(
            solve(problem, work_limit=10_000.0, time_limit_s=3600.0, interrupt=interrupt)
        )
    )
    search.start()
    while search.is_alive() and interrupt._solver is None:  # CP-SAT has started
        time.sleep(0.01)
    interrupt.stop()
    search.join(timeout=120)
    assert not search.is_alive(), "the search went on after it was asked to stop"
    (plan,) = plans
    assert plan.status != "optimal" and check_plan(problem, plan) == []


def test_a_search_asked_to_stop_before_it_starts_returns_the_heuristic_plan() -> None:
    problem = synthetic_problem(assets=5, orders=20, seed=1)
    interrupt = Interrupt()
    interrupt.stop()
    plan = solve(problem, work_limit=10_000.0, time_limit_s=3600.0, interrupt=interrupt)
    assert plan.solver == "dispatch" and check_plan(problem, plan) == []
