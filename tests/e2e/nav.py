"""Going to a page the way a person does: open its menu in the header, click its link."""

from __future__ import annotations

from playwright.sync_api import Page

MENU_OF = {
    "Plant": "Floor",
    "Stations": "Floor",
    "Alarms": "Floor",
    "OEE": "Performance",
    "SPC": "Performance",
    "Health": "Performance",
    "Orders": "Operations",
    "Schedule": "Operations",
    "Work orders": "Maintenance",
    "Preventive plans": "Maintenance",
    "Asset history": "Maintenance",
    "Nonconformances": "Quality",
    "Connectors": "Integration",
    "Integrations": "Integration",
    "Writes": "Integration",
    "Zones": "Integration",
    "Users": "Admin",
    "Tokens": "Admin",
    "Audit": "Admin",
}
"""Which menu of ``nav.mainnav`` holds each page's link."""


def nav_to(page: Page, label: str) -> None:
    """Open the menu holding ``label`` and follow the link, waiting for the page."""
    menu = page.locator(f'nav.mainnav details[data-menu="{MENU_OF[label]}"]')
    menu.locator("summary").click()
    with page.expect_navigation():
        menu.get_by_role("link", name=label, exact=True).click()
