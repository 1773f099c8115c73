"""The classic job shop (no calendars, no alternatives): a dispatching rule and a tuned
CP-SAT model, used by ``plantos schedule solve --jsplib`` and the benchmark.

The model is the textbook one (an interval per operation, no overlap per machine,
precedence in each job, minimise makespan) made stronger by a good first solution:
the dispatching rule's schedule, improved by a tabu search for part of the time
limit. Its makespan bounds the horizon, every start gets the window left by the
work before and after it in its job, the makespan starts at the larger of the
longest job and the busiest machine, and the schedule is CP-SAT's hint. The limits
are wall-clock seconds, so on a busy machine the same call does less work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from plantos.mom.scheduling.jsplib import JobShop
from plantos.mom.scheduling.tabu import tabu_search

# The tabu search gets a share of the time limit growing with the instance: CP-SAT
# does best by itself up to about 150 operations, local search gains most per second
# on larger ones (measured on the JSPLIB instances, 10 s, 2 cores). Half the time at
# most: on the 20-by-10 swv instances it stalls after a few seconds, and CP-SAT with
# strong disjunctive propagation still improves its schedule with the rest.
TABU_FROM_OPERATIONS = 150
TABU_FULL_SHARE_AT = 200
TABU_MAX_SHARE = 0.5


@dataclass(frozen=True)
class JobShopSchedule:
    """Start of every operation, ``starts[job][index]``, and the makespan."""

    makespan: int
    starts: tuple[tuple[int, ...], ...]
    status: str  # "optimal" | "feasible" | "heuristic"
    solve_ms: float


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
    """Minimum makespan found within the limit; never worse than the dispatching rule.

    ``status`` is "optimal" when proven, "feasible" from CP-SAT, "heuristic" when
    CP-SAT found nothing better in time than the tabu search's schedule."""
    if time_limit_s <= 0 or workers < 1:
        raise ValueError(f"time_limit_s={time_limit_s} and workers={workers} must be positive")
    started = time.perf_counter()
    first = dispatch_jobshop(shop)
    bound = lower_bound(shop)
    tabu_ran = first.makespan > bound and _tabu_share(shop) > 0
    if tabu_ran:
        improved, starts_found = tabu_search(
            shop, first.starts, time_limit_s=time_limit_s * _tabu_share(shop)
        )
        first = JobShopSchedule(improved, starts_found, "heuristic", _ms(started))
    if first.makespan == bound:
        return JobShopSchedule(first.makespan, first.starts, "optimal", _ms(started))
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
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(
        0.01, time_limit_s - (time.perf_counter() - started)
    )
    solver.parameters.num_workers = workers
    # After the tabu search, the disjunctive propagator's stronger reasoning: each node
    # costs more, but from the same tabu schedule and the same deterministic work it
    # found much shorter schedules on the hard 20-by-10 swv instances (swv01 1517 ->
    # 1473, swv05 1553 -> 1487), where the default barely moves it, for slightly longer
    # ones on some others (abz8 691 -> 696, ta08 1217 -> 1223).
    solver.parameters.use_strong_propagation_in_disjunctive = tabu_ran
    solver.parameters.catch_sigint_signal = False  # Ctrl-C is the platform's to handle
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return JobShopSchedule(first.makespan, first.starts, "heuristic", _ms(started))
    return JobShopSchedule(
        makespan=int(solver.value(makespan)),
        starts=tuple(tuple(int(solver.value(s)) for s in row) for row in starts),
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        solve_ms=_ms(started),
    )


def _tabu_share(shop: JobShop) -> float:
    ramp = (shop.operations - TABU_FROM_OPERATIONS) / (TABU_FULL_SHARE_AT - TABU_FROM_OPERATIONS)
    return TABU_MAX_SHARE * min(1.0, max(0.0, ramp))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
