"""Moves spooled batches upstream, oldest first, and forgets them only once delivered.

The forwarder owns the upstream link: it connects (backing off while upstream is
unreachable) and sends each spooled batch with its spool sequence number as the stream
sequence. When upstream acknowledges commits (the core says what its historian has
committed), a batch leaves the spool only once that acknowledgement covers it; at most
``max_in_flight`` batches wait for it, so a slow core makes the gateway hold data in its
spool (back-pressure) rather than anyone drop it. Otherwise a batch leaves the spool
once upstream confirmed it (the broker's acknowledgement at QoS 1).

Any failure closes the link and starts over from the oldest batch still in the spool,
and so does every new upstream epoch (a birth: the core restarted or asked for one) so
what the core received and lost before committing comes again; nothing is lost. A batch
the core already had is sent again with the same sequence number, which the receiving
host recognises and drops.

Batches stored while upstream was away (unreachable, or its primary host offline) are
sent flagged as historical: they are not the current value of their tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from plantos.core.backoff import backoff_delay
from plantos.core.batch import SampleBatch
from plantos.edge.gateway.spool import Spool, SpooledBatch

log = logging.getLogger(__name__)


class Upstream(Protocol):
    """Where a gateway delivers: the Sparkplug B edge node, or any link with these calls."""

    @property
    def connected(self) -> bool:
        """The link is up; False once it broke, so the forwarder opens a new one."""
        ...

    @property
    def online(self) -> bool:
        """Connected and ready for data (for Sparkplug: born, and the primary host online)."""
        ...

    @property
    def acknowledges_commits(self) -> bool:
        """True: batches are freed by :attr:`committed_seq`, not by :meth:`publish` returning."""
        ...

    @property
    def committed_seq(self) -> int | None:
        """The newest ``stream_seq`` the core committed, with every one sent before it."""
        ...

    @property
    def epoch(self) -> int:
        """Changes when the receiver may have lost what it had not committed yet."""
        ...

    on_commit: Callable[[], None] | None
    """Set by the forwarder: called when :attr:`committed_seq` moves."""

    async def connect(self) -> None: ...

    async def publish(
        self, batch: SampleBatch, *, historical: bool = False, stream_seq: int | None = None
    ) -> int:
        """Deliver one batch; return only once upstream has it, raise ConnectionError if not."""
        ...

    async def close(self) -> None: ...

    def metrics(self) -> dict[str, Any]: ...


class Forwarder:
    def __init__(
        self,
        spool: Spool,
        upstream: Upstream,
        *,
        read_limit: int = 64,
        max_in_flight: int = 256,
        idle_check_s: float = 0.5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 15.0,
    ) -> None:
        self.spool = spool
        self.upstream = upstream
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.read_limit = read_limit
        self.max_in_flight = max_in_flight
        self.idle_check_s = idle_check_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.wakeup = asyncio.Event()
        """Set by whoever appends to the spool, so live data leaves without polling delay."""
        self.connected = False
        self.sessions = 0
        self.errors = 0
        self.last_error: str | None = None
        self.live_samples = 0
        self.historical_samples = 0
        self.last_sent_seq: int | None = None
        self.backlog_drained_s: float | None = None
        """How long the last backlog took to send after upstream came back."""
        self.resends = 0
        """Times the forwarder went back to the oldest batch not yet committed."""
        self._backlog_end = 0
        self._backlog_started: float | None = None
        self._in_flight: deque[int] = deque()
        self._highest_sent = 0
        self._freed = 0
        upstream.on_commit = self.wakeup.set

    async def run(self) -> None:
        """Forward until cancelled; never raises an upstream error."""
        failures = 0
        while True:
            try:
                await self.upstream.connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._failed("connect", exc)
                await asyncio.sleep(self._delay(failures))
                continue
            self.connected = True
            self.sessions += 1
            failures = 0
            try:
                await self._forward()
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await self.upstream.close()
                raise
            except Exception as exc:
                failures += 1
                self.connected = False
                self._failed("send", exc)
                with contextlib.suppress(Exception):
                    await self.upstream.close()
                await asyncio.sleep(self._delay(failures))

    async def _forward(self) -> None:
        was_online = False
        commits = self.upstream.acknowledges_commits
        epoch: int | None = None
        self._in_flight.clear()
        while True:
            if not self.upstream.connected:
                raise ConnectionError("the upstream link broke")
            if not self.upstream.online:
                was_online = False
                await self._idle()
                continue
            if not was_online:  # everything stored until now waited for upstream
                was_online = True
                self._backlog_end = await asyncio.to_thread(self.spool.last_seq)
                self._backlog_started = time.monotonic()
            limit = self.read_limit
            if commits:
                if self.upstream.epoch != epoch:  # send again what is not committed
                    epoch = self.upstream.epoch
                    if self._in_flight:
                        self.resends += 1
                    self._in_flight.clear()
                await self._free_committed()
                limit = min(limit, self.max_in_flight - len(self._in_flight))
            after = self._in_flight[-1] if self._in_flight else 0
            pending = await asyncio.to_thread(self.spool.read, after=after, limit=limit)
            if not pending:
                if limit > 0:
                    self._backlog_done()
                await self._idle()
                continue
            for item in pending:
                await self._send(item)
            if not commits:
                await asyncio.to_thread(self.spool.ack, pending[-1].seq)

    async def _send(self, item: SpooledBatch) -> None:
        # A batch sent before (a resend) is no longer the current value either.
        historical = item.seq <= self._backlog_end or item.seq <= self._highest_sent
        sent = await self.upstream.publish(item.batch, historical=historical, stream_seq=item.seq)
        if historical:
            self.historical_samples += sent
        else:
            self._backlog_done()
            self.live_samples += sent
        self.last_sent_seq = item.seq
        self._highest_sent = max(self._highest_sent, item.seq)
        if self.upstream.acknowledges_commits:
            self._in_flight.append(item.seq)

    async def _free_committed(self) -> None:
        """Forget what the core committed: from the spool and from the batches in flight."""
        committed = self.upstream.committed_seq
        if committed is None or committed <= self._freed:
            return
        while self._in_flight and self._in_flight[0] <= committed:
            self._in_flight.popleft()
        self._freed = committed
        await asyncio.to_thread(self.spool.ack, committed)

    def _backlog_done(self) -> None:
        if self._backlog_started is not None:
            self.backlog_drained_s = time.monotonic() - self._backlog_started
            self._backlog_started = None

    async def _idle(self) -> None:
        """Wait for a wake-up or ``idle_check_s``. Not ``asyncio.wait_for``: on Python 3.11
        it drops a cancellation that arrives as the wake-up completes, and the gateway
        then ignored Ctrl-C; ``asyncio.timeout`` lets the cancellation through."""
        self.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.idle_check_s):
                await self.wakeup.wait()

    def _delay(self, failures: int) -> float:
        return backoff_delay(failures, initial_s=self.backoff_initial_s, max_s=self.backoff_max_s)

    def _failed(self, stage: str, exc: Exception) -> None:
        self.errors += 1
        self.last_error = f"{stage}: {type(exc).__name__}: {exc}"
        log.warning("upstream: %s", self.last_error)

    def metrics(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "online": self.upstream.online,
            "sessions": self.sessions,
            "errors": self.errors,
            "last_error": self.last_error,
            "live_samples": self.live_samples,
            "historical_samples": self.historical_samples,
            "last_sent_seq": self.last_sent_seq,
            "backlog_drained_s": self.backlog_drained_s,
            "in_flight_batches": len(self._in_flight),
            "resends": self.resends,
            **self.upstream.metrics(),
        }
