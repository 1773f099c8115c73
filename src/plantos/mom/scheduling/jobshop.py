"""The classic job shop (no calendars, no alternatives): a dispatching rule, a tabu
search and a tuned CP-SAT model, used by ``plantos schedule solve --jsplib`` and the
benchmark.

The dispatching rule's schedule is improved by a tabu search, then by two CP-SAT
searches side by side on the textbook model (an interval per operation, no overlap per
machine, precedence in each job, minimise makespan) made stronger by that schedule:
its makespan bounds the horizon, every start gets the window left by the work before
and after it in its job, the makespan starts at the larger of the longest job and the
busiest machine, and the schedule is CP-SAT's hint. The better of the two searches
wins.

The solve is bounded by work, not by the clock, so the same call gives the same
schedule on an idle or a busy machine: the tabu search by a number of moves, each
CP-SAT search by its deterministic time on one thread with a fixed seed; the two
searches share nothing, so running them side by side or one after the other changes
only how long it takes. ``time_limit_s`` names the work: what this solver does in that
many seconds on a quiet 2-core machine (see :func:`work_budget`). The clock is only a
safety net at :data:`SAFETY_FACTOR` times the limit; a solve that reaches it returns
its best schedule so far, which then depends on the machine's load.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ortools.sat.python import cp_model

from plantos.mom.scheduling.cpsat import deterministic_solver
from plantos.mom.scheduling.jsplib import JobShop
from plantos.mom.scheduling.tabu import tabu_search

# What a quiet 2-core AMD EPYC machine does in a second, with margin so that a whole
# solve stays within the limit: one CP-SAT thread's deterministic time (a unit took 6.4
# to 7.6 s of one thread on JSPLIB instances of 100 to 300 operations, with strong
# disjunctive propagation), and the tabu search's moves times operations (a move costs
# a pass over every operation; 850,000 to 950,000 a second). Solves of 10 s took 7.1 to
# 8.1 s on instances of 100 to 300 operations.
CP_SAT_WORK_PER_SECOND = 0.11
TABU_WORK_PER_SECOND = 700_000
SAFETY_FACTOR = 3.0
"""The wall-clock safety net, in multiples of the limit."""

# The share of the limit for the tabu search from the dispatching rule's schedule;
# then CP-SAT searches from its schedule, twice side by side (one search per core).
# The tabu search stops early after TABU_PATIENCE moves in a row found nothing
# shorter (on the 20-by-10 swv instances it stalls after about 8,000 moves, where
# CP-SAT still improves its schedule), and CP-SAT gets the work it left.
TABU_SHARE = 0.4
TABU_PATIENCE = 5_000
SEARCHES: tuple[dict[str, int | bool], ...] = (
    # Without the linear relaxation: cheaper nodes, so more of them in the same work
    # (from the same tabu schedule and work, swv03 1444 where the default search got
    # 1492, la29 1173 for 1178, abz7 677 for 682).
    {"linearization_level": 0},
    # The same, branching towards the best schedule found: another path down from it
    # (swv01 1459 where the first got 1482, swv02 1495 for 1511). The pair reached the
    # optimum of la22, la24, la25, orb01, orb03, orb08, ft10, la40 and ta05 in 10 s.
    {"linearization_level": 0, "exploit_best_solution": True},
)
# Tasks per synchronised batch when several threads share one search: the work limit
# is checked between batches and each task may use what was left when its batch
# began, so a batch of one task per thread keeps the overshoot small, where CP-SAT's
# own choice for 2 threads (6) ran a limit of 2.5 units of work to 6.
BATCH_SIZE = 2


@dataclass(frozen=True)
class JobShopSchedule:
    """Start of every operation, ``starts[job][index]``, and the makespan."""

    makespan: int
    starts: tuple[tuple[int, ...], ...]
    status: str  # "optimal" | "feasible" | "heuristic"
    solve_ms: float


@dataclass(frozen=True)
class WorkBudget:
    """What one solve may do: tabu moves, then the deterministic time of each CP-SAT
    search, plus what each move the tabu search leaves unmade is worth to it; and the
    wall-clock safety net."""

    tabu_moves: int
    cp_sat_work: float
    cp_sat_work_per_move: float
    safety_s: float

    def cp_sat_work_after(self, moves_made: int) -> float:
        """Each CP-SAT search's work once the tabu search made ``moves_made`` moves."""
        return self.cp_sat_work + max(0, self.tabu_moves - moves_made) * self.cp_sat_work_per_move


