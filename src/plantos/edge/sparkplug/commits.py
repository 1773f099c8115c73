"""What the Sparkplug host hands over, and how it learns what the historian committed.

:class:`Handover` sits between the thread that handles messages and
:meth:`SparkplugHost.collect`: samples, and for every numbered stream (a PlantOS edge
gateway's ``PlantOS/Stream Seq``) the highest number whose samples are among them, taken
together so a batch never claims a message whose samples it does not hold.

:class:`CommitTracker` gives each collected batch a ticket (its acknowledgement, see
:mod:`plantos.bus.ack`). Tickets may be acknowledged in any order; a node's committed
number only moves once every earlier ticket is acknowledged too, so it always means
"everything up to here is in the historian". Each move is published (retained) for the
gateway, which then frees its spool up to that point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from plantos.bus.ack import Ack
from plantos.core.batch import Exact, SampleBatch
from plantos.edge.inbox import SampleInbox

ScopeKey: TypeAlias = tuple[str, str, str | None]
"""(group id, edge node id, device id or None)."""
NodeKey: TypeAlias = tuple[str, str]
Marks: TypeAlias = dict[ScopeKey, int]
Publish: TypeAlias = Callable[[NodeKey, dict[str | None, int]], None]


class Handover:
    """A bounded :class:`SampleInbox` plus the stream numbers its samples complete."""

    def __init__(self, max_samples: int) -> None:
        self.inbox = SampleInbox(max_samples)
        self._lock = threading.Lock()
        self._marks: Marks = {}

    def room(self) -> int:
        """Samples that still fit."""
        return self.inbox.max_samples - self.inbox.waiting

    def put(
        self,
        tag_id: npt.NDArray[np.integer],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        code: npt.NDArray[np.uint32],
        exact: Exact | None = None,
        *,
        marks: Marks | None = None,
    ) -> int:
        """Queue samples (those that fit) and record ``marks`` with them."""
        with self._lock:
            n = self.inbox.put(tag_id, ts, value, code, exact)
            for key, seq in (marks or {}).items():
                if seq > self._marks.get(key, -1):
                    self._marks[key] = seq
        return n

    def take(self) -> tuple[SampleBatch, Marks]:
        with self._lock:
            batch = self.inbox.take()
            marks, self._marks = self._marks, {}
        return batch, marks


class CommitTracker:
    """Committed stream numbers per scope, moved in ticket order (see the module doc)."""

    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._lock = threading.Lock()
        self._next = 0
        self._front = 0
        self._open: dict[int, Marks] = {}
        self._done: set[int] = set()
        self.committed: Marks = {}
        self.tickets = 0
        self.acknowledged = 0

    def ticket(self, marks: Marks) -> Ack:
        """The acknowledgement of a batch completing ``marks``; calling it twice is harmless."""
        with self._lock:
            number = self._next
            self._next += 1
            self._open[number] = dict(marks)
            self.tickets += 1
        return lambda: self._complete(number)

    def seed(self, node: NodeKey, committed: dict[str | None, int]) -> None:
        """What an earlier run of the core acknowledged (the retained message)."""
        with self._lock:
            for device, n in committed.items():
                key = (node[0], node[1], device)
                if n > self.committed.get(key, -1):
                    self.committed[key] = n

    def pending(self) -> int:
        """Collected batches not yet acknowledged."""
        with self._lock:
            return len(self._open) - len(self._done)

    def nodes(self) -> list[NodeKey]:
        with self._lock:
            return sorted({(g, e) for g, e, _d in self.committed})

    def of_node(self, node: NodeKey) -> dict[str | None, int]:
        with self._lock:
            return {d: n for (g, e, d), n in self.committed.items() if (g, e) == node}

    def _complete(self, number: int) -> None:
        moved: set[NodeKey] = set()
        with self._lock:
            if number not in self._open or number in self._done:
                return
            self._done.add(number)
            self.acknowledged += 1
            while self._front in self._done:
                self._done.discard(self._front)
                for key, n in self._open.pop(self._front).items():
                    if n > self.committed.get(key, -1):
                        self.committed[key] = n
                        moved.add((key[0], key[1]))
                self._front += 1
        for node in sorted(moved):
            self._publish(node, self.of_node(node))
