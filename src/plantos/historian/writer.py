"""The writer stage between the bus and the historian: group commit, then acknowledge.

Batches from the bus are gathered until ``group_rows`` samples or ``max_delay_s``
have passed, then committed in one transaction off the event loop. Fewer,
larger commits are what lets DuckDB append several million points per second.

Durability window: a sample is durable once the commit holding it returns
(``acked_rows`` counts those). At most ``max_delay_s`` plus one commit's time of
samples that reached this stage can be lost by ``kill -9``, plus whatever the
bus still queues in front of it (bounded by its capacity).

Refusals: a commit that fails is retried with back-off (the batches stay in hand, so
back-pressure reaches the bus). The grouped batches are then tried one by one, so one
batch the historian refuses does not hold back the others. Whatever is still refused
after ``retry_for_s`` goes to the dead-letter store with its reason
(:mod:`plantos.historian.deadletter`) and the rest flows. The batches in hand live on the
writer, not in :meth:`HistorianWriter.run`: when the supervisor restarts a failed run, it
commits them first; a stop that cannot wait turns them into dead letters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from plantos.bus.ack import acknowledge
from plantos.bus.memory import Subscription
from plantos.core.backoff import backoff_delay
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.core.timeparse import iso
from plantos.historian.deadletter import DeadLetterStore
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
        dead_letters: DeadLetterStore | None = None,
        retry_for_s: float = 60.0,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 10.0,
        settle_timeout_s: float = 30.0,
    ) -> None:
        if not 0 < retry_initial_s <= retry_max_s:
            raise ValueError(
                f"need 0 < retry_initial_s <= retry_max_s, got {retry_initial_s}, {retry_max_s}"
            )
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
        self.dead_letters = dead_letters
        self.dead_lettered_batches = 0
        self.dead_lettered_rows = 0
        self.retry_for_s = retry_for_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.commit_s = 0.0
        self.max_commit_s = 0.0
        """The longest commit, retries included: while it runs the writer reads nothing."""
        self.refusing = False
        """True from a refused commit until the next one that succeeds."""
        self.last_refusal: str | None = None
        self.last_refusal_ns: int | None = None
        self._in_hand: list[SampleBatch] = []
        """Batches taken off the bus and not yet committed or dead-lettered."""
        self._in_flight: tuple[asyncio.Future[None], list[SampleBatch]] | None = None
        """The write running in its thread, and the batches it holds."""
        self.settle_timeout_s = settle_timeout_s
        self.maintain_every_data_ns = maintain_every_data_ns
        self._last_maintain = 0.0
        self._maintained_data_ns: int | None = None

    async def run(self) -> None:
        """Consume until the bus closes; every batch received is committed (or dead-lettered)
        before returning. Batches left in hand by a failed run are committed first. When
        cancelled (a stop that could not wait longer), the commit in flight is settled and
        what is still held or queued goes to the dead letters: nothing that reached the
        writer is dropped."""
        try:
            await self._consume()
        except asyncio.CancelledError:
            await self._settle_on_stop()
            raise

    async def _consume(self) -> None:
        if self._in_hand:
            await self._commit()
        while True:
            try:
                first = await self.subscription.get()
            except StopAsyncIteration:
                break
            pending = self._in_hand
            if isinstance(first, SampleBatch):
                pending.append(first)
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
                        # asyncio.timeout, not wait_for, which on Python 3.11 drops a
                        # cancellation that arrives as the message does
                        async with asyncio.timeout(remaining):
                            msg = await self.subscription.get()
                    except TimeoutError:
                        break
                    except StopAsyncIteration:
                        closed = True
                        break
                if isinstance(msg, SampleBatch):
                    pending.append(msg)
                    rows += len(msg)
            if pending:
                await self._commit()
            await self._maybe_maintain()
            if closed:
                break
        await asyncio.to_thread(self.historian.maintain, self.clock.now_ns())

    async def _commit(self) -> None:
        """Commit the batches in hand: together, else one by one, else as dead letters."""
        started = time.perf_counter()
        first_failure: float | None = None
        failures = 0
        while self._in_hand:
            error = await self._write(list(self._in_hand))
            if error is None:
                break
            failures += 1
            first_failure = first_failure or time.monotonic()
            if len(self._in_hand) > 1:
                for batch in list(self._in_hand):
                    await self._write([batch])
            overdue = time.monotonic() - first_failure >= self.retry_for_s
            if self._in_hand and overdue and self.dead_letters is not None:
                await self._dead_letter(error)
                break
            if self._in_hand:
                delay = backoff_delay(
                    failures, initial_s=self.retry_initial_s, max_s=self.retry_max_s
                )
                await asyncio.sleep(delay)
        took = time.perf_counter() - started
        self.commit_s += took
        self.max_commit_s = max(self.max_commit_s, took)

    async def _write(self, batches: list[SampleBatch]) -> str | None:
        """Write ``batches`` in one commit; the reason it was refused, or ``None`` once they
        are durable (then acknowledged and no longer in hand). The write runs in a thread
        that a cancellation cannot interrupt; :meth:`_settle_on_stop` learns its outcome."""
        write = asyncio.ensure_future(
            asyncio.to_thread(self.historian.write, SampleBatch.concat(batches))
        )
        self._in_flight = (write, batches)
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._in_flight = None
            self.failed_commits += 1
            self.refusing = True
            self.last_refusal = f"{type(exc).__name__}: {exc}"
            self.last_refusal_ns = self.clock.now_ns()
            rows = sum(len(b) for b in batches)
            log.warning(
                "historian refused %d samples (%s: %s); kept", rows, type(exc).__name__, exc
            )
            return f"{type(exc).__name__}: {exc}"
        self._in_flight = None
        self.refusing = False
        self._durable(batches)
        return None

    def _durable(self, batches: list[SampleBatch]) -> None:
        """Batches now durable in the historian: no longer in hand, counted, and reported
        to ``on_commit``."""
        done = {id(b) for b in batches}
        self._in_hand = [b for b in self._in_hand if id(b) not in done]
        acknowledge(batches)  # committed: their sources may now forget them
        rows = sum(len(b) for b in batches)
        self.commits += 1
        self.acked_rows += rows
        if self.on_commit is not None:
            self.on_commit(rows)

    async def _settle_on_stop(self) -> None:
        """Stopping without waiting for the commits: keep what was taken off the bus."""
        if self._in_flight is not None:
            write, batches = self._in_flight
            await asyncio.wait([write], timeout=self.settle_timeout_s)
            if write.done() and not write.cancelled() and write.exception() is None:
                self._durable(batches)
            self._in_flight = None
        while (msg := self.subscription.get_nowait()) is not None:
            if isinstance(msg, SampleBatch):
                self._in_hand.append(msg)
        await self._dead_letter("the platform stopped before these samples were committed")

    async def _dead_letter(self, reason: str) -> None:
        """Store what the historian keeps refusing with ``reason``, then let go of it. Without
        a store the batches stay in hand (and :meth:`_commit` retries them for as long as it
        takes): nothing is ever dropped."""
        if self.dead_letters is None:
            return
        store = self.dead_letters
        while self._in_hand:
            batch = self._in_hand[0]
            await asyncio.to_thread(
                store.add, batch, reason=reason, stage="historian", at_ns=self.clock.now_ns()
            )
            self._in_hand.pop(0)
            acknowledge([batch])  # kept durably as a dead letter: its source may forget it
            self.dead_lettered_batches += 1
            self.dead_lettered_rows += len(batch)
            log.error("dead letter: %d samples not committed: %s", len(batch), reason)

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

    def health(self) -> dict[str, Any]:
        """Whether the historian takes the commits now, and what it last refused."""
        at = self.last_refusal_ns
        return {
            "refusing": self.refusing,
            "in_hand_rows": sum(len(b) for b in self._in_hand),
            "failed_commits": self.failed_commits,
            "last_refusal": self.last_refusal,
            "last_refusal_at": iso(at) if at is not None else None,
            "dead_lettered_rows": self.dead_lettered_rows,
        }

    def metrics(self) -> dict[str, Any]:
        return {
            "acked_rows": self.acked_rows,
            "commits": self.commits,
            "failed_commits": self.failed_commits,
            "refusing": self.refusing,
            "in_hand_rows": sum(len(b) for b in self._in_hand),
            "dead_lettered_batches": self.dead_lettered_batches,
            "dead_lettered_rows": self.dead_lettered_rows,
            "commit_seconds": round(self.commit_s, 3),
            "max_commit_seconds": round(self.max_commit_s, 3),
            "group_rows": self.group_rows,
            "max_delay_s": self.max_delay_s,
        }
