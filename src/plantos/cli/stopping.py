"""How the long-running commands (``serve``, ``demo``, ``edge``) stop: SIGINT (Ctrl-C) and
SIGTERM (a service manager, ``docker stop``) both ask for a clean stop, after which the
command exits 0; a second signal forces the stop without waiting.

A process ended *by* the signal (exit -2 or -15, as uvicorn's own handling leaves it: it
re-sends the captured signal once it has shut down) tells a service manager or a script
that the stop failed, so the signal is taken as a request and never re-raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from plantos.cli.common import console

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
FORCED_EXIT_CODE = 1
"""The exit code after a forced stop: what a clean stop does (flush, close) was skipped."""


@dataclass
class StopRequests:
    """The stop signals received: the first calls ``on_stop``, every later one ``on_force``.

    Called from a signal handler, so both callbacks only set flags or schedule work."""

    on_stop: Callable[[], None]
    on_force: Callable[[], None]
    received: list[int] = field(default_factory=list)

    @property
    def forced(self) -> bool:
        return len(self.received) > 1

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        (self.on_force if self.forced else self.on_stop)()


@contextlib.contextmanager
def stop_signals(requests: StopRequests) -> Iterator[StopRequests]:
    """SIGINT and SIGTERM go to ``requests`` while inside; the previous handlers are back on
    the way out. Outside the main thread nothing is installed (Python delivers signals to
    the main thread only), as when a test runs a server in a thread."""
    if threading.current_thread() is not threading.main_thread():
        yield requests
        return
    previous = {signum: signal.signal(signum, requests.handle) for signum in STOP_SIGNALS}
    try:
        yield requests
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_until_stopped(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on a new event loop until it returns or a stop signal cancels it (its
    ``finally`` blocks then close what it opened); a second signal exits at once with
    :data:`FORCED_EXIT_CODE`."""
    asyncio.run(_cancelled_on_stop(main))


async def _cancelled_on_stop(main: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()

    def cancel() -> None:
        loop.call_soon_threadsafe(task.cancel)

    requests = StopRequests(on_stop=cancel, on_force=exit_now)
    with stop_signals(requests):
        try:
            await task
        except asyncio.CancelledError:
            if not requests.received:
                raise


def exit_now() -> None:
    """A forced stop: leave without closing anything (what is durable survives a kill)."""
    console.print("[red]forced stop[/red]: exiting without a clean shutdown", highlight=False)
    os._exit(FORCED_EXIT_CODE)
