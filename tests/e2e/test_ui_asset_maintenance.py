"""An asset's maintenance history page in a real browser: MTBF, MTTR and availability
from the historian's machine states, per failure mode, above its work orders; a bad
range is explained on the page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect

from plantos.core.timeparse import iso
from tests.support.reliability_history import END, MIXER, T0, feed
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("asset-maintenance"), MIXER_OEE_PLANT) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        feed(running)
        yield running


def test_history_page_shows_reliability_per_failure_mode(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/assets/{MIXER}/maintenance?" + urlencode({"from": iso(T0), "to": iso(END)}))
    total = page.locator('#reliability tr[data-mode="all failures"]')
    expect(total.locator(".failures")).to_have_text("2")
    expect(total.locator(".mtbf")).to_have_text("2.25 h")
    expect(total.locator(".mttr")).to_have_text("0.50 h")
    expect(total.locator(".availability")).to_have_text("81.8%")
    expect(page.locator('#reliability tr[data-mode="VIB"] .failures')).to_have_text("1")
    expect(page.locator('#reliability tr[data-mode="unattributed"] .mttr')).to_have_text("0.50 h")
    expect(page.locator('#history [data-work-order="wo-bearing"] .kind')).to_contain_text("VIB")

    page.locator('#range input[name="from"]').fill(iso(END))
    page.locator('#range input[name="to"]').fill(iso(T0))
    page.locator("#range button").click()
    expect(page.locator("#reliability-error")).to_contain_text("before")
    expect(page.locator("#reliability")).to_have_count(0)
    expect(page.locator('#history [data-work-order="wo-bearing"]')).to_be_visible()
