"""A real PlantOS server for a small plant, fed live, and a real headless Chromium.

The server is uvicorn in a background thread (one per test session); the plant is
fed by a source coroutine that runs on the server's event loop: two hours of
history at 1 s, then new values every 200 ms. Each test gets a fresh browser
context (no cookies), or one signed in through a one-time sign-in link.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from plantos.app import Platform
from plantos.core import quality
from plantos.core.batch import SampleBatch
from tests.support.server import RunningServer, running_server, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NS = 1_000_000_000
HISTORY_S = 2 * 3600
FEED_EVERY_S = 0.2
TEMPERATURE_EVERY = round(1 / FEED_EVERY_S)
"""Feed rounds between temperature samples: their 1 s sampling. A trend of 15 minutes then
holds about 900 raw samples however long the session's server has run."""

LINE = "site-1/pressing/line-1"
P1 = f"{LINE}/press-1"
P2 = f"{LINE}/press-2"

PLANT_YAML = """\
plantos: 1
enterprise: {id: testco, name: Test Components Ltd}
asset_types:
  press:
    description: Hydraulic press
    tags:
      - {signal: temperature, unit: degC, range: [0, 200], sampling: 1s,
         description: Hydraulic oil temperature}
      - {signal: state, type: enum, sampling: 1s,
         states: {0: "off", 1: idle, 2: running, 3: down}}
      - {signal: part_counter, type: int, unit: count, sampling: 1s}
sites:
  - id: site-1
    name: Test Site
    areas:
      - id: pressing
        name: Pressing
        lines:
          - id: line-1
            name: Press Line 1
            assets:
              - {id: press-1, name: Press 1, type: press, criticality: high}
              - {id: press-2, name: Press 2, type: press}
"""


def _temperature(ts: np.ndarray) -> np.ndarray:
    t_s = ts / NS
    return 60.0 + 8.0 * np.sin(2 * math.pi * t_s / 900.0) + 0.5 * np.sin(t_s / 7.0)


def _history(platform: Platform, now: int) -> SampleBatch:
    """Two hours at 1 s of every tag; press-1 cycles through its states, press-2's counter
    stops five minutes ago (so it shows as stale)."""
    ids = platform.tag_ids
    ts = np.arange(now - HISTORY_S * NS, now, NS, dtype=np.int64)
    n = len(ts)
    minute = (ts // (60 * NS)) % 20
    p1_state = np.select([minute < 2, minute < 4], [1.0, 3.0], 2.0)
    old = ts[ts < now - 300 * NS]
    columns = [
        (ids[f"{P1}/temperature"], ts, _temperature(ts)),
        (ids[f"{P1}/state"], ts, p1_state),
        (ids[f"{P1}/part_counter"], ts, np.arange(n, dtype=np.float64)),
        (ids[f"{P2}/temperature"], ts, _temperature(ts) - 10.0),
        (ids[f"{P2}/state"], ts, np.full(n, 3.0)),
        (ids[f"{P2}/part_counter"], old, np.arange(len(old), dtype=np.float64)),
    ]
    return SampleBatch.concat([SampleBatch.of(np.full(len(t), i), t, v) for i, t, v in columns])


async def feed(platform: Platform, history_ready: threading.Event) -> None:
    """History first, then every 200 ms: press-1 running and counting, press-2 down
    with a failed temperature sensor (Bad quality, sent each second)."""
    ids = platform.tag_ids
    now = platform.clock.now_ns()
    await platform.ingest(_history(platform, now), source="test")
    history_ready.set()
    count = HISTORY_S
    while True:
        await asyncio.sleep(FEED_EVERY_S)
        now = platform.clock.now_ns()
        count += 1
        tags = [ids[f"{P1}/state"], ids[f"{P1}/part_counter"], ids[f"{P2}/state"]]
        values = [2.0, float(count), 3.0]
        codes = [quality.GOOD] * 3
        if count % TEMPERATURE_EVERY == 0:  # at the tags' 1 s sampling, as the trend expects
            tags += [ids[f"{P1}/temperature"], ids[f"{P2}/temperature"]]
            values += [float(_temperature(np.array([now]))[0]), 0.0]
            codes += [quality.GOOD, quality.BAD_SENSOR_FAILURE]
        await platform.ingest(SampleBatch.of(tags, [now] * len(tags), values, codes), source="test")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    history_ready = threading.Event()
    with running_server(
        tmp_path_factory.mktemp("plant"),
        PLANT_YAML,
        feed=lambda platform: feed(platform, history_ready),
    ) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        wait_until(history_ready.is_set, "the history to be published")
        history_rows = 5 * HISTORY_S + (HISTORY_S - 300)
        wait_until(lambda: running.platform.writer.acked_rows >= history_rows, "the history commit")
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    """A fresh, signed-out browser tab; fails the test on any uncaught script error."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield tab
    context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture
def signed_in(page: Page, server: RunningServer) -> Page:
    """The tab after following a fresh one-time sign-in link."""
    page.goto(server.signin_link())
    assert page.url == f"{server.url}/"
    return page
