"""The work-order board and the operator station in a real browser: an anomaly becomes a
card on the board; the station shows its notification, a second one arrives by itself
(server-sent events), and a person acknowledges one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from plantos.analytics.anomaly.events import AnomalyRaised, Evidence
from tests.support.server import RunningServer, running_server, wait_until

LINE = "site-1/machining/line-1"
CNC1, CNC2 = f"{LINE}/cnc-1", f"{LINE}/cnc-2"
PLANT = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
asset_types:
  cnc-mill:
    tags:
      - {signal: spindle_vibration, unit: mm/s, range: [0, 40]}
sites:
  - id: site-1
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - {id: cnc-1, type: cnc-mill, criticality: critical}
              - {id: cnc-2, type: cnc-mill}
maintenance: {auto_approve: 1}
notifications:
  rules:
    - {kinds: [WorkOrderOpened, WorkOrderUpdated], to: [station]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("maintenance-ui"), PLANT) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        yield running


def raise_anomaly(server: RunningServer, asset: str) -> None:
    anomaly = AnomalyRaised(
        ts_ns=time.time_ns(), subject=asset, score=40.0, severity="warning", severity_rank=1,
        detector="hotelling", time_to_threshold_s=36_000.0, time_to_threshold_low_s=18_000.0,
        evidence=(Evidence("band_2500_3500hz", 1.1, 0.07, 20.0),),
    )  # fmt: skip
    server.call(server.platform.emit(anomaly))
    service = server.platform.maintenance.service
    wait_until(lambda: bool(service.list(asset=asset)), f"the work order of {asset}")


def test_board_and_station_show_the_loop_and_a_person_acknowledges(
    signed_in: Page, server: RunningServer
) -> None:
    raise_anomaly(server, CNC1)
    (order,) = server.platform.maintenance.service.list(asset=CNC1)
    page = signed_in
    page.goto("/maintenance")
    # priority 2: above the policy's auto-approval, so a planner approves and schedules it
    card = page.locator(f'[data-state="requested"] article[data-work-order="{order.id}"]')
    expect(card).to_be_visible()
    expect(card.locator(".asset")).to_have_text(CNC1)
    expect(card.locator(".window")).to_contain_text("Window")
    card.locator('button[data-to="approved"]').click()
    expect(page.locator("#board-message")).to_have_text(f"{order.id} is approved")
    card = page.locator(f'[data-state="approved"] article[data-work-order="{order.id}"]')
    card.locator('button[data-to="scheduled"]').click()
    expect(page.locator("#board-message")).to_have_text(f"{order.id} is scheduled")
    expect(page.locator(f'[data-state="scheduled"] [data-work-order="{order.id}"]')).to_be_visible()
    scheduled = server.platform.maintenance.service.get(order.id)
    assert [t["by"] for t in scheduled.transitions][-2:] != ["loop:maintenance"] * 2
    assert scheduled.window is not None
    window_s = (scheduled.window.start_ns // 10**9, -(-scheduled.window.end_ns // 10**9))
    assert server.platform.maintenance.loop.blocked()[CNC1] == [window_s]  # the planner closes it

    page.goto(f"/stations/{LINE}")
    items = page.locator("#notifications li.notification")
    expect(items).to_have_count(1)
    expect(items.first.locator(".title")).to_contain_text(order.id)
    raise_anomaly(server, CNC2)  # arrives without a reload
    expect(items).to_have_count(2)
    expect(page.locator("#no-notifications")).to_be_hidden()
    items.filter(has_text=order.id).locator("button.ack").click()
    expect(page.locator("#station-message")).to_have_text("Acknowledged")
    expect(page.locator("#notifications li.notification")).to_have_count(1)
