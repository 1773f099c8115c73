"""The header's menus: at 1280, 1400 and 1920 px the header is one line and nothing in it
is cut off, and every page of the menus opens (200) by clicking through them, with the
mouse and with the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LINE

WIDTHS = (1280, 1400, 1920)
PAGES = {
    "/", "/stations", "/alarms", "/oee", "/spc", "/health", "/orders", "/schedule",
    "/maintenance", "/maintenance#plans", "/stations#machines", "/quality", "/connectors",
    "/integrations", "/writes", "/zones", "/users", "/tokens", "/audit",
}  # fmt: skip
"""Every page an administrator reaches from the menus (the others hang off these)."""


def _menu_links(page: Page) -> list[tuple[str, str, str]]:
    """``(menu, label, href)`` of every link in the menus, in order."""
    return page.locator("nav.mainnav details.menu a").evaluate_all(
        """links => links.map(a => [a.closest('details').dataset.menu, a.textContent.trim(),
                                    a.getAttribute('href')])"""
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_header_is_one_line_and_every_menu_page_opens(signed_in: Page, width: int) -> None:
    page = signed_in
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/")
    header = page.locator("header.topbar")
    # one line: every item of the header sits beside the others, none below another
    boxes = header.locator(":scope > *").evaluate_all(
        "items => items.filter(e => e.offsetParent).map(e => e.getBoundingClientRect())"
        ".map(r => [r.top, r.bottom])"
    )
    tallest = max(bottom - top for top, bottom in boxes)
    assert max(top for top, _ in boxes) < min(bottom for _, bottom in boxes), boxes
    height = header.evaluate("h => h.getBoundingClientRect().height")
    padding = header.evaluate(
        "h => parseFloat(getComputedStyle(h).paddingTop) + parseFloat(getComputedStyle(h)"
        ".paddingBottom) + parseFloat(getComputedStyle(h).borderBottomWidth)"
    )
    assert height <= tallest + padding + 1, (height, tallest, padding)
    for element in ("header.topbar", "nav.mainnav"):
        sizes = page.locator(element).evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert sizes[0] <= sizes[1], (element, sizes)
    right = page.locator("nav.mainnav summary").evaluate_all(
        "items => Math.max(...items.map(e => e.getBoundingClientRect().right))"
    )
    assert right <= width

    links = _menu_links(page)
    assert {href for _, _, href in links} == PAGES
    for menu, label, href in links:
        page.goto("/zones" if href == "/" else "/")  # a page other than the link's
        details = page.locator(f'nav.mainnav details[data-menu="{menu}"]')
        link = details.get_by_role("link", name=label, exact=True)
        expect(link).to_be_hidden()
        details.locator("summary").click()
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
        with page.expect_navigation() as navigation:
            link.click()
        response = navigation.value
        assert response is not None and response.status == 200, (href, response)
        assert page.url.endswith(href), (page.url, href)


def test_the_menus_work_from_the_keyboard_and_one_is_open_at_a_time(signed_in: Page) -> None:
    page = signed_in
    floor = page.locator('nav.mainnav details[data-menu="Floor"]')
    admin = page.locator('nav.mainnav details[data-menu="Admin"]')
    floor.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(floor).to_have_attribute("open", "")
    admin.locator("summary").click()
    expect(floor).not_to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(admin).not_to_have_attribute("open", "")
    expect(admin.locator("summary")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(admin.get_by_role("link", name="Users")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/users")
    expect(page.locator('nav.mainnav details[data-menu="Admin"] summary')).to_have_class("current")
    page.goto(f"/stations/{LINE}")  # a page below a menu's link belongs to that menu
    expect(page.locator("nav.mainnav summary.current")).to_have_text("Floor")
