"""Moves spooled batches upstream, oldest first, and forgets them only once delivered.

The forwarder owns the upstream link: it connects (backing off while upstream is
unreachable), sends each spooled batch with its spool sequence number as the stream
sequence, and acknowledges it in the spool after upstream confirmed it. Any failure
closes the link and starts over from the oldest unacknowledged batch, so nothing is
lost; a batch that reached upstream just before the link broke is sent again with the
same sequence number, which the receiving host recognises and drops.

Batches stored while upstream was away (unreachable, or its primary host offline) are
sent flagged as historical: they are not the current value of their tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from plantos.core.batch import SampleBatch
from plantos.edge.backoff import backoff_delay
from plantos.edge.gateway.spool import Spool

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
        idle_check_s: float = 0.5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 15.0,
    ) -> None:
        self.spool = spool
        self.upstream = upstream
        self.read_limit = read_limit
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
        self._backlog_end = 0
        self._backlog_started: float | None = None

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
            pending = await asyncio.to_thread(self.spool.read, limit=self.read_limit)
            if not pending:
                self._backlog_done()
                await self._idle()
                continue
            for item in pending:
                historical = item.seq <= self._backlog_end
                sent = await self.upstream.publish(
                    item.batch, historical=historical, stream_seq=item.seq
                )
                if historical:
                    self.historical_samples += sent
                else:
                    self._backlog_done()
                    self.live_samples += sent
                self.last_sent_seq = item.seq
            await asyncio.to_thread(self.spool.ack, pending[-1].seq)

    def _backlog_done(self) -> None:
        if self._backlog_started is not None:
            self.backlog_drained_s = time.monotonic() - self._backlog_started
            self._backlog_started = None

    async def _idle(self) -> None:
        self.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.wait(), self.idle_check_s)

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
            **self.upstream.metrics(),
        }
