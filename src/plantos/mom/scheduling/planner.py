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

An order with alternative routings and nothing pinned may be planned on one of them
(:mod:`~plantos.mom.scheduling.routes`): in the first stage a change of routing weighs
more than every move together and less than one second of weighted tardiness, and
the second stage keeps the routings the first chose.

The search is bounded by work, not by the clock: CP-SAT's deterministic time (a count
of operations scaled to be about a second each on a typical machine), a fixed seed and
a fixed number of workers (more than one searching in deterministic batches), and the
polish by a number of passes. The same problem therefore gives the same plan whether the
machine is idle or busy. The wall clock is only an outer safety limit: a solve that
reaches it returns its best plan so far, which then depends on the machine's load.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Mapping, Sequence

from ortools.sat.python import cp_model

from plantos.mom.scheduling.cpsat import deterministic_solver
from plantos.mom.scheduling.dispatch import heuristic_schedules
from plantos.mom.scheduling.evaluate import make_plan, score
from plantos.mom.scheduling.instance import Instance, Key
from plantos.mom.scheduling.model import SchedulingModel
from plantos.mom.scheduling.polish import POLISH_PASSES, restore_previous
from plantos.mom.scheduling.problem import Assignment, Plan, Problem
from plantos.mom.scheduling.routes import Variants, expand, resolve

log = logging.getLogger(__name__)

# Share of the remaining work each stage may use; unused work carries forward.
STAGE_SHARE = {"tardiness": 0.6, "makespan": 1.0}


