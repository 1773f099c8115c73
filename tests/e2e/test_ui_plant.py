"""The plant page: the ISA-95 tree with live values, states, quality and the filter."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import P1, P2


def _row(page: Page, path: str) -> Locator:
    return page.locator(f'tr[data-tag="{path}"]')


def _expand(page: Page, asset_path: str) -> None:
    details = page.locator(f'details[data-asset="{asset_path}"]')
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")


def test_plant_tree_shows_sites_areas_lines_and_assets(signed_in: Page, tmp_path: Path) -> None:
    page = signed_in
    tree = page.locator("#tree")
    expect(tree.locator("section.level-site > .node-head")).to_contain_text("Test Site")
    expect(tree.locator("section.level-area > .node-head")).to_contain_text("Pressing")
    expect(tree.locator("section.level-line > .node-head")).to_contain_text("Press Line 1")
    expect(tree.locator("details.asset .asset-name")).to_have_text(["Press 1", "Press 2"])
    expect(page.locator("#platform-time")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")  # a plant without calendars
    )

    _expand(page, P1)
    _expand(page, P2)
    for signal in ("temperature", "state", "part_counter"):
        expect(_row(page, f"{P1}/{signal}").locator("a.signal")).to_have_attribute(
            "href", f"/trend?tag={P1}/{signal}"
        )
    expect(_row(page, f"{P1}/temperature").locator("td.unit")).to_have_text("degC")
    expect(_row(page, f"{P1}/temperature").locator("td.quality")).to_have_text("Good")
    expect(page.locator("#conn")).to_have_text("live")
    page.screenshot(path=tmp_path / "plant.png", full_page=True)


def test_live_value_changes_without_reload(signed_in: Page) -> None:
    page = signed_in
    _expand(page, P1)
    value = _row(page, f"{P1}/part_counter").locator("td.value .v")
    expect(value).to_have_text(re.compile(r"\d"))
    page.evaluate("window.__notReloaded = true")
    first = value.inner_text()
    expect(value).not_to_have_text(first, timeout=5_000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.evaluate("window.plantosLive.events") >= 2
    expect(_row(page, f"{P1}/part_counter").locator("td.age")).to_have_text(
        re.compile(r"^(now|\d+ s)$")
    )


def test_enum_tag_shows_its_state_text_in_colour(signed_in: Page) -> None:
    page = signed_in
    _expand(page, P1)
    running = _row(page, f"{P1}/state").locator("td.value .v")
    expect(running).to_have_text("running")
    expect(running).to_have_class("v state state-running")
    badge = page.locator(f'details[data-asset="{P2}"] summary .state')
    expect(badge).to_have_text("down")
    expect(badge).to_have_class("state state-down")


def test_bad_quality_and_stale_values_are_marked(signed_in: Page) -> None:
    page = signed_in
    _expand(page, P2)
    bad = _row(page, f"{P2}/temperature")
    expect(bad).to_have_class("tag q-bad")
    expect(bad.locator("td.quality")).to_have_text("BadSensorFailure")
    stale = _row(page, f"{P2}/part_counter")
    expect(stale).to_have_class("tag stale")
    expect(stale.locator("td.age")).to_contain_text("stale")
    expect(page.locator(f'details[data-asset="{P2}"] .bad-count')).to_have_text("1 bad, 1 stale")


def test_filter_shows_only_matching_tag_paths(signed_in: Page) -> None:
    page = signed_in
    page.locator("#filter").fill("press-2 counter")
    expect(page.locator("#filter-count")).to_have_text("1 of 6 tags")
    expect(_row(page, f"{P2}/part_counter")).to_be_visible()
    expect(_row(page, f"{P1}/part_counter")).to_be_hidden()
    expect(page.locator(f'details[data-asset="{P1}"]')).to_be_hidden()
    page.locator("#filter").fill("no-such-signal")
    expect(page.locator("#no-match")).to_be_visible()
    page.locator("#filter").fill("")
    expect(page.locator("#filter-count")).to_have_text("6 tags")
    expect(page.locator(f'details[data-asset="{P1}"]')).to_be_visible()
