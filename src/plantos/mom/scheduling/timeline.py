"""One asset's plan under construction: where an operation fits first, setups included.

Used by the dispatching heuristic. An operation goes into the earliest gap between
already placed operations (or after the last) where its setup, which depends on the
operation before it, and its run fit outside closed time, without changing the setup
of the operation after it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from plantos.mom.scheduling.instance import Instance, Key, OpInfo


@dataclass(frozen=True)
class Slot:
    start_s: int
    end_s: int
    key: Key | None  # None for a busy block that is no operation of the plan
    setup_s: int


@dataclass
class Timeline:
    asset: str
    instance: Instance
    closed: list[tuple[int, int]]
    slots: list[Slot] = field(default_factory=list)

    def add(self, slot: Slot) -> None:
        bisect.insort(self.slots, slot, key=lambda s: (s.start_s, s.end_s))

    def first_fit(self, info: OpInfo, earliest_s: int) -> Slot | None:
        """The earliest slot for ``info`` starting at or after ``earliest_s``, or None when
        the operation cannot run on this asset."""
        option = info.option(self.asset)
        if option is None:
            return None
        for i in range(len(self.slots) + 1):
            before = self.slots[i - 1] if i else None
            after = self.slots[i] if i < len(self.slots) else None
            if after is not None and after.end_s <= earliest_s:
                continue
            lo = max(earliest_s, before.end_s) if before else earliest_s
            fam = self.instance.family(before.key) if before else None
            setup = self.instance.setup_s(self.asset, fam, info, option.setup_s)
            start = open_start(self.closed, lo, setup + option.run_s)
            slot = Slot(start, start + setup + option.run_s, info.key, setup)
            if after is None:
                return slot
            if slot.end_s <= after.start_s and self._keeps_setup(info, after):
                return slot
        return None

    def _keeps_setup(self, info: OpInfo, after: Slot) -> bool:
        """Whether ``after`` still needs the setup it was placed with behind ``info``."""
        nxt = self.instance.ops.get(after.key) if after.key else None
        if nxt is None or after.key in self.instance.pinned:
            return True
        option = nxt.option(self.asset)
        default = option.setup_s if option else 0
        return self.instance.setup_s(self.asset, info.op.family, nxt, default) == after.setup_s


def open_start(closed: list[tuple[int, int]], earliest_s: int, duration_s: int) -> int:
    """The earliest start at or after ``earliest_s`` of ``duration_s`` of open time;
    ``closed`` is sorted and merged."""
    start = earliest_s
    i = bisect.bisect_right(closed, (start, start))
    if i and closed[i - 1][1] > start:
        start = closed[i - 1][1]
    while i < len(closed):
        lo, hi = closed[i]
        if start + duration_s <= lo:
            return start
        start = max(start, hi)
        i += 1
    return start
