"""Supervision done once for every bus consumer: the historian writer, the live state,
analytics and whatever later capabilities subscribe.

A consumer is a coroutine function that reads its subscription until the stream ends.
When it raises, the stage logs the error with its context, counts it, waits (capped,
exponential back-off with jitter) and runs the consumer again; what the consumer keeps
between runs (the historian writer keeps the batches it holds) carries over. A stage
that fails ``max_failures`` times in a row (a run lasting ``stable_after_s`` resets the
count) gives up and calls ``on_give_up``: the platform then stops and exits non-zero so a
service manager restarts it. Never a silent stall: state, restarts, last error and the
queue's lag are in :meth:`Stage.health`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from plantos.bus.protocol import Message, SubscriptionPort
from plantos.core.backoff import backoff_delay
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.core.timeparse import iso

log = logging.getLogger(__name__)

Consume = Callable[[], Awaitable[None]]
Handler = Callable[[Message], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class StageState(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How a failing consumer is restarted, and when the process gives up on it."""

    backoff_initial_s: float = 0.1
    backoff_max_s: float = 5.0
    max_failures: int = 5
    stable_after_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError(
                "need 0 < backoff_initial_s <= backoff_max_s, "
                f"got {self.backoff_initial_s} and {self.backoff_max_s}"
            )
        if self.max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, got {self.max_failures}")


def describe(message: Message) -> str:
    """A message in a few words, for the log line of a consumer that failed on it."""
    if isinstance(message, SampleBatch):
        if not len(message):
            return "an empty sample batch"
        return (
            f"a batch of {len(message)} samples from {iso(int(message.ts.min()))} "
            f"to {iso(int(message.ts.max()))}"
        )
    return f"event {message.kind} about {message.subject!r}"


def each_message(subscription: SubscriptionPort, handler: Handler) -> Consume:
    """A consumer calling ``handler`` for every message, in order. A message the handler
    fails on is not handed to it again: the error (with what the message was) goes to the
    stage, which restarts the consumer with the next message."""

    async def consume() -> None:
        async for message in subscription:
            try:
                await handler(message)
            except Exception as exc:
                exc.add_note(f"while handling {describe(message)}")
                raise

    return consume


class Stage:
    """One supervised consumer of one subscription."""

    def __init__(
        self,
        name: str,
        consume: Consume,
        *,
        subscription: SubscriptionPort | None,
        clock: Clock,
        on_give_up: Callable[[str], None],
        policy: RestartPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        detail: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.detail = detail
        """What the consumer itself says of its health (the historian writer: refusals)."""
        self.consume = consume
        self.subscription = subscription
        self.clock = clock
        self.on_give_up = on_give_up
        self.policy = policy or RestartPolicy()
        self._sleep = sleep
        self.state = StageState.STARTING
        self.failures = 0
        self.restarts = 0
        self.last_error: str | None = None
        self.last_error_ns: int | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.run(), name=f"stage-{self.name}")
        return self.task

    async def run(self) -> None:
        """Run the consumer until its stream ends, restarting it after each failure. A
        consumer that returns while its stream goes on has failed too: its queue would
        fill and stop every publisher."""
        in_a_row = 0
        while True:
            self.state = StageState.RUNNING
            started = time.monotonic()
            try:
                await self.consume()
                if self.subscription is not None and not self.subscription.closed:
                    raise RuntimeError("the consumer returned while its stream goes on")
            except asyncio.CancelledError:
                self.state = StageState.STOPPED
                raise
            except Exception as exc:
                if time.monotonic() - started >= self.policy.stable_after_s:
                    in_a_row = 0
                in_a_row += 1
                self._failed(exc, in_a_row)
                if in_a_row >= self.policy.max_failures:
                    self.state = StageState.FAILED
                    self.on_give_up(
                        f"stage {self.name} failed {in_a_row} times in a row; "
                        f"last: {self.last_error}"
                    )
                    return
                await self._back_off(in_a_row)
                self.restarts += 1
                continue
            self.state = StageState.STOPPED
            return

    async def _back_off(self, in_a_row: int) -> None:
        self.state = StageState.RESTARTING
        p = self.policy
        try:
            await self._sleep(
                backoff_delay(in_a_row, initial_s=p.backoff_initial_s, max_s=p.backoff_max_s)
            )
        except asyncio.CancelledError:
            self.state = StageState.STOPPED
            raise

    def _failed(self, exc: Exception, in_a_row: int) -> None:
        self.failures += 1
        notes = "; ".join(getattr(exc, "__notes__", ()))
        self.last_error = f"{type(exc).__name__}: {exc}" + (f" ({notes})" if notes else "")
        self.last_error_ns = self.clock.now_ns()
        log.error(
            "bus consumer %s failed (%d in a row, %d in all): %s",
            self.name,
            in_a_row,
            self.failures,
            self.last_error,
            exc_info=exc,
        )

    def health(self) -> dict[str, Any]:
        """State, restarts, last error and lag (queue depth and the oldest message's age)."""
        sub = self.subscription
        return {
            "stage": self.name,
            "topic": sub.topic if sub else None,
            "state": self.state.value,
            "restarts": self.restarts,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_ns) if self.last_error_ns is not None else None,
            "lag": {
                "depth": sub.depth if sub else 0,
                "capacity": sub.capacity if sub else 0,
                "oldest_age_s": round(sub.oldest_age_s(), 3) if sub else 0.0,
                "dropped_samples": sub.dropped_samples if sub else 0,
            },
        } | ({"detail": self.detail()} if self.detail else {})
