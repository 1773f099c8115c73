"""The quality page in a real browser: failed inspections from the machine become one
nonconformance holding the running order; a refused scrap shows its reason; scrap with
a quantity books it to the order; use as is on another one releases its hold."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from plantos.analytics.spc.events import SpcViolation
from plantos.core.batch import SampleBatch
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
      - {signal: weld_ok, type: bool}
sites:
  - id: site-1
    areas:
      - id: welding
        lines:
          - id: weld-line
            assets: [{id: weld-cell-1, type: weld-cell}]
quality:
  inspections: [weld_ok]
  hold_on: [failed_inspection]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("quality-ui"), PLANT) as running:
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
        mom.transition("PO-1", "running", asset=WELD)
        mom.book([Count("machine", WELD, now, good=10)])
        yield running


def test_a_person_dispositions_nonconformances_on_the_quality_page(
    signed_in: Page, server: RunningServer
) -> None:
    platform = server.platform
    tag = platform.tag_ids[f"{WELD}/weld_ok"]
    now = time.time_ns()
    batch = SampleBatch.of([tag] * 4, [now + i * NS for i in range(4)], [1.0, 0.0, 0.0, 1.0])
    server.call(platform.ingest(batch, source="test"))
    service = platform.quality.service
    wait_until(lambda: sum(n.quantity for n in service.list()) == 2, "two failed inspections")
    (nc,) = service.list()

    page = signed_in
    page.goto("/quality")
    row = page.locator(f'tr[data-nc="{nc.id}"]')
    expect(row.locator(".characteristic")).to_have_text(f"{WELD}/weld_ok")
    expect(row.locator(".order")).to_contain_text("PO-1 on hold")
    expect(row.locator(".quantity")).to_have_text("2")
    assert platform.mom.service.order("PO-1").state == "paused"

    row.locator('input[name="quantity"]').fill("50")
    row.locator('button[data-disposition="scrap"]').click()
    expect(page.locator("#quality-message")).to_contain_text("only 10 of them were counted good")
    assert service.get(nc.id).state == "open"

    row = page.locator(f'tr[data-nc="{nc.id}"]')
    row.locator('button[data-disposition="scrap"]').click()  # the failed parts: 2
    expect(page.locator("#quality-message")).to_have_text(
        f"{nc.id} closed: scrap, 2 parts scrapped"
    )
    expect(row.locator(".state")).to_have_text("scrap (2 scrapped)")
    expect(row.locator("button")).to_have_count(0)
    order = platform.mom.service.order("PO-1")
    assert (order.good_total, order.scrap_total, order.state) == (8, 2, "running")

    # an SPC finding on the running order: use as is
    event = SpcViolation(
        ts_ns=time.time_ns(), subject=f"{WELD}/weld_current", rule=2, rule_set="nelson",
        chart="imr", statistic="x", point_ts_ns=(1,), point_values=(250.0,),
        center=200.0, lcl=190.0, ucl=210.0,
    )  # fmt: skip
    server.call(platform.emit(event))
    wait_until(lambda: len(service.list(states=["open"])) == 1, "the SPC nonconformance")
    (spc,) = service.list(states=["open"])
    page.goto("/quality")
    row = page.locator(f'tr[data-nc="{spc.id}"]')
    expect(row.locator(".trigger")).to_have_text("spc violation")
    row.locator('button[data-disposition="use_as_is"]').click()
    expect(page.locator("#quality-message")).to_have_text(f"{spc.id} closed: use as is")
    records = platform.audit.records(action="nonconformance.", newest_first=True, limit=3)
    assert [(r.action, r.outcome) for r in records] == [
        ("nonconformance.use_as_is", "ok"), ("nonconformance.scrap", "ok"),
        ("nonconformance.scrap", "failed"),
    ]  # fmt: skip
