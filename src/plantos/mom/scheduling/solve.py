"""``solve``: CP-SAT in three stages, one per objective, within one time budget.

Stage 1 minimises weighted tardiness; its best value becomes a constraint. Stage 2
minimises makespan under it; stage 3 (only when there is a previous plan) minimises
the number of moved operations under both. Each stage starts from the best solution
so far as a hint, so a stage that runs out of time still returns at least that
solution. The first stage is hinted with the better of the dispatching heuristic and
the repaired previous plan, and bounded by it: CP-SAT never returns a plan worse on
weighted tardiness than dispatch. If CP-SAT finds nothing in time, the heuristic plan
is returned.
"""

from __future__ import annotations

import logging
import time

from ortools.sat.python import cp_model

from plantos.mom.scheduling.dispatch import edd_schedule, repair_schedule
from plantos.mom.scheduling.evaluate import make_plan, score
from plantos.mom.scheduling.instance import Instance, Key
from plantos.mom.scheduling.model import SchedulingModel
from plantos.mom.scheduling.problem import Assignment, Plan, Problem

log = logging.getLogger(__name__)

# Share of the remaining budget each stage may use; unused time carries forward.
STAGE_SHARE = {"tardiness": 0.5, "makespan": 0.5, "stability": 1.0}


def solve(problem: Problem, *, time_limit_s: float = 10.0, workers: int = 2) -> Plan:
    """Plan ``problem``: weighted tardiness, then makespan, then stability.

    Raises :class:`SchedulingError` for input that cannot be planned (an operation
    with no eligible asset, an asset not in ``assets``, overlapping fixed work).
    """
    if time_limit_s <= 0 or workers < 1:
        raise ValueError(f"time_limit_s={time_limit_s} and workers={workers} must be positive")
    started = time.perf_counter()
    deadline = started + time_limit_s
    instance = Instance(problem)
    candidates = [edd_schedule(instance)]
    if problem.previous:
        candidates.append(repair_schedule(instance))
    heuristic = min(candidates, key=lambda c: score(instance, c))
    if len(instance.pinned.keys() & instance.ops.keys()) == len(instance.ops):
        return make_plan(instance, heuristic, solver="cp-sat", status="optimal", started=started)
    found, optimal = _stages(instance, heuristic, deadline=deadline, workers=workers)
    if found is None or score(instance, heuristic) < score(instance, found):
        log.info("CP-SAT found no better plan in %.1f s; using dispatch", time_limit_s)
        return make_plan(
            instance, heuristic, solver="dispatch", status="heuristic", started=started
        )
    status = "optimal" if optimal else "feasible"
    return make_plan(instance, found, solver="cp-sat", status=status, started=started)


def _stages(
    instance: Instance, hint: dict[Key, Assignment], *, deadline: float, workers: int
) -> tuple[dict[Key, Assignment] | None, bool]:
    """Run the stages; the best solution found (or None) and whether every stage was
    proven optimal."""
    sm = SchedulingModel(instance)
    sm.model.add(sm.tardiness <= score(instance, hint)[0])
    objectives: list[tuple[str, cp_model.LinearExprT]] = [
        ("tardiness", sm.tardiness),
        ("makespan", sm.makespan),
    ]
    if sm.stay or instance.problem.previous:
        objectives.append(("stability", sm.moved))
    best: dict[Key, Assignment] | None = None
    optimal = True
    for name, objective in objectives:
        remaining = deadline - time.perf_counter()
        if remaining <= 0.01:
            optimal = False
            break
        sm.hint(best or hint)
        sm.model.minimize(objective)
        solver = _solver(remaining * STAGE_SHARE[name], workers)
        status = solver.solve(sm.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            optimal = False
            if best is None:
                return None, False
            break
        best = sm.read(solver)
        optimal = optimal and status == cp_model.OPTIMAL
        sm.model.add(objective <= round(solver.objective_value))
        log.debug("stage %s: %s %d", name, solver.status_name(status), solver.objective_value)
    return best, optimal


def _solver(time_limit_s: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 7
    return solver
