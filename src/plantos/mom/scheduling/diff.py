"""What a new plan changes for the floor: moved operations, new ETAs, orders now late."""

from __future__ import annotations

from collections.abc import Sequence

from plantos.mom.scheduling.problem import Assignment, Job, Move, Plan, ScheduleDiff


def diff(before: Sequence[Assignment], after: Plan, jobs: Sequence[Job]) -> ScheduleDiff:
    """Compare the plan people worked from with the new one.

    An operation has moved when its asset or start changed; operations only in one of
    the plans (finished, cancelled or new) are no moves. The ETA of an order is the end of
    its last operation in the new plan; an order is late when that is after its due date.
    """
    new = {a.key: a for a in after.assignments}
    moved = tuple(
        Move(
            order_id=old.order_id,
            index=old.index,
            old_asset=old.asset,
            old_start_s=old.start_s,
            old_end_s=old.end_s,
            new_asset=now.asset,
            new_start_s=now.start_s,
            new_end_s=now.end_s,
        )
        for old in sorted(before, key=lambda a: (a.start_s, a.key))
        if (now := new.get(old.key)) is not None
        and (now.asset != old.asset or now.start_s != old.start_s)
    )
    etas: dict[str, int] = {}
    late: list[str] = []
    for job in jobs:
        ends = [
            new[(job.order_id, op.index)].end_s
            for op in job.operations
            if (job.order_id, op.index) in new
        ]
        if not ends:
            continue
        etas[job.order_id] = max(ends)
        if etas[job.order_id] > job.due_s:
            late.append(job.order_id)
    return ScheduleDiff(moved=moved, etas=etas, late_orders=tuple(late))
