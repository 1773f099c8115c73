"""The dispatching heuristic: earliest due date first, each operation in its first free slot.

It is the fallback when CP-SAT finds nothing in time and the baseline CP-SAT must beat.
It also repairs a plan: asked to prefer the previous plan, it keeps every operation
where it was when that slot is still free and open, and moves only the rest. A repair
takes milliseconds where CP-SAT takes seconds, so ``repair`` is the plan the floor hears
first when something changes, before CP-SAT's better one.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping

from plantos.mom.scheduling.evaluate import make_plan, score
from plantos.mom.scheduling.instance import Instance, Key, OpInfo
from plantos.mom.scheduling.polish import POLISH_PASSES, restore_previous
from plantos.mom.scheduling.problem import Assignment, Plan, Problem
from plantos.mom.scheduling.routes import resolve
from plantos.mom.scheduling.timeline import Slot, Timeline


def dispatch(problem: Problem) -> Plan:
    """Earliest due date, first free slot: the fallback and the baseline."""
    started = time.perf_counter()
    instance = Instance(problem)
    return make_plan(
        instance, edd_schedule(instance), solver="dispatch", status="heuristic", started=started
    )


ROUTE_TRIALS = 16
"""Alternative routings a repair tries at most, for the latest orders first."""


def repair(problem: Problem) -> Plan:
    """The best of the quick plans (:func:`heuristic_schedules`) by the lexicographic
    objective: the previous plan repaired, or the dispatcher's when that is better or
    there is no previous plan. An order that would be late and has not started may take
    an alternative routing, tried for the latest orders first, when that lowers the
    weighted tardiness (at most ``ROUTE_TRIALS`` tries, so a repair stays quick). Last,
    operations of the previous plan go back where they were whenever that costs neither
    tardiness nor makespan: the dispatcher's plan may win on makespan while moving
    operations that did not need to move."""
    started = time.perf_counter()
    chosen = {job.order_id: job.routing for job in problem.jobs if job.alternatives}
    instance = Instance(resolve(problem, chosen))
    best = _best(instance)
    pinned = {key[0] for key in instance.pinned}
    trials = 0
    for job in sorted(problem.jobs, key=lambda j: -_lateness(instance, best, j.order_id)):
        if trials >= ROUTE_TRIALS or _lateness(instance, best, job.order_id) <= 0:
            break
        if job.order_id in pinned:
            continue
        for route in job.alternatives:
            trials += 1
            trial = {**chosen, job.order_id: route.routing}
            other = Instance(resolve(problem, trial))
            plan = _best(other)
            if score(other, plan)[0] < score(instance, best)[0]:
                chosen, instance, best = trial, other, plan
    if problem.previous:
        best = restore_previous(instance, best, passes=POLISH_PASSES)
    return make_plan(
        instance, best, solver="repair", status="heuristic", started=started, routings=chosen
    )


def _best(instance: Instance) -> dict[Key, Assignment]:
    return min(heuristic_schedules(instance), key=lambda c: score(instance, c))


def _lateness(instance: Instance, plan: Mapping[Key, Assignment], order_id: str) -> int:
    """How late ``plan`` finishes the order, in seconds (negative: early)."""
    job = instance.jobs[order_id]
    last = job.operations[-1]
    return plan[(last.order_id, last.index)].end_s - job.due_s


def heuristic_schedules(instance: Instance) -> list[dict[Key, Assignment]]:
    """The dispatcher's plan and, when there is a previous plan, its two repairs."""
    candidates = [edd_schedule(instance)]
    if instance.problem.previous:
        candidates += repair_schedules(instance)
    return candidates


def edd_schedule(instance: Instance) -> dict[Key, Assignment]:
    """Orders by due date (then weight, release, id), each operation at its earliest end."""
    rank = _edd_rank(instance)
    return list_schedule(instance, priority=lambda info: (rank[info.job.order_id], 0))


def repair_schedules(instance: Instance) -> list[dict[Key, Assignment]]:
    """Two repairs of the previous plan, each keeping operations where they were whenever
    that slot is still free and open: one visits operations in due-date order (keeps
    tardiness low), one in the previous plan's time order (keeps more in place)."""
    rank = _edd_rank(instance)
    before = {a.key: a for a in instance.problem.previous}

    def in_time_order(info: OpInfo) -> tuple[int, int]:
        kept = before.get(info.key)
        return (kept.start_s if kept else 2**62, rank[info.job.order_id])

    return [
        list_schedule(instance, priority=lambda i: (rank[i.job.order_id], 0), prefer=before),
        list_schedule(instance, priority=in_time_order, prefer=before),
    ]


def list_schedule(
    instance: Instance,
    *,
    priority: Callable[[OpInfo], tuple[int, int]],
    prefer: Mapping[Key, Assignment] | None = None,
) -> dict[Key, Assignment]:
    """Place ready operations (their predecessor placed) one at a time, lowest
    ``priority`` first; an operation takes its ``prefer`` slot when that still fits."""
    timelines = {a: Timeline(a, instance, instance.closed[a]) for a in instance.problem.assets}
    done: dict[Key, Assignment] = {}
    for key, a in instance.pinned.items():
        timelines[a.asset].add(Slot(a.start_s, a.end_s, key if key in instance.ops else None, 0))
        if key in instance.ops:
            done[key] = a
    ready: list[tuple[tuple[int, int], Key]] = []
    for job in instance.problem.jobs:
        _push_next(instance, job.order_id, 0, done, ready, priority)
    while ready:
        _, key = heapq.heappop(ready)
        info = instance.ops[key]
        earliest = instance.earliest_s(info)
        if info.position:
            prev = info.job.operations[info.position - 1]
            earliest = max(earliest, done[(prev.order_id, prev.index)].end_s)
        slot, asset = _place(info, earliest, timelines, (prefer or {}).get(key))
        timelines[asset].add(slot)
        done[key] = Assignment(key[0], key[1], asset, slot.start_s, slot.end_s)
        _push_next(instance, key[0], info.position + 1, done, ready, priority)
    return done


def _push_next(
    instance: Instance,
    order_id: str,
    position: int,
    done: dict[Key, Assignment],
    ready: list[tuple[tuple[int, int], Key]],
    priority: Callable[[OpInfo], tuple[int, int]],
) -> None:
    """Queue the order's first operation from ``position`` that is not pinned."""
    for op in instance.jobs[order_id].operations[position:]:
        key = (op.order_id, op.index)
        if key not in done:
            heapq.heappush(ready, (priority(instance.ops[key]), key))
            return


def _place(
    info: OpInfo, earliest_s: int, timelines: dict[str, Timeline], kept: Assignment | None
) -> tuple[Slot, str]:
    if kept is not None and kept.start_s >= earliest_s and info.option(kept.asset):
        slot = timelines[kept.asset].first_fit(info, kept.start_s)
        if slot is not None and slot.start_s == kept.start_s:
            return slot, kept.asset
    best: tuple[Slot, str] | None = None
    for option in info.op.options:
        slot = timelines[option.asset].first_fit(info, earliest_s)
        if slot is not None and (best is None or slot.end_s < best[0].end_s):
            best = (slot, option.asset)
    if best is None:  # Instance guarantees at least one eligible asset
        raise RuntimeError(f"no slot for {info.key}")
    return best


def _edd_rank(instance: Instance) -> dict[str, int]:
    jobs = sorted(
        instance.problem.jobs, key=lambda j: (j.due_s, -j.weight, j.release_s, j.order_id)
    )
    return {job.order_id: rank for rank, job in enumerate(jobs)}
