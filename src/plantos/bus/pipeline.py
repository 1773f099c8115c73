"""Every supervised consumer of a platform's bus, started, watched and stopped together.

The pipeline is ready while it runs and each stage runs; once one stage gives up it is
failed for good, and :attr:`Pipeline.failure` says why. Stopping waits a bounded time
for the stages to take what is queued, then cancels what is left: a dead or stuck
consumer never holds up shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from plantos.bus.protocol import SubscriptionPort
from plantos.bus.supervision import Consume, RestartPolicy, Stage, StageState
from plantos.core.clock import Clock
from plantos.core.errors import PlantOSError

log = logging.getLogger(__name__)


class PipelineFailedError(PlantOSError):
    """A bus consumer failed too often; the process must stop (and be restarted)."""


class Pipeline:
    def __init__(self, *, clock: Clock, policy: RestartPolicy | None = None) -> None:
        self.clock = clock
        self.policy = policy or RestartPolicy()
        self.stages: dict[str, Stage] = {}
        self.failure: str | None = None
        """Why the pipeline gave up (a stage failed too often), ``None`` while it has not."""
        self.failed = asyncio.Event()
        self._running = False
        self._on_failure: list[Callable[[str], None]] = []

    def add(
        self,
        name: str,
        consume: Consume,
        *,
        subscription: SubscriptionPort | None,
        policy: RestartPolicy | None = None,
        detail: Callable[[], dict[str, Any]] | None = None,
    ) -> Stage:
        """Supervise ``consume`` as stage ``name``; started at once if the pipeline runs."""
        if name in self.stages:
            raise ValueError(f"a bus consumer named {name!r} is already supervised")
        stage = Stage(
            name,
            consume,
            subscription=subscription,
            clock=self.clock,
            on_give_up=self._give_up,
            policy=policy or self.policy,
            detail=detail,
        )
        self.stages[name] = stage
        if self._running:
            stage.start()
        return stage

    def on_failure(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(reason)`` once, when a stage gives up (a server stops on it)."""
        self._on_failure.append(callback)

    def _give_up(self, reason: str) -> None:
        if self.failure is not None:
            return
        self.failure = reason
        self.failed.set()
        log.critical("the data pipeline gives up: %s", reason)
        for callback in self._on_failure:
            callback(reason)

    def start(self) -> None:
        self._running = True
        for stage in self.stages.values():
            stage.start()

    async def join(self) -> None:
        """Wait until every stage has ended (its stream closed, or it gave up)."""
        await asyncio.gather(*self._tasks(), return_exceptions=True)

    async def stop(self, *, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the stages to end, then cancel those still running."""
        self._running = False
        tasks = self._tasks()
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            log.warning("bus consumer %s did not finish in %.1f s: cancelled", task, timeout_s)
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _tasks(self) -> list[asyncio.Task[None]]:
        return [s.task for s in self.stages.values() if s.task is not None]

    @property
    def ready(self) -> bool:
        """Running, and every stage consuming (none restarting, none given up)."""
        return (
            self._running
            and self.failure is None
            and all(s.state is StageState.RUNNING for s in self.stages.values())
        )

    def health(self) -> list[dict[str, Any]]:
        return [s.health() for s in self.stages.values()]
