"""Text and exact integers on the pages: the plant page shows a program name and a uint64
totaliser digit for digit, and a text tag's trend is a timeline of its values."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.server import RunningServer, running_server, wait_until
from tests.support.typed_plant import CNC, ENERGY_START, PROGRAMS, TYPED_PLANT, typed_history

NS = 1_000_000_000
MINUTES = 120


@pytest.fixture(scope="module")
def typed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("typed-ui"), TYPED_PLANT) as running:
        batch = typed_history(running.platform, time.time_ns() // NS * NS, MINUTES)
        running.call(running.platform.ingest(batch, source="test"))
        wait_until(lambda: running.platform.writer.acked_rows >= len(batch), "the commit")
        yield running


@pytest.fixture
def tab(browser: Browser, typed_server: RunningServer) -> Iterator[Page]:
    context = browser.new_context(
        base_url=typed_server.url, viewport={"width": 1400, "height": 900}, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(typed_server.signin_link())
    yield page
    context.close()
    assert not errors, f"script errors in the page: {errors}"


def test_the_plant_page_shows_text_and_every_digit_of_a_uint64(tab: Page) -> None:
    tab.goto("/")
    tab.locator("details.asset summary").first.click()
    last = MINUTES - 1
    program = tab.locator(f'tr[data-tag="{CNC}/program"] .value .v')
    expect(program).to_have_text(PROGRAMS[(last // 10) % len(PROGRAMS)])
    energy = tab.locator(f'tr[data-tag="{CNC}/energy"] .value .v')
    expect(energy).to_have_text(f"{ENERGY_START + last:,}")


def test_a_text_trend_is_a_timeline_of_values(tab: Page) -> None:
    tab.goto(f"/trend?tag={CNC}/program&range=8h")
    segments = tab.locator(".timeline .segment")
    expect(segments.first).to_be_visible()
    texts = segments.all_text_contents()
    assert set(texts) <= {*PROGRAMS, "no value"}
    # A segment per run of one program: the program changed every 10 minutes.
    assert len([t for t in texts if t != "no value"]) == MINUTES // 10
    expect(tab.locator("#latest-value")).to_have_text(PROGRAMS[((MINUTES - 1) // 10) % 3])
    legend = tab.locator(".timeline-legend li").all_text_contents()
    assert [item.split(" \u00b7 ")[0] for item in legend] == sorted(PROGRAMS)
    held = [int(item.split(" \u00b7 ")[1].split(" min")[0]) for item in legend]
    # Four runs of 10 min each; the newest run holds on until the page asked (a little more).
    assert all(40 <= minutes <= 42 for minutes in held), legend
    tab.locator("#toggle-table").click()
    expect(tab.locator("#data-table tbody tr").first).to_contain_text("O100")
