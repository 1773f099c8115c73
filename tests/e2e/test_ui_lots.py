"""Lots in a real browser: a violation whose rule holds the lot shows the lot on hold on
the quality page (the order runs on); a release without a reason is refused by the form,
a release with one ends the hold; the order page lists its lots and holds one from
there, a second hold of it shows the reason it is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from plantos.analytics.spc.events import SpcViolation
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from tests.support.server import RunningServer, running_server, wait_until

NS = 1_000_000_000
WELD = "site-1/welding/weld-line/weld-cell-1"
PLANT = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
asset_types:
  weld-cell:
    tags:
      - {signal: weld_current, unit: A, range: [0, 400]}
sites:
  - id: site-1
    areas:
      - id: welding
        lines:
          - id: weld-line
            assets: [{id: weld-cell-1, type: weld-cell}]
quality:
  hold_on: [spc_violation]
  hold_target: lot
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("lots-ui"), PLANT) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        mom = running.platform.mom.service
        routing = Routing("frame", "frame", (RoutingStep("weld", (AssetOption(WELD, 0, 40.0),)),))
        mom.seed_master_data(
            MasterData({"frame": Product("frame", "Frame", "frame")}, {"frame": routing})
        )
        now = time.time_ns()
        mom.create_orders([NewOrder("PO-1", "frame", 100, now + 3600 * NS)])
        for event in mom.transition("PO-1", "running", asset=WELD)[1]:
            running.call(running.platform.emit(event))
        mom.book([Count("machine", WELD, now, good=10)])
        yield running


def test_a_person_releases_and_holds_lots_on_the_quality_and_order_pages(
    signed_in: Page, server: RunningServer
) -> None:
    platform = server.platform
    service = platform.quality.service
    event = SpcViolation(
        ts_ns=time.time_ns(), subject=f"{WELD}/weld_current", rule=1, rule_set="nelson",
        chart="imr", statistic="x", point_ts_ns=(1,), point_values=(250.0,),
        center=200.0, lcl=190.0, ucl=210.0,
    )  # fmt: skip
    server.call(platform.emit(event))
    wait_until(lambda: service.lot("PO-1-1").state == "on_hold", "the lot hold")
    (nc,) = service.list()

    page = signed_in
    page.goto("/quality")
    expect(page.locator(f'tr[data-nc="{nc.id}"] .lot')).to_have_text("PO-1-1 on hold")
    row = page.locator('#lots tr[data-lot="PO-1-1"]')
    expect(row.locator(".order")).to_have_text("PO-1")
    expect(row.locator(".good")).to_have_text("10")
    expect(row.locator(".state")).to_contain_text("on hold")
    assert platform.mom.service.order("PO-1").state == "running"

    reason = row.locator('input[name="reason"]')
    assert reason.evaluate("e => e.validity.valueMissing"), "no release without a reason"
    reason.fill("lab re-measured: fine")
    row.locator('button[data-move="release"]').click()
    expect(page.locator("#quality-message")).to_have_text("lot PO-1-1 released")
    expect(row.locator(".state")).to_contain_text("released")

    page.goto("/orders/PO-1")
    row = page.locator('#lots tr[data-lot="PO-1-1"]')
    expect(row.locator(".state")).to_contain_text("released")
    row.locator('input[name="reason"]').fill("customer complaint")
    row.locator('button[data-move="hold"]').click()
    expect(page.locator("#order-message")).to_have_text("lot PO-1-1 on hold")
    assert page.url.endswith("/orders/PO-1?message=lot%20PO-1-1%20on%20hold")
    # the same page, opened before the hold, submits a second hold
    page.goto("/orders/PO-1")
    form = page.locator('#lots tr[data-lot="PO-1-1"] form')
    form.evaluate("f => { f.action = f.action.replace('/release', '/hold') }")
    form.locator('input[name="reason"]').fill("twice")
    form.locator("button").click()
    expect(page.locator("#order-message")).to_contain_text(
        "lot PO-1-1 is on hold already (customer complaint)"
    )
    records = platform.audit.records(action="lot.", newest_first=True, limit=3)
    assert [(r.action, r.outcome) for r in records] == [
        ("lot.hold", "failed"), ("lot.hold", "ok"), ("lot.release", "ok"),
    ]  # fmt: skip
