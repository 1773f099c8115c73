"""Orders and the schedule in a real browser: a planner releases an order, starts it on a
press and watches its count rise from the press's part counter without reloading; a bad
CSV file is refused with its reason; the Gantt shows the plan beside the one before the
last recalculation. Planning runs with a small stand-in scheduler here (the CP-SAT one
has its own tests)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from plantos.mom.planner import Planner
from tests.e2e.conftest import LINE, P1, P2
from tests.e2e.nav import nav_to
from tests.support.mom_scheduler import SCHEDULER
from tests.support.server import RunningServer, wait_until


def _api(server: RunningServer) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def master(server: RunningServer) -> None:
    """A product made on either press, through the master data API."""
    with _api(server) as api:
        routing = {
            "product": "bracket",
            "operations": [
                {
                    "name": "press",
                    "assets": [
                        {"asset": P1, "setup_s": 300, "run_s_per_unit": 30},
                        {"asset": P2, "setup_s": 300, "run_s_per_unit": 30},
                    ],
                }
            ],
        }
        product = {"routing": "bracket", "routing_definition": routing}
        assert api.put("/mom/products/bracket", json=product).status_code == 200


def _due(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + hours * 3600))


def test_an_order_counts_live_from_the_press(signed_in: Page, master: None) -> None:
    page = signed_in
    nav_to(page, "Orders")
    form = page.locator("#new-order")
    form.locator("input[name=order_id]").fill("PO-7001")
    form.locator("select[name=product]").select_option("bracket")
    form.locator("input[name=quantity]").fill("100000")
    form.locator("input[name=due]").fill(_due(8))
    form.locator("button").click()
    expect(page.locator("#order-message")).to_contain_text("Released PO-7001")
    row = page.locator('tr[data-order="PO-7001"]')
    # released, and scheduled as soon as the planner has placed it
    expect(row.locator(".state")).to_have_text(re.compile("released|scheduled|running"))

    # press-1 is counting and idle of orders: its next part starts the order there
    expect(row.locator(".state")).to_have_text("running", timeout=15_000)
    row.locator("a").click()
    expect(page.locator("h1")).to_contain_text("Order PO-7001")
    page.locator("#transitions button.to-paused").click()
    expect(page.locator("#order-state")).to_have_text("paused", timeout=15_000)
    page.reload()
    expect(page.locator("#order-state")).to_have_text("paused")  # the counts do not resume it
    running = page.locator("#transitions form", has=page.locator("button.to-running"))
    running.locator("select[name=asset]").select_option(P1)
    running.locator("button").click()
    expect(page.locator("#order-state")).to_have_text("running")
    expect(page.locator("#runs tbody tr")).to_have_count(2)
    # the press counts this order: a typed count is refused with the reason
    page.locator("#operator-count input[name=good]").fill("5")
    page.locator("#operator-count button").click()
    expect(page.locator("#order-message")).to_contain_text("counted by the machine")

    page.goto("/orders")
    count = page.locator('tr[data-order="PO-7001"] .count')
    first = count.inner_text()
    # press-1's counter rises every 200 ms: the page follows without a reload
    expect(count).not_to_have_text(first, timeout=15_000)
    asset = page.locator('tr[data-order="PO-7001"] .asset')
    site, name = P1.split("/")[0], P1.split("/")[-1]
    expect(asset).to_have_text(f"{site} · {name}")  # short, the whole path on hover
    expect(asset).to_have_attribute("title", P1)
    eta = page.locator('tr[data-order="PO-7001"] .eta')
    expect(eta).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+$"))  # plant time


def test_a_csv_with_wrong_columns_imports_nothing(
    signed_in: Page, master: None, tmp_path: Path
) -> None:
    page = signed_in
    page.goto("/orders")
    bad = tmp_path / "orders.csv"
    bad.write_text("order,product,qty\nPO-9,bracket,5\n")
    page.locator("#import-orders input[type=file]").set_input_files(str(bad))
    page.locator("#import-orders button").click()
    expect(page.locator("#order-message")).to_contain_text("Nothing imported")
    expect(page.locator("#order-message")).to_contain_text("missing column(s) id, quantity, due")
    expect(page.locator('tr[data-order="PO-9"]')).to_have_count(0)


def test_the_gantt_shows_a_recalculation(
    signed_in: Page, server: RunningServer, master: None
) -> None:
    mom = server.platform.mom
    mom.planner = Planner(mom.service, server.platform.plant, SCHEDULER, frozen_horizon_ns=0)  # type: ignore[arg-type]
    with _api(server) as api:
        for i, hours in enumerate((4, 6)):
            body = {"id": f"PO-80{i}", "product": "bracket", "quantity": 40, "due": _due(hours)}
            assert api.post("/orders", json=body).status_code == 201
        wait_until(lambda: len(mom.changes) >= 1, "the first plan")
        published = len(mom.changes)
        urgent = {
            "id": "PO-899",
            "product": "bracket",
            "quantity": 20,
            "due": _due(1),
            "priority": 5,
        }
        assert api.post("/orders", json=urgent).status_code == 201
        wait_until(lambda: len(mom.changes) > published, "the recalculation for the urgent order")
    page = signed_in
    nav_to(page, "Schedule")
    expect(page.locator("nav.lines a[aria-current]")).to_have_text(LINE)
    current, previous = page.locator("#gantt-1"), page.locator("#gantt-2")
    expect(current.locator("figcaption")).to_contain_text("Current plan")
    expect(previous.locator("figcaption")).to_contain_text("Before the last recalculation")
    expect(current.locator('g.op[data-order="PO-899"]')).to_have_count(1)
    expect(previous.locator('g.op[data-order="PO-899"]')).to_have_count(0)
    # the urgent order goes first on press-1 (press-2 is down): the others moved
    expect(current.locator("g.op.moved").first).to_be_visible()
    expect(page.locator("#assets-down")).to_contain_text(P2)
    expect(page.locator("#changes tbody tr").first).to_contain_text("urgent order")
