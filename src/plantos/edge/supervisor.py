"""Supervision done once for every connector: connect, collect on schedule, and on any
failure mark the connector's tags bad, back off (capped, exponential, with jitter) and
reconnect. A connector only says how to connect, collect and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from plantos.core import quality
from plantos.core.backoff import backoff_delay
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.edge.connector import Connector

log = logging.getLogger(__name__)

Sink = Callable[[SampleBatch], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class Supervisor:
    """Keeps one connector running and says how it is doing (:meth:`metrics`)."""

    def __init__(
        self,
        connector: Connector,
        sink: Sink,
        *,
        clock: Clock | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise ValueError(
                "need 0 < backoff_initial_s <= backoff_max_s, "
                f"got {backoff_initial_s} and {backoff_max_s}"
            )
        self.connector = connector
        self.sink = sink
        self.clock = clock or WallClock()
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.connected = False
        self.connects = 0
        self.errors = 0
        self.last_error: str | None = None
        self.samples = 0
        self.last_good_sample_ns: int | None = None
        self.sink_wait_s = 0.0
        """Seconds spent handing batches on: back-pressure from the bus shows here."""
        self.max_sink_wait_s = 0.0
        self.max_collect_s = 0.0
        """The longest single collect: a slow device or link shows here."""
        self._rate_window: list[tuple[float, int]] = []

    @property
    def reconnects(self) -> int:
        return max(self.connects - 1, 0)

    def next_delay(self, failures: int) -> float:
        return backoff_delay(
            failures, initial_s=self.backoff_initial_s, max_s=self.backoff_max_s, rng=self._rng
        )

    async def run(self) -> None:
        """Run until cancelled; never returns on its own and never raises a device error."""
        failures = 0
        while True:
            try:
                await self.connector.connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._failed("connect", exc)
                await self._sleep(self.next_delay(failures))
                continue
            self.connected = True
            self.connects += 1
            failures = 0
            try:
                await self._collect_forever()
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await self.connector.close()
                raise
            except Exception as exc:
                failures += 1
                self.connected = False
                self._failed("collect", exc)
                await self._mark_tags_bad()
                with contextlib.suppress(Exception):
                    await self.connector.close()
                await self._sleep(self.next_delay(failures))

    async def _collect_forever(self) -> None:
        while True:
            started = time.monotonic()
            batch = await self.connector.collect()
            collected = time.monotonic()
            self.max_collect_s = max(self.max_collect_s, collected - started)
            if len(batch):
                await self.sink(batch)
                waited = time.monotonic() - collected
                self.sink_wait_s += waited
                self.max_sink_wait_s = max(self.max_sink_wait_s, waited)
                self._count(batch)
            elapsed = time.monotonic() - started
            await self._sleep(max(self.connector.interval_s - elapsed, 0.0))

    def _count(self, batch: SampleBatch) -> None:
        self.samples += len(batch)
        good = batch.ts[~quality.is_bad(batch.quality)]
        if len(good):
            newest = int(good.max())
            if self.last_good_sample_ns is None or newest > self.last_good_sample_ns:
                self.last_good_sample_ns = newest
        now = time.monotonic()
        self._rate_window = [(t, n) for t, n in self._rate_window if now - t < 10.0]
        self._rate_window.append((now, len(batch)))

    async def _mark_tags_bad(self) -> None:
        """The link is gone: say so in every tag's quality rather than keep stale values."""
        ids = np.asarray(self.connector.tag_ids, dtype=np.int32)
        if not len(ids):
            return
        now = self.clock.now_ns()
        batch = SampleBatch.of(
            ids,
            np.full(len(ids), now),
            np.full(len(ids), math.nan),
            np.full(len(ids), quality.BAD_COMMUNICATION_ERROR),
        )
        with contextlib.suppress(Exception):
            await self.sink(batch)

    def _failed(self, stage: str, exc: Exception) -> None:
        self.errors += 1
        self.last_error = f"{stage}: {type(exc).__name__}: {exc}"
        log.warning("connector %s: %s", self.connector.name, self.last_error)

    def samples_per_s(self) -> float:
        if not self._rate_window:
            return 0.0
        span = max(time.monotonic() - self._rate_window[0][0], 1.0)
        return sum(n for _, n in self._rate_window) / span

    def metrics(self) -> dict[str, Any]:
        return {
            "connector": self.connector.name,
            "connected": self.connected,
            "last_good_sample_ns": self.last_good_sample_ns,
            "samples": self.samples,
            "samples_per_s": round(self.samples_per_s(), 1),
            "errors": self.errors,
            "last_error": self.last_error,
            "reconnects": self.reconnects,
            "sink_wait_s": round(self.sink_wait_s, 3),
            "max_sink_wait_s": round(self.max_sink_wait_s, 3),
            "max_collect_s": round(self.max_collect_s, 3),
            **self.connector.metrics(),
        }
