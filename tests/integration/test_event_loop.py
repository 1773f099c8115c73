"""One rule for the event loop: historian work runs off it, so the live stream keeps
flowing while a month-long OEE recompute runs.

The recompute is held inside its first historian call until the test has read the live
stream: were the recompute on the event loop, the loop would wait for it and the stream
would never answer (the test then fails on its read timeout, with no timing asserted).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from plantos.api import health as api_health
from plantos.api import live as api_live
from plantos.api import oee as api_oee
from plantos.api import plant as api_plant
from plantos.api import prometheus
from plantos.api import system as api_system
from plantos.app import Platform
from plantos.core.batch import SampleBatch
from plantos.ui import alarm_pages, analytics_pages, pages
from tests.support.server import MIXER_OEE_PLANT, running_server

TEMP = "site-1/mixing/line-1/mixer-1/temperature"
HANG_GUARD_S = 30.0
EVENTS_WANTED = 3


async def changing_temperature(platform: Platform) -> None:
    """A new temperature every 50 ms, so every stream tick has a change to send."""
    tag = platform.tag_ids[TEMP]
    n = 0
    while True:
        n += 1
        batch = SampleBatch.of([tag], [time.time_ns()], [20.0 + n % 50])
        await platform.ingest(batch, source="test")
        await asyncio.sleep(0.05)


def test_live_stream_flows_while_a_31_day_oee_recompute_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server(tmp_path, MIXER_OEE_PLANT, feed=changing_temperature) as server:
        historian = server.platform.historian
        inside = threading.Event()
        release = threading.Event()
        real_tag_ids = historian.tag_ids

        def held_tag_ids() -> dict[str, int]:
            inside.set()
            release.wait(HANG_GUARD_S)
            return real_tag_ids()

        monkeypatch.setattr(historian, "tag_ids", held_tag_ids)
        auth = {"Authorization": f"Bearer {server.admin_token}"}

        def recompute() -> httpx.Response:
            return httpx.get(
                f"{server.url}/api/v1/oee",
                params={"from": "-31d"},
                headers=auth,
                timeout=HANG_GUARD_S * 2,
            )

        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(recompute)
            try:
                assert inside.wait(HANG_GUARD_S), "the recompute never reached the historian"
                events = read_live_events(server.url, auth)
            finally:
                release.set()
            response = answer.result(HANG_GUARD_S * 2)
        assert len(events) == EVENTS_WANTED
        assert all(e["values"] for e in events)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["current_shift"] is False
        assert body["level"] == "enterprise"


def read_live_events(url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    """The first few ``live`` events of the stream, every 100 ms."""
    events: list[dict[str, Any]] = []
    with httpx.stream(
        "GET",
        f"{url}/api/v1/live/stream",
        params={"prefix": TEMP, "interval_ms": 100},
        headers=auth,
        timeout=HANG_GUARD_S / 3,
    ) as stream:
        name = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:") and name == "live":
                events.append(json.loads(line.partition(":")[2]))
                if len(events) == EVENTS_WANTED:
                    break
    return events


LOOP_STATE_ROUTES = [
    (api_live.router, "GET", "/live"),
    (api_plant.router, "GET", "/tags"),
    (api_system.router, "GET", "/status"),
    (api_system.router, "GET", "/connectors"),
    (api_health.router, "GET", "/health"),
    (api_oee.router, "GET", "/oee"),
    (api_oee.router, "GET", "/oee/stops"),
    (prometheus.router, "GET", "/metrics"),
    (alarm_pages.router, "GET", "/alarms"),
    (alarm_pages.router, "GET", "/oee"),
    (alarm_pages.router, "POST", "/oee/reasons"),
    (analytics_pages.router, "GET", "/spc"),
    (analytics_pages.router, "GET", "/health"),
    (pages.router, "GET", "/connectors"),
]
"""Routes that read the live state, analytics or platform counters, which the event loop
changes: a plain ``def`` route would run in a worker thread, in the middle of an update."""


@pytest.mark.parametrize(
    ("router", "method", "path"),
    LOOP_STATE_ROUTES,
    ids=[f"{m} {p}" for _, m, p in LOOP_STATE_ROUTES],
)
def test_routes_that_read_what_the_loop_changes_run_on_the_loop(
    router: APIRouter, method: str, path: str
) -> None:
    [route] = [
        r
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and method in r.methods
    ]
    assert inspect.iscoroutinefunction(route.endpoint), f"{method} {path} runs in a worker thread"
