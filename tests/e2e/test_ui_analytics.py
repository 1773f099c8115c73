"""The analytics pages in a real browser: the SPC chart with its limits and a marked
violation, and a spindle's health with its score and the evidence of its anomaly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.test_api_judgements import (
    MILL,
    TEMP,
    feed_judged,
    plant_yaml,
)
from tests.support.server import RunningServer, running_server, wait_until

CHART_DRAWN = "() => window.plantosChart && window.plantosChart.data[0].length > 0"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """This module's own plant (SPC and a watched spindle) in place of the session's."""
    now = time.time_ns()
    with running_server(tmp_path_factory.mktemp("ui-judged"), plant_yaml(now)) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        feed_judged(running.platform, running.call, now)
        yield running


def test_spc_page_draws_the_limits_and_marks_the_violation(signed_in: Page, tmp_path: Path) -> None:
    page = signed_in
    page.goto("/spc")
    page.get_by_role("link", name=TEMP).click()
    page.wait_for_function(CHART_DRAWN)
    expect(page.locator("#chart canvas")).to_have_count(1)
    labels = page.evaluate("window.plantosChart.series.map((s) => s.label)")
    assert labels[2:] == ["centre", "LCL", "UCL", "violation"]
    ucl = page.evaluate("window.plantosChart.data[4]")
    assert ucl[:20] == [None] * 20 and all(v is not None for v in ucl[20:])
    assert page.evaluate("window.plantosSpc.marked") >= 1
    marked = page.evaluate("window.plantosChart.data[5]")
    assert any(m is not None and m > u for m, u in zip(marked, ucl, strict=True) if u is not None)
    expect(page.locator("#rules li").first).to_contain_text("beyond a control limit")
    expect(page.locator("#violations tbody tr").first).to_be_visible()
    expect(page.locator("#capability td[data-index=cpk]")).to_have_text(re.compile(r"^-?\d"))
    expect(page.locator("#capability-card")).to_be_visible()
    expect(page.locator("#chart-disp canvas")).to_have_count(1)
    page.screenshot(path=tmp_path / "spc.png", full_page=True)


def test_spc_page_for_a_tag_without_a_characteristic(signed_in: Page) -> None:
    response = signed_in.goto(f"/spc?tag={TEMP[:-1]}")
    assert response is not None and response.status == 404
    expect(signed_in.get_by_role("alert")).to_contain_text("Unknown tag")


def test_health_page_shows_the_score_and_the_evidence(signed_in: Page, tmp_path: Path) -> None:
    page = signed_in
    page.goto("/health")
    listed = page.locator(f'#watched tr[data-asset="{MILL}"]')
    expect(listed.locator("td.zone")).to_have_text("D")  # which spindle needs a look, at a glance
    expect(listed).to_contain_text("active unacknowledged")
    page.get_by_role("link", name=MILL).click()
    page.wait_for_function(CHART_DRAWN)
    raise_at = page.evaluate("window.plantosHealth.answer.thresholds.raise_at")
    assert set(page.evaluate("window.plantosChart.data[2]")) == {raise_at}
    expect(page.locator("#latest-score")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#alarm-state")).not_to_have_text("normal")
    expect(page.locator("#anomaly-text")).to_contain_text("Active anomaly, critical")
    expect(page.locator("#anomaly-text")).to_contain_text("in zone D")
    expect(page.locator("#vibration-level")).to_contain_text(re.compile(r"mm/s, ISO zone D"))
    rows = page.locator("#evidence tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() == 3
    expect(page.locator("#features li").last).to_have_text("velocity_rms")
    page.screenshot(path=tmp_path / "health.png", full_page=True)