class Interrupt:
    """Stops a search under way from another thread (a platform that is stopping), so it
    returns its best plan so far at once; searches started after :meth:`stop` return
    the heuristic plan."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self.stopped = False

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            if self._solver is not None:
                self._solver.stop_search()

    def run(self, solver: cp_model.CpSolver, model: cp_model.CpModel) -> cp_model.CpSolverStatus:
        """``solver.solve(model)``, stoppable by :meth:`stop`."""
        with self._lock:
            if self.stopped:  # asked between the stage's check and here: no search
                solver.parameters.max_deterministic_time = 0.0
            self._solver = solver
        try:
            return solver.solve(model)
        finally:
            with self._lock:
                self._solver = None


def solve(
    problem: Problem,
    *,
    work_limit: float = 2.0,
    time_limit_s: float = 30.0,
    workers: int = 2,
    interrupt: Interrupt | None = None,
) -> Plan:
    """Plan ``problem``: weighted tardiness, then makespan, then stability.

    ``work_limit`` bounds the search in CP-SAT's deterministic time, so the plan does
    not depend on how busy the machine is; ``time_limit_s`` is the wall-clock safety
    limit above it; ``interrupt`` can end it early from another thread. Raises
    :class:`SchedulingError` for input that cannot be planned (an operation with no
    eligible asset, an asset not in ``assets``, overlapping fixed work).
    """
    if work_limit <= 0 or time_limit_s <= 0 or workers < 1:
        raise ValueError(
            f"work_limit={work_limit}, time_limit_s={time_limit_s} and workers={workers} "
            "must be positive"
        )
    started = time.perf_counter()
    budget = _Budget(work_limit, deadline=started + time_limit_s * 0.95)
    instance = Instance(problem)  # every order on the routing it has now
    own = {job.order_id: job.routing for job in problem.jobs if job.alternatives}
    candidates = heuristic_schedules(instance)
    heuristic = min(candidates, key=lambda c: score(instance, c))
    if len(instance.pinned.keys() & instance.ops.keys()) == len(instance.ops):
        return make_plan(
            instance, heuristic, solver="cp-sat", status="optimal", started=started, routings=own
        )
    # an order may change routing while none of its operations is pinned
    pinned_orders = {key[0] for key in instance.pinned}
    variants = expand(problem, own.keys() - pinned_orders)
    # the first stage ranks by tardiness then moves, so hint what is best for it
    first = min(candidates, key=lambda c: _tardiness_then_moves(instance, c))
    found, optimal = _stages(
        Instance(variants.problem),
        first,
        bound=score(instance, first)[0],
        groups=variants.groups,
        budget=budget,
        workers=workers,
        interrupt=interrupt or Interrupt(),
    )
    solver, status, chosen = "cp-sat", "optimal" if optimal else "feasible", dict(own)
    if found is not None:
        found, chosen = _as_orders(found, variants, own)
        resolved = Instance(resolve(problem, chosen))
    if found is None or score(resolved, found)[0] > score(instance, heuristic)[0]:
        log.info("CP-SAT found no plan as good as dispatch within %.2f of work", work_limit)
        found, solver, status, chosen, resolved = heuristic, "dispatch", "heuristic", own, instance
    if problem.previous and status != "optimal":
        found = restore_previous(resolved, found, passes=POLISH_PASSES)
    return make_plan(
        resolved, found, solver=solver, status=status, started=started, routings=chosen
    )


def _as_orders(
    found: dict[Key, Assignment], variants: Variants, own: dict[str, str]
) -> tuple[dict[Key, Assignment], dict[str, str]]:
    """CP-SAT's plan under the orders' ids, and the routing chosen for each order."""
    chosen = dict(own)
    out: dict[Key, Assignment] = {}
    for (job, index), a in found.items():
        order, routing = variants.routing_of.get(job, (job, ""))
        if job in variants.routing_of:
            chosen[order] = routing
        out[(order, index)] = dataclasses.replace(a, order_id=order)
    return out, chosen


class _Budget:
    """Deterministic work left for the stages, and the wall-clock safety deadline."""

    def __init__(self, work: float, *, deadline: float) -> None:
        self.work = work
        self.deadline = deadline

    def solver(self, share: float, workers: int) -> cp_model.CpSolver:
        """A solver allowed ``share`` of the work left, and at most the time left."""
        solver = deterministic_solver(self.work * share, workers=workers, deadline=self.deadline)
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
    instance: Instance,
    hint: dict[Key, Assignment],
    *,
    bound: int,
    groups: Mapping[str, Sequence[str]],
    budget: _Budget,
    workers: int,
    interrupt: Interrupt,
) -> tuple[dict[Key, Assignment] | None, bool]:
    """Run the stages; the best solution found (or None) and whether every stage was
    proven optimal. ``hint`` has the orders on their own routings, with weighted
    tardiness ``bound``; ``groups`` are the jobs of the orders that may switch."""
    sm = SchedulingModel(instance, groups)
    sm.model.add(sm.tardiness <= bound)
    sm.hint(hint)
    if not _accepts(sm):
        log.error("the CP-SAT model rejects the dispatcher's valid plan: planning without it")
        return None, False
    # moved operations break ties inside each stage, so the search stays near the
    # previous plan instead of drifting from it, and a change of routing weighs more
    # than all moves together; scale makes the primary term dominate both
    switch = len(instance.problem.previous) + 1
    switches = cp_model.LinearExpr.sum(sm.switched)
    stages: list[tuple[str, cp_model.LinearExpr, cp_model.LinearExpr, int]] = [
        ("tardiness", sm.tardiness, sm.moved + switch * switches, len(sm.switched) + 1),
        ("makespan", sm.makespan, sm.moved, 1),
    ]
    best: dict[Key, Assignment] | None = None
    optimal = True
    for name, primary, ties, weight in stages:
        if budget.exhausted or interrupt.stopped:
            optimal = False
            break
        sm.hint(best or hint)
        sm.model.minimize(switch * weight * primary + ties)
        solver = budget.solver(STAGE_SHARE[name], workers)
        status = interrupt.run(solver, sm.model)
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
        sm.model.add(primary <= int(solver.value(primary)))
        for lit in sm.chosen.values():  # the routings stay as the first stage chose
            sm.model.add(lit == int(solver.boolean_value(lit)))
    return best, optimal


def _accepts(sm: SchedulingModel) -> bool:
    """Whether the model holds its hinted plan, checked by propagation alone. The plan
    obeys every rule, so a refusal is a modelling error; CP-SAT's batched parallel search
    aborts the process on a model it finds infeasible, so this guards the platform."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_deterministic_time = 1.0
    solver.parameters.catch_sigint_signal = False
    return solver.solve(sm.model) != cp_model.INFEASIBLE


def _tardiness_then_moves(instance: Instance, plan: dict[Key, Assignment]) -> tuple[int, int]:
    tardiness, _, moved = score(instance, plan)
    return tardiness, moved