def work_budget(shop: JobShop, time_limit_s: float) -> WorkBudget:
    """The work a quiet 2-core machine does in ``time_limit_s``; proportional to it."""
    if time_limit_s <= 0:
        raise ValueError(f"time_limit_s={time_limit_s} must be positive")
    tabu_s = time_limit_s * TABU_SHARE
    move_s = max(1, shop.operations) / TABU_WORK_PER_SECOND
    return WorkBudget(
        tabu_moves=int(tabu_s / move_s),
        cp_sat_work=(time_limit_s - tabu_s) * CP_SAT_WORK_PER_SECOND,
        cp_sat_work_per_move=move_s * CP_SAT_WORK_PER_SECOND,
        safety_s=time_limit_s * SAFETY_FACTOR,
    )


def lower_bound(shop: JobShop) -> int:
    """No schedule is shorter than its longest job or its busiest machine."""
    load = [0] * shop.machines
    for job in shop.jobs:
        for machine, duration in job:
            load[machine] += duration
    return max([*load, *(sum(d for _, d in job) for job in shop.jobs), 0])


def dispatch_jobshop(shop: JobShop) -> JobShopSchedule:
    """Giffler-Thompson active schedule, most work remaining first, ties to shortest."""
    started = time.perf_counter()
    remaining = [sum(d for _, d in job) for job in shop.jobs]
    position = [0] * len(shop.jobs)
    job_ready = [0] * len(shop.jobs)
    machine_ready = [0] * shop.machines
    starts: list[list[int]] = [[0] * len(job) for job in shop.jobs]
    for _ in range(shop.operations):
        open_jobs = [j for j, job in enumerate(shop.jobs) if position[j] < len(job)]
        earliest = {
            j: max(job_ready[j], machine_ready[shop.jobs[j][position[j]][0]]) for j in open_jobs
        }
        first = min(open_jobs, key=lambda j: earliest[j] + shop.jobs[j][position[j]][1])
        machine, duration = shop.jobs[first][position[first]]
        cutoff = earliest[first] + duration
        conflict = [  # the first-ending operation belongs to it even when it takes no time
            j
            for j in open_jobs
            if shop.jobs[j][position[j]][0] == machine and (earliest[j] < cutoff or j == first)
        ]
        j = max(conflict, key=lambda c: (remaining[c], -shop.jobs[c][position[c]][1], -c))
        machine, duration = shop.jobs[j][position[j]]
        start = earliest[j]
        starts[j][position[j]] = start
        job_ready[j] = machine_ready[machine] = start + duration
        remaining[j] -= duration
        position[j] += 1
    return JobShopSchedule(
        makespan=max([*job_ready, 0]),
        starts=tuple(tuple(s) for s in starts),
        status="heuristic",
        solve_ms=(time.perf_counter() - started) * 1000.0,
    )


