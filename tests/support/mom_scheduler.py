"""A small earliest-due-date scheduler with the shapes of the scheduling interface
(``Problem``, ``Job``, ``Assignment``...), so the planning adapter, the planner and the
pages can be tested on their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


@dataclass(frozen=True)
class AssetOptionS:
    asset: str
    setup_s: int
    run_s: int


@dataclass(frozen=True)
class OperationS:
    order_id: str
    index: int
    options: tuple[AssetOptionS, ...]
    family: str | None = None


@dataclass(frozen=True)
class RouteS:
    routing: str
    operations: tuple[OperationS, ...]


@dataclass(frozen=True)
class JobS:
    order_id: str
    operations: tuple[OperationS, ...]
    release_s: int
    due_s: int
    weight: int = 1
    routing: str = ""
    alternatives: tuple[RouteS, ...] = ()


@dataclass(frozen=True)
class AssignmentS:
    order_id: str
    index: int
    asset: str
    start_s: int
    end_s: int


@dataclass(frozen=True)
class ChangeoverS:
    asset: str
    from_family: str
    to_family: str
    setup_s: int


@dataclass(frozen=True)
class ProblemS:
    now_s: int
    jobs: tuple[JobS, ...]
    assets: tuple[str, ...]
    unavailable: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    changeovers: tuple[Any, ...] = ()
    fixed: tuple[AssignmentS, ...] = ()
    previous: tuple[AssignmentS, ...] = ()
    frozen_until_s: int | None = None


def edd(problem: ProblemS, **_: Any) -> SimpleNamespace:
    """Earliest due date, first free slot that avoids closed time: just enough scheduler
    (each order on the routing it is given)."""
    free = {a: problem.now_s for a in problem.assets}
    for f in problem.fixed:
        free[f.asset] = max(free[f.asset], f.end_s)
    out = [*problem.fixed]
    fixed = {(f.order_id, f.index) for f in problem.fixed}
    for job in sorted(problem.jobs, key=lambda j: (j.due_s, j.order_id)):
        ready = job.release_s
        for op in job.operations:
            if (op.order_id, op.index) in fixed:
                continue
            best = min((_slot(problem, o, max(ready, free[o.asset])), o.asset) for o in op.options)
            (start, end), asset = best
            out.append(AssignmentS(job.order_id, op.index, asset, start, end))
            free[asset] = ready = end
    tardy = sum(
        max(0, max(a.end_s for a in out if a.order_id == j.order_id) - j.due_s) * j.weight
        for j in problem.jobs
        if any(a.order_id == j.order_id for a in out)
    )
    return SimpleNamespace(
        assignments=tuple(out),
        solver="edd",
        status="heuristic",
        weighted_tardiness_s=tardy,
        makespan_s=max((a.end_s for a in out), default=problem.now_s) - problem.now_s,
        moved=0,
        solve_ms=0.1,
        routings={j.order_id: j.routing for j in problem.jobs if j.alternatives},
    )


def _slot(problem: ProblemS, option: AssetOptionS, start: int) -> tuple[int, int]:
    duration = option.setup_s + option.run_s
    for a, b in sorted(problem.unavailable.get(option.asset, ())):
        if start < b and a < start + duration:
            start = max(start, b)
    return start, start + duration


def diff(before: Sequence[AssignmentS], after: Any, jobs: Sequence[JobS]) -> SimpleNamespace:
    new = {(a.order_id, a.index): a for a in after.assignments}
    moved = tuple(
        SimpleNamespace(
            order_id=b.order_id,
            index=b.index,
            old_asset=b.asset,
            old_start_s=b.start_s,
            old_end_s=b.end_s,
            new_asset=n.asset,
            new_start_s=n.start_s,
            new_end_s=n.end_s,
        )
        for b in before
        if (n := new.get((b.order_id, b.index))) and (n.asset, n.start_s) != (b.asset, b.start_s)
    )
    etas = {
        j.order_id: max(a.end_s for a in after.assignments if a.order_id == j.order_id)
        for j in jobs
    }
    late = tuple(j.order_id for j in jobs if etas[j.order_id] > j.due_s)
    return SimpleNamespace(moved=moved, etas=etas, late_orders=late)


class Interrupt:
    """The stand-in's searches end at once: nothing to stop."""

    def stop(self) -> None:
        pass


SCHEDULER = SimpleNamespace(
    Interrupt=Interrupt,
    AssetOption=AssetOptionS,
    Operation=OperationS,
    Job=JobS,
    Route=RouteS,
    Assignment=AssignmentS,
    Changeover=ChangeoverS,
    Problem=ProblemS,
    solve=edd,
    dispatch=edd,
    repair=edd,
    diff=diff,
)
