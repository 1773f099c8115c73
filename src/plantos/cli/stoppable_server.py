"""The web server of ``plantos serve`` and the live demo: uvicorn's, stopped by signals as
:mod:`plantos.cli.stopping` says. Its own module because subclassing uvicorn's server
imports uvicorn, which the other commands (and ``--help``) need not load."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator

import uvicorn
from sse_starlette.sse import AppStatus

from plantos.cli.stopping import StopRequests, stop_signals


class StoppableServer(uvicorn.Server):
    """uvicorn's server taking SIGINT and SIGTERM as :mod:`plantos.cli.stopping` does: the
    first stops it cleanly (connections closed, then the lifespan's shutdown stops the
    platform), a second one skips the waiting; the signal is not re-raised afterwards."""

    def __init__(
        self, config: uvicorn.Config, *, on_listening: Callable[[], None] = lambda: None
    ) -> None:
        super().__init__(config)
        self.stops = StopRequests(on_stop=self.stop, on_force=self.force)
        self.on_listening = on_listening
        """Called once the platform has started and the socket accepts connections: what
        tells a person to sign in must not come before the page can answer."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_listening()

    def stop(self) -> None:
        self.should_exit = True
        # Open event streams (the live values, work orders) end only when told; uvicorn
        # waits for every connection to close before the platform stops.
        AppStatus.should_exit = True

    def force(self) -> None:
        self.force_exit = True

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with stop_signals(self.stops):
            yield