def solve_jobshop(
    shop: JobShop, *, time_limit_s: float = 10.0, workers: int = 2
) -> JobShopSchedule:
    """Minimum makespan found with the work of ``time_limit_s`` (see
    :func:`work_budget`); never worse than the dispatching rule, and the same for the
    same instance and limit whatever the machine's load and ``workers`` (how many of
    the CP-SAT searches run at once).

    ``status`` is "optimal" when proven, "feasible" from CP-SAT, "heuristic" when no
    CP-SAT search returned a schedule as short as the tabu search's."""
    if time_limit_s <= 0 or workers < 1:
        raise ValueError(f"time_limit_s={time_limit_s} and workers={workers} must be positive")
    started = time.perf_counter()
    budget = work_budget(shop, time_limit_s)
    deadline = started + budget.safety_s
    rule = dispatch_jobshop(shop)
    bound = lower_bound(shop)
    if rule.makespan == bound:
        return JobShopSchedule(rule.makespan, rule.starts, "optimal", _ms(started))
    tabu = tabu_search(
        shop,
        rule.starts,
        moves=budget.tabu_moves,
        target=bound,
        patience=TABU_PATIENCE,
        deadline=deadline,
    )
    best = JobShopSchedule(tabu.makespan, tabu.starts, "heuristic", 0.0)
    if best.makespan == bound:
        return JobShopSchedule(best.makespan, best.starts, "optimal", _ms(started))
    work = budget.cp_sat_work_after(tabu.moves)
    searches = [
        functools.partial(_cp_sat, shop, best, bound, params, work=work, deadline=deadline)
        for params in SEARCHES
    ]
    if workers == 1:
        found = [search() for search in searches]
    else:  # CP-SAT leaves Python's lock while it searches
        with ThreadPoolExecutor(max_workers=min(workers, len(searches))) as pool:
            found = list(pool.map(lambda search: search(), searches))
    # the shortest, a proof first, then the first in order: never a matter of timing
    rank = {"optimal": 0, "feasible": 1, "heuristic": 2}
    candidates = [best, *(schedule for schedule in found if schedule is not None)]
    best = min(candidates, key=lambda schedule: (schedule.makespan, rank[schedule.status]))
    return JobShopSchedule(best.makespan, best.starts, best.status, _ms(started))


def _cp_sat(
    shop: JobShop,
    start: JobShopSchedule,
    bound: int,
    params: dict[str, int | bool],
    *,
    work: float,
    deadline: float,
) -> JobShopSchedule | None:
    """One CP-SAT thread from ``start`` with ``params``; None when it found nothing."""
    model, makespan, starts = _model(shop, start, bound)
    solver = deterministic_solver(work, workers=1, deadline=deadline, batch_size=BATCH_SIZE)
    # The disjunctive propagator's stronger reasoning: each node costs more, but from
    # the same tabu schedules and with the same work CP-SAT's default search found much
    # shorter schedules with it (la22 959 -> 933, orb03 1031 -> 1005, ft10 952 -> 930
    # proven optimal; swv01 1561 -> 1448 where without it the search barely moved).
    solver.parameters.use_strong_propagation_in_disjunctive = True
    for name, value in params.items():
        setattr(solver.parameters, name, value)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return JobShopSchedule(
        makespan=int(solver.value(makespan)),
        starts=tuple(tuple(int(solver.value(s)) for s in row) for row in starts),
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        solve_ms=0.0,
    )


def _model(
    shop: JobShop, first: JobShopSchedule, bound: int
) -> tuple[cp_model.CpModel, cp_model.IntVar, list[list[cp_model.IntVar]]]:
    """The textbook model with windows from ``first``'s makespan, hinted with it."""
    model = cp_model.CpModel()
    horizon = first.makespan
    makespan = model.new_int_var(bound, horizon, "makespan")
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in range(shop.machines)]
    starts: list[list[cp_model.IntVar]] = []
    for j, job in enumerate(shop.jobs):
        head, total = 0, sum(d for _, d in job)
        row: list[cp_model.IntVar] = []
        for k, (machine, duration) in enumerate(job):
            tail = total - head  # this operation and the rest of its job
            start = model.new_int_var(head, horizon - tail, f"s{j}_{k}")
            per_machine[machine].append(model.new_fixed_size_interval_var(start, duration, ""))
            if k:
                model.add(row[-1] + job[k - 1][1] <= start)
            model.add_hint(start, first.starts[j][k])
            row.append(start)
            head += duration
        if job:
            model.add(row[-1] + job[-1][1] <= makespan)
        starts.append(row)
    for intervals in per_machine:
        model.add_no_overlap(intervals)
    model.add_hint(makespan, first.makespan)
    model.minimize(makespan)
    return model, makespan, starts


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
