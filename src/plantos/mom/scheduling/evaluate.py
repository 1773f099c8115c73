"""The figures a plan is judged by, and the check that a plan obeys every rule.

The check is the referee for every solver and every test: an operation on an asset
it is eligible for, once, after its predecessor, never before now or its release,
never in closed time, never overlapping another on the same asset, lasting exactly
its setup (after the operation before it on the asset) plus its run; fixed and
frozen operations exactly where they were.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from plantos.mom.scheduling.instance import Instance, Key
from plantos.mom.scheduling.problem import Assignment, Plan


def make_plan(
    instance: Instance,
    assignments: Mapping[Key, Assignment],
    *,
    solver: str,
    status: str,
    started: float,
    routings: Mapping[str, str] | None = None,
) -> Plan:
    """A :class:`Plan` with its figures computed from the assignments."""
    ordered = tuple(sorted(assignments.values(), key=lambda a: (a.start_s, a.asset, a.key)))
    tardiness, makespan, moved = score(instance, assignments)
    return Plan(
        assignments=ordered,
        solver=solver,
        status=status,
        weighted_tardiness_s=tardiness,
        makespan_s=makespan,
        moved=moved,
        solve_ms=(time.perf_counter() - started) * 1000.0,
        routings=dict(routings or {}),
    )


def score(instance: Instance, assignments: Mapping[Key, Assignment]) -> tuple[int, int, int]:
    """(weighted tardiness, makespan from now, moved operations of the previous plan): the
    lexicographic objective, smaller is better."""
    tardiness = 0
    for job in instance.problem.jobs:
        last = job.operations[-1]
        end = assignments[(last.order_id, last.index)].end_s
        tardiness += job.weight * max(0, end - job.due_s)
    ends = [a.end_s for a in assignments.values()]
    makespan = max(0, max(ends) - instance.problem.now_s) if ends else 0
    return tardiness, makespan, count_moved(instance.problem.previous, assignments)


def count_moved(previous: tuple[Assignment, ...], assignments: Mapping[Key, Assignment]) -> int:
    """Operations of the previous plan, still to plan, whose asset or start changed."""
    moved = 0
    for a in previous:
        now = assignments.get(a.key)
        if now is not None and (now.asset != a.asset or now.start_s != a.start_s):
            moved += 1
    return moved


def violations(instance: Instance, assignments: Mapping[Key, Assignment]) -> list[str]:
    """Every rule the assignments break, in plain words; empty for a feasible plan."""
    problems: list[str] = []
    missing = set(instance.ops) - set(assignments)
    problems += [f"{k[0]}/{k[1]} is not planned" for k in sorted(missing)]
    problems += [
        f"{k[0]}/{k[1]} is no operation" for k in sorted(set(assignments) - set(instance.ops))
    ]
    if problems:
        return problems
    for a in assignments.values():
        problems += operation_violations(instance, a, assignments)
    for asset in instance.problem.assets:
        problems += asset_violations(instance, asset, assignments)
    return problems


def operation_violations(
    instance: Instance, a: Assignment, assignments: Mapping[Key, Assignment]
) -> list[str]:
    """The rules of one operation: eligible asset, not too early, after its predecessor,
    outside closed time; pinned operations exactly where pinned."""
    info, name = instance.ops[a.key], f"{a.order_id}/{a.index}"
    pinned = instance.pinned.get(a.key)
    if pinned is not None:
        return [] if pinned == a else [f"{name} is pinned at {pinned} but planned at {a}"]
    out = []
    if info.option(a.asset) is None:
        out.append(f"{name} on {a.asset}, which is not eligible")
    if a.start_s < instance.earliest_s(info):
        out.append(f"{name} starts at {a.start_s}, before {instance.earliest_s(info)}")
    if info.position:
        op = info.job.operations[info.position - 1]
        if a.start_s < assignments[(op.order_id, op.index)].end_s:
            out.append(f"{name} starts before {op.order_id}/{op.index} ends")
    if any(s < a.end_s and a.start_s < e for s, e in instance.closed[a.asset]):
        out.append(f"{name} runs in closed time on {a.asset}")
    return out


def asset_violations(
    instance: Instance, asset: str, assignments: Mapping[Key, Assignment]
) -> list[str]:
    """No overlap on the asset (blocks of fixed work included), and each operation as long
    as its setup behind the operation before it plus its run."""
    blocks = [p for k, p in instance.pinned.items() if p.asset == asset and k not in instance.ops]
    here = sorted(
        [*blocks, *(a for a in assignments.values() if a.asset == asset)],
        key=lambda a: (a.start_s, a.end_s),
    )
    out = []
    before: Assignment | None = None
    for a in here:
        if before is not None and a.start_s < before.end_s:
            out.append(f"{a.order_id}/{a.index} overlaps {before.order_id}/{before.index}")
        info = instance.ops.get(a.key)
        option = info.option(asset) if info else None
        if info is not None and option is not None and a.key not in instance.pinned:
            family = instance.family(before.key) if before is not None else None
            need = instance.setup_s(asset, family, info, option.setup_s) + option.run_s
            if a.end_s - a.start_s != need:
                out.append(
                    f"{a.order_id}/{a.index} lasts {a.end_s - a.start_s} s on {asset}, "
                    f"needs {need} s"
                )
        before = a
    return out
