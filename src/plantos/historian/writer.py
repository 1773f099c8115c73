"""The writer stage between the bus and the historian: group commit, then acknowledge.

Batches from the bus are gathered until ``group_rows`` samples or ``max_delay_s``
have passed, then committed in one transaction off the event loop. Fewer,
larger commits are what lets DuckDB append several million points per second.

Durability window: a sample is durable once the commit holding it returns
(``acked_rows`` counts those). At most ``max_delay_s`` plus one commit's time of
samples that reached this stage can be lost by ``kill -9``, plus whatever the
bus still queues in front of it (bounded by its capacity).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from plantos.bus.ack import acknowledge
from plantos.bus.memory import Subscription
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.historian.protocol import Historian

log = logging.getLogger(__name__)


class HistorianWriter:
    def __init__(
        self,
        historian: Historian,
        subscription: Subscription,
        *,
        clock: Clock,
        group_rows: int = 200_000,
        max_delay_s: float = 0.25,
        maintain_every_s: float = 1.0,
        maintain_every_data_ns: int = 300 * 1_000_000_000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.historian = historian
        self.subscription = subscription
        self.clock = clock
        self.group_rows = group_rows
        self.max_delay_s = max_delay_s
        self.maintain_every_s = maintain_every_s
        self.on_commit = on_commit
        self.acked_rows = 0
        self.commits = 0
        self.failed_commits = 0
        self.commit_s = 0.0
        self.maintain_every_data_ns = maintain_every_data_ns
        self._last_maintain = 0.0
        self._maintained_data_ns: int | None = None

    async def run(self) -> None:
        """Consume until the bus closes; every batch received is committed before returning."""
        while True:
            try:
                first = await self.subscription.get()
            except StopAsyncIteration:
                break
            pending = [first] if isinstance(first, SampleBatch) else []
            rows = len(first) if isinstance(first, SampleBatch) else 0
            deadline = time.monotonic() + self.max_delay_s
            closed = False
            while rows < self.group_rows:
                remaining = deadline - time.monotonic()
                msg = self.subscription.get_nowait()
                if msg is None:
                    if remaining <= 0:
                        break
                    try:
                        msg = await asyncio.wait_for(self.subscription.get(), remaining)
                    except TimeoutError:
                        break
                    except StopAsyncIteration:
                        closed = True
                        break
                if isinstance(msg, SampleBatch):
                    pending.append(msg)
                    rows += len(msg)
            if pending:
                await self._commit(SampleBatch.concat(pending))
                acknowledge(pending)  # committed: their sources may now forget them
            await self._maybe_maintain()
            if closed:
                break
        await asyncio.to_thread(self.historian.maintain, self.clock.now_ns())

    async def _commit(self, batch: SampleBatch) -> None:
        started = time.perf_counter()
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.historian.write, batch)
                break
            except Exception:
                # The batch stays in hand and is retried: back-pressure reaches the bus.
                self.failed_commits += 1
                log.exception("historian write of %d samples failed; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.commit_s += time.perf_counter() - started
        self.commits += 1
        self.acked_rows += len(batch)
        if self.on_commit is not None:
            self.on_commit(len(batch))

    async def _maybe_maintain(self) -> None:
        """Roll up about every second of wall time, and also every few minutes of data time,
        so a replay or a faster-than-real-time run keeps its rollups (and the samples the
        historian holds in memory for the open buckets) as small as a live run does."""
        now = time.monotonic()
        newest = self.historian.newest_ts
        data_due = (
            newest is not None
            and self._maintained_data_ns is not None
            and newest - self._maintained_data_ns >= self.maintain_every_data_ns
        )
        if now - self._last_maintain >= self.maintain_every_s or data_due:
            self._last_maintain = now
            self._maintained_data_ns = newest
            await asyncio.to_thread(self.historian.maintain, self.clock.now_ns())

    def metrics(self) -> dict[str, Any]:
        return {
            "acked_rows": self.acked_rows,
            "commits": self.commits,
            "failed_commits": self.failed_commits,
            "commit_seconds": round(self.commit_s, 3),
            "group_rows": self.group_rows,
            "max_delay_s": self.max_delay_s,
        }
