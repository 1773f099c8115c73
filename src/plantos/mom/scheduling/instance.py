"""A checked, indexed view of a :class:`Problem` that the solvers share.

Checking happens once here, so ``dispatch``, the CP-SAT model and the feasibility
check agree on what is allowed: which operations are pinned (fixed, or frozen from
the previous plan), what setup an operation needs after another, and which time is
closed on each asset.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from plantos.mom.scheduling.problem import (
    AssetOption,
    Assignment,
    Job,
    Operation,
    Problem,
    SchedulingError,
)

Key = tuple[str, int]


@dataclass(frozen=True)
class OpInfo:
    """One operation with its order, so solvers never look the order up again."""

    job: Job
    op: Operation
    position: int  # place in the order's operation tuple

    @property
    def key(self) -> Key:
        return (self.op.order_id, self.op.index)

    def option(self, asset: str) -> AssetOption | None:
        return next((o for o in self.op.options if o.asset == asset), None)


class Instance:
    """The problem checked and indexed; raises :class:`SchedulingError` on bad input."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.ops: dict[Key, OpInfo] = {}
        self.jobs: dict[str, Job] = {}
        _check_assets(problem)
        for job in problem.jobs:
            self._add_job(job)
        self._setups = {
            (c.asset, c.from_family, c.to_family): c.setup_s for c in problem.changeovers
        }
        self.closed = {a: _merged(problem.unavailable.get(a, ())) for a in problem.assets}
        self.pinned = self._pin()

    def _add_job(self, job: Job) -> None:
        if job.order_id in self.jobs:
            raise SchedulingError(f"order {job.order_id!r} appears twice")
        self.jobs[job.order_id] = job
        if not job.operations:
            raise SchedulingError(f"order {job.order_id!r} has no operations")
        last = -1
        for position, op in enumerate(job.operations):
            where = f"operation {job.order_id}/{op.index}"
            if op.order_id != job.order_id:
                raise SchedulingError(f"{where} names order {op.order_id!r}")
            if op.index <= last:
                raise SchedulingError(f"{where}: indices must increase along the routing")
            last = op.index
            if not op.options:
                raise SchedulingError(f"{where} has no eligible asset")
            for option in op.options:
                if option.asset not in self.problem.assets:
                    raise SchedulingError(f"{where}: unknown asset {option.asset!r}")
                if option.setup_s < 0 or option.run_s < 0:
                    raise SchedulingError(f"{where}: negative time on {option.asset!r}")
            self.ops[(op.order_id, op.index)] = OpInfo(job, op, position)

    def setup_s(self, asset: str, before: str | None, after: OpInfo, default_s: int) -> int:
        """Setup of ``after`` on ``asset`` right behind an operation of family ``before``."""
        if before is None or after.op.family is None:
            return default_s
        return self._setups.get((asset, before, after.op.family), default_s)

    def has_changeovers(self, asset: str) -> bool:
        return any(key[0] == asset for key in self._setups)

    def family(self, key: Key | None) -> str | None:
        info = self.ops.get(key) if key is not None else None
        return info.op.family if info is not None else None

    def earliest_s(self, info: OpInfo) -> int:
        """No operation starts before now, nor an order's first one before its release."""
        floor = self.problem.now_s
        return max(floor, info.job.release_s) if info.position == 0 else floor

    def _pin(self) -> dict[Key, Assignment]:
        """Fixed operations, then operations of ``previous`` inside the frozen horizon that
        can still run where they were (their asset open, eligible, and every earlier
        operation of the order pinned too)."""
        pinned: dict[Key, Assignment] = {}
        for a in self.problem.fixed:
            pinned[a.key] = a
        for key in pinned:
            info = self.ops.get(key)
            if info is not None and info.position > 0:
                before = info.job.operations[info.position - 1]
                if (before.order_id, before.index) not in pinned:
                    raise SchedulingError(
                        f"operation {key[0]}/{key[1]} is fixed but {key[0]}/{before.index} "
                        "before it is not"
                    )
        frozen_until = self.problem.frozen_until_s
        if frozen_until is None:
            return pinned
        for a in sorted(self.problem.previous, key=lambda x: (x.order_id, x.index)):
            info = self.ops.get(a.key)
            if info is None or a.key in pinned or a.start_s >= frozen_until:
                continue
            if info.position:
                prior = info.job.operations[info.position - 1]
                if (prior.order_id, prior.index) not in pinned:
                    continue
            if info.option(a.asset) is not None and self._still_open(a, pinned):
                pinned[a.key] = a
        return pinned

    def _still_open(self, a: Assignment, pinned: dict[Key, Assignment]) -> bool:
        if any(s < a.end_s and a.start_s < e for s, e in self.closed[a.asset]):
            return False
        return not any(
            p.asset == a.asset and p.start_s < a.end_s and a.start_s < p.end_s
            for p in pinned.values()
        )


def _check_assets(problem: Problem) -> None:
    known = set(problem.assets)
    if len(known) != len(problem.assets):
        raise SchedulingError("an asset is listed twice")
    for asset, spans in problem.unavailable.items():
        if asset not in known:
            raise SchedulingError(f"unavailable time for unknown asset {asset!r}")
        for start, end in spans:
            if end < start:
                raise SchedulingError(f"unavailable interval [{start}, {end}) on {asset!r}")
    for c in problem.changeovers:
        if c.asset not in known or c.setup_s < 0:
            raise SchedulingError(f"bad changeover {c}")
    for a in (*problem.fixed, *problem.previous):
        if a.asset not in known or a.end_s < a.start_s:
            raise SchedulingError(f"bad assignment {a}")
    by_asset = sorted(problem.fixed, key=lambda a: (a.asset, a.start_s))
    for x, y in itertools.pairwise(by_asset):
        if x.asset == y.asset and y.start_s < x.end_s:
            raise SchedulingError(f"fixed operations overlap on {x.asset!r}: {x} and {y}")


def _merged(spans: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Closed intervals sorted and merged, empty ones dropped."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
