"""The trend page: a uPlot chart of a tag's history, the range picker and errors."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import P1, P2

TEMPERATURE = f"{P1}/temperature"
HAS_POINTS = "() => window.plantosChart && window.plantosChart.data[0].length > 0"


def test_trend_draws_the_history_and_range_switch_refetches(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    page.goto(f"/trend?tag={TEMPERATURE}")
    page.wait_for_function(HAS_POINTS)
    expect(page.locator("#chart canvas")).to_have_count(1)
    assert page.evaluate("window.plantosChart.axes[1].label") == "degC"
    assert page.evaluate("window.plantosTrend.plan.mode") == "bucket"
    points = page.evaluate("window.plantosChart.data[0].length")
    assert 0 < points <= 1000
    expect(page.locator("#latest-value")).to_have_text(re.compile(r"\d"))
    expect(page.locator("#csv")).to_have_attribute("href", re.compile(r"^blob:"))
    page.screenshot(path=tmp_path / "trend.png", full_page=True)

    with page.expect_response(lambda r: "/samples?" in r.url and "from=-15m" in r.url) as info:
        page.get_by_role("button", name="15 min").click()
    assert info.value.ok
    assert "bucket=" not in info.value.url
    page.wait_for_function("() => window.plantosTrend.plan.mode === 'raw'")
    page.wait_for_function(HAS_POINTS)
    assert page.evaluate("window.plantosChart.data[0].length") > 800
    expect(page.get_by_role("button", name="15 min")).to_have_attribute("aria-pressed", "true")

    with page.expect_response(lambda r: "/samples?" in r.url and "from=-8h" in r.url) as info:
        page.get_by_role("button", name="8 h").click()
    assert "bucket=30s" in info.value.url and "agg=avg%2Cmin%2Cmax" in info.value.url
    page.wait_for_function("() => window.plantosTrend.plan.bucket === '30s'")
    assert "range=8h" in page.url


def test_follow_mode_refreshes_the_chart(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/trend?tag={P1}/part_counter&range=15m")
    page.wait_for_function(HAS_POINTS)
    fetches = page.evaluate("window.plantosTrend.fetches")
    page.wait_for_function(f"() => window.plantosTrend.fetches > {fetches}", timeout=6_000)


def test_enum_trend_labels_the_axis_with_state_names(signed_in: Page, tmp_path: Path) -> None:
    page = signed_in
    page.goto(f"/trend?tag={P1}/state&range=1h")
    page.wait_for_function(HAS_POINTS)
    labels = page.evaluate(
        "() => { const u = window.plantosChart; return u.axes[1].values(u, [0, 1, 2, 3]); }"
    )
    assert labels == ["off", "idle", "running", "down"]
    page.screenshot(path=tmp_path / "trend-enum.png", full_page=True)


def test_unknown_tag_shows_a_message(signed_in: Page, tmp_path: Path) -> None:
    page = signed_in
    response = page.goto(f"/trend?tag={P1}/temperatur")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("Unknown tag")
    expect(page.locator(".suggestions a").first).to_have_text(TEMPERATURE)
    page.screenshot(path=tmp_path / "trend-unknown.png", full_page=True)


def test_api_error_detail_is_shown(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/trend?tag={TEMPERATURE}&from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z")
    error = page.locator("#trend-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("must be before 'to'")


def test_bad_quality_is_shaded_and_shown_with_the_live_value(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/trend?tag={P2}/temperature&range=15m")
    page.wait_for_function(HAS_POINTS)
    assert page.evaluate("window.plantosTrend.columns.badSpans.length") >= 1
    expect(page.locator("#summary")).to_contain_text("bad quality shaded red")
    expect(page.locator("#latest-time")).to_contain_text("BadSensorFailure")
