"""``solve``: CP-SAT in two stages within one work budget, for a lexicographic objective.

Stage 1 minimises weighted tardiness; its value in the best solution becomes a
constraint. Stage 2 minimises makespan under it. In both stages the number of moved
operations of the previous plan breaks ties (scaled so it can never outweigh one
second of the stage's own objective), so the result is ordered by weighted
tardiness, then makespan, then stability, and the search stays near the previous
plan. Each stage starts from the best solution so far as a complete hint, so a stage
that runs out of work still returns at least that solution. The first stage is
hinted with the heuristic plan best for it (lowest weighted tardiness, then fewest
moves) among the dispatcher's and two repairs of the previous plan, and bounded by
its tardiness. When CP-SAT finds nothing in time, or nothing as good on weighted
tardiness, the best heuristic plan is returned: ``solve`` is never worse than
``dispatch`` on weighted tardiness. Unless CP-SAT proved the plan optimal, a last
pass puts operations of the previous plan back where they were whenever that costs
neither tardiness nor makespan.

The search is bounded by work, not by the clock: CP-SAT's deterministic time (a count
of operations scaled to be about a second each on a typical machine), a fixed seed and
a fixed number of workers (more than one searching in deterministic batches), and the
polish by a number of passes. The same problem therefore gives the same plan whether the
machine is idle or busy. The wall clock is only an outer safety limit: a solve that
reaches it returns its best plan so far, which then depends on the machine's load.
"""

from __future__ import annotations

import logging
import time

from ortools.sat.python import cp_model

from plantos.mom.scheduling.dispatch import edd_schedule, repair_schedules
from plantos.mom.scheduling.evaluate import make_plan, score
from plantos.mom.scheduling.instance import Instance, Key
from plantos.mom.scheduling.model import SchedulingModel
from plantos.mom.scheduling.polish import restore_previous
from plantos.mom.scheduling.problem import Assignment, Plan, Problem

log = logging.getLogger(__name__)

# Share of the remaining work each stage may use; unused work carries forward.
STAGE_SHARE = {"tardiness": 0.6, "makespan": 1.0}
POLISH_PASSES = 3
"""Passes of the stability polish over the moved operations (one returning can make
room for another in the next pass)."""


def solve(
    problem: Problem,
    *,
    work_limit: float = 2.0,
    time_limit_s: float = 30.0,
    workers: int = 2,
) -> Plan:
    """Plan ``problem``: weighted tardiness, then makespan, then stability.

    ``work_limit`` bounds the search in CP-SAT's deterministic time, so the plan does
    not depend on how busy the machine is; ``time_limit_s`` is the wall-clock safety
    limit above it. Raises :class:`SchedulingError` for input that cannot be planned (an
    operation with no eligible asset, an asset not in ``assets``, overlapping fixed work).
    """
    if work_limit <= 0 or time_limit_s <= 0 or workers < 1:
        raise ValueError(
            f"work_limit={work_limit}, time_limit_s={time_limit_s} and workers={workers} "
            "must be positive"
        )
    started = time.perf_counter()
    budget = _Budget(work_limit, deadline=started + time_limit_s * 0.95)
    instance = Instance(problem)
    candidates = [edd_schedule(instance)]
    if problem.previous:
        candidates += repair_schedules(instance)
    heuristic = min(candidates, key=lambda c: score(instance, c))
    if len(instance.pinned.keys() & instance.ops.keys()) == len(instance.ops):
        return make_plan(instance, heuristic, solver="cp-sat", status="optimal", started=started)
    # the first stage ranks by tardiness then moves, so hint what is best for it
    first = min(candidates, key=lambda c: _tardiness_then_moves(instance, c))
    found, optimal = _stages(instance, first, budget=budget, workers=workers)
    solver, status = "cp-sat", "optimal" if optimal else "feasible"
    if found is None or score(instance, found)[0] > score(instance, heuristic)[0]:
        log.info("CP-SAT found no plan as good as dispatch within %.2f of work", work_limit)
        found, solver, status = heuristic, "dispatch", "heuristic"
    if problem.previous and status != "optimal":
        found = restore_previous(instance, found, passes=POLISH_PASSES)
    return make_plan(instance, found, solver=solver, status=status, started=started)


class _Budget:
    """Deterministic work left for the stages, and the wall-clock safety deadline."""

    def __init__(self, work: float, *, deadline: float) -> None:
        self.work = work
        self.deadline = deadline

    def solver(self, share: float, workers: int) -> cp_model.CpSolver:
        """A solver allowed ``share`` of the work left, and at most the time left."""
        solver = cp_model.CpSolver()
        solver.parameters.max_deterministic_time = self.work * share
        solver.parameters.max_time_in_seconds = max(0.01, self.deadline - time.perf_counter())
        solver.parameters.num_workers = workers
        # several workers are only repeatable when they search in synchronised batches
        solver.parameters.interleave_search = workers > 1
        solver.parameters.random_seed = 7
        solver.parameters.catch_sigint_signal = False  # Ctrl-C is the platform's to handle
        # Presolve took most of a two-second budget on plant-sized models and found little
        # to remove; without it the hinted plan is the first solution within milliseconds.
        solver.parameters.cp_model_presolve = False
        return solver

    def spend(self, solver: cp_model.CpSolver, status: cp_model.CpSolverStatus) -> None:
        """Count the stage's work; warn when the clock, not the work, stopped it."""
        self.work -= solver.deterministic_time
        limit = solver.parameters.max_time_in_seconds
        if status != cp_model.OPTIMAL and solver.wall_time >= limit * 0.99:
            log.warning(
                "CP-SAT stopped at the %.1f s safety limit before its work limit: "
                "this plan depends on the machine's load",
                limit,
            )

    @property
    def exhausted(self) -> bool:
        return self.work <= 0.001 or time.perf_counter() >= self.deadline


def _stages(
    instance: Instance, hint: dict[Key, Assignment], *, budget: _Budget, workers: int
) -> tuple[dict[Key, Assignment] | None, bool]:
    """Run the stages; the best solution found (or None) and whether every stage was
    proven optimal."""
    sm = SchedulingModel(instance)
    sm.model.add(sm.tardiness <= score(instance, hint)[0])
    # moved operations break ties inside each stage, so the search stays near the
    # previous plan instead of drifting from it; scale makes the primary term dominate
    scale = len(instance.problem.previous) + 1
    stages: list[tuple[str, cp_model.LinearExpr, int]] = [
        ("tardiness", sm.tardiness, 0),
        ("makespan", sm.makespan, 1),
    ]
    best: dict[Key, Assignment] | None = None
    optimal = True
    for name, primary, position in stages:
        if budget.exhausted:
            optimal = False
            break
        sm.hint(best or hint)
        sm.model.minimize(scale * primary + sm.moved)
        solver = budget.solver(STAGE_SHARE[name], workers)
        status = solver.solve(sm.model)
        budget.spend(solver, status)
        log.debug(
            "stage %s: %s after %.2f of work",
            name,
            solver.status_name(status),
            solver.deterministic_time,
        )
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            optimal = False
            if best is None:
                return None, False
            break
        best = sm.read(solver)
        optimal = optimal and status == cp_model.OPTIMAL
        sm.model.add(primary <= score(instance, best)[position])
    return best, optimal


def _tardiness_then_moves(instance: Instance, plan: dict[Key, Assignment]) -> tuple[int, int]:
    tardiness, _, moved = score(instance, plan)
    return tardiness, moved
