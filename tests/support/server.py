"""A real PlantOS server for tests: uvicorn on a free port in a background thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from plantos.app import Platform, Settings, create_app
from tests.support.ports import free_port

T = TypeVar("T")

MIXER_PLANT_HEAD = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
calendars:
  always:
    timezone: UTC
    shifts:
      - {name: all-day, start: "00:00", end: "00:00", days: [mon, tue, wed, thu, fri, sat, sun]}
asset_types:
  mixer:
    tags:
      - {signal: temperature, unit: degC, range: [0, 120]}
      - {signal: state, type: enum, states: {0: "off", 1: idle, 2: running, 3: down}}
      - {signal: batches, type: int, unit: count}
"""
"""The enterprise, an always-on calendar and the mixer type: test plants add their sites."""

SMALL_PLANT = (
    MIXER_PLANT_HEAD
    + """\
sites:
  - id: site-1
    name: Site One
    calendar: always
    areas:
      - id: mixing
        lines:
          - id: line-1
            assets:
              - {id: mixer-1, type: mixer}
              - {id: mixer-2, type: mixer}
"""
)

MIXER_OEE_PLANT = (
    SMALL_PLANT
    + """\
analytics:
  oee:
    asset_types:
      mixer: {from_enum: state, ideal_cycle_time: 10m, counters: {total: batches},
              stale_after: 5m}
"""
)
"""The small plant with OEE for its mixers: the state enum, a batch counter, 10 min a batch."""


@dataclass
class RunningServer:
    url: str
    platform: Platform
    admin_token: str
    loop: asyncio.AbstractEventLoop

    def client(self) -> httpx.Client:
        """An API client signed in as the bootstrap admin (close it, or use ``with``)."""
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def signin_link(self) -> str:
        return f"{self.url}/signin?token={self.platform.tokens.issue_signin()}"

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        """Run a coroutine on the server's event loop (e.g. ``platform.ingest``)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)


Feed = Callable[[Platform], Coroutine[Any, Any, None]]


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def running_server(
    tmp_path: Path,
    plant_yaml: str = SMALL_PLANT,
    *,
    feed: Feed | None = None,
    port: int | None = None,
) -> Iterator[RunningServer]:
    """Serve a platform for ``plant_yaml``; ``feed`` runs on the server's loop as a source;
    ``port`` when the plant file must know it (default: a free one)."""
    config = tmp_path / "plantos.yaml"
    config.write_text(plant_yaml)
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data"))
    admin = platform.tokens.bootstrap_admin()
    if admin is None:
        raise RuntimeError("a fresh data directory must give a bootstrap token")
    loop_ready: list[asyncio.AbstractEventLoop] = []

    async def note_loop() -> None:
        loop_ready.append(asyncio.get_running_loop())

    platform.add_source(note_loop())
    if feed is not None:
        platform.add_source(feed(platform))
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(platform),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, name="plantos-test-server", daemon=True)
    thread.start()
    wait_until(lambda: bool(server.started and loop_ready) or not thread.is_alive(), "the server")
    if not thread.is_alive():
        raise RuntimeError("test server did not start")
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", platform, admin, loop_ready[0])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
