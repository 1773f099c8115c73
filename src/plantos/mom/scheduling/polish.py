"""Stability polish: operations of the previous plan put back where they were.

Within a short work limit CP-SAT often ends with operations moved that did not need
to move. This pass tries each one back in its previous slot (same asset, start and
end) and keeps it there when every rule still holds around it and the plan is no
worse on weighted tardiness, then makespan. It repeats while anything returns, so
one operation going back can make room for another, up to a number of passes: a count,
not a time, so the result does not depend on the machine's speed.
"""

from __future__ import annotations

from collections.abc import Mapping

from plantos.mom.scheduling.evaluate import asset_violations, operation_violations, score
from plantos.mom.scheduling.instance import Instance, Key
from plantos.mom.scheduling.problem import Assignment

POLISH_PASSES = 3
"""Passes the planner makes over moved operations (one returning can make room for
another in the next pass)."""


def restore_previous(
    instance: Instance, assignments: Mapping[Key, Assignment], *, passes: int
) -> dict[Key, Assignment]:
    """``assignments`` with as many moved operations returned as fit in ``passes``
    passes over them."""
    plan = dict(assignments)
    candidates = [
        a for a in instance.problem.previous if a.key in plan and a.key not in instance.pinned
    ]
    best = score(instance, plan)[:2]
    changed = True
    while changed and passes > 0:
        changed, passes = False, passes - 1
        for old in candidates:
            now = plan[old.key]
            if now.asset == old.asset and now.start_s == old.start_s:
                continue
            plan[old.key] = old
            if _fits(instance, plan, old, now) and (value := score(instance, plan)[:2]) <= best:
                best, changed = value, True
            else:
                plan[old.key] = now
    return plan


def _fits(
    instance: Instance, plan: Mapping[Key, Assignment], old: Assignment, now: Assignment
) -> bool:
    """Whether the rules around the returned operation hold: its own, its successor's in
    the order, and those of both assets it left and joined."""
    info = instance.ops[old.key]
    around = [old]
    if info.position + 1 < len(info.job.operations):
        nxt = info.job.operations[info.position + 1]
        around.append(plan[(nxt.order_id, nxt.index)])
    if any(operation_violations(instance, a, plan) for a in around):
        return False
    return not any(asset_violations(instance, asset, plan) for asset in {old.asset, now.asset})
