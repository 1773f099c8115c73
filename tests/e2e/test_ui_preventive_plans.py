"""The preventive plans table on the maintenance page in a real browser: a calendar plan
that is due opens its preventive work order, shown on the board and named in the plan's
row with its next due date; a meter plan shows its reading. A planner disables a plan
with its button and enables it again; both are audited with who clicked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server, wait_until

MIXER = "site-1/mixing/line-1/mixer-1"
PLANT = (
    MIXER_OEE_PLANT
    + f"""\
maintenance:
  plans:
    - {{id: mixer-lube, asset: {MIXER}, title: Lubricate, every: 1d, lead: 12h,
       start: "2020-01-01T00:00:00Z"}}
    - {{id: mixer-hours, asset: {MIXER}, title: Gearbox oil, meter: hours, every: 500, lead: 20}}
"""
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("plans-ui"), PLANT) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        yield running


def test_plans_table_shows_due_plan_with_its_work_order_and_meter_reading(
    signed_in: Page, server: RunningServer
) -> None:
    preventive = server.platform.maintenance.preventive
    wait_until(lambda: preventive.list()[1].state.work_order is not None, "the overdue plan")
    lube = next(v for v in preventive.list() if v.plan.id == "mixer-lube")
    order_id = lube.state.work_order
    page = signed_in
    page.goto("/maintenance")
    card = page.locator(f'[data-state="requested"] article[data-work-order="{order_id}"]')
    expect(card).to_be_visible()
    expect(card.locator(".kind")).to_have_text("preventive")
    row = page.locator('#plans tr[data-plan="mixer-lube"]')
    expect(row.locator(".work-order-ref")).to_have_text(str(order_id))
    expect(row.locator(".every")).to_have_text("1 d floating")
    expect(row.locator(".due")).to_have_text("2020-01-02 00:00:00 UTC")  # plant time
    expect(row.locator(".last-done")).to_have_text("never")
    hours = page.locator('#plans tr[data-plan="mixer-hours"]')
    expect(hours.locator(".due")).to_have_text("500 h")
    expect(hours.locator(".reading")).to_have_text("0.0 h")
    expect(hours.locator(".work-order-ref")).to_have_text("\u2013")  # an en dash: no work order


def test_planner_disables_a_plan_with_its_button_and_enables_it_again(
    signed_in: Page, server: RunningServer
) -> None:
    page = signed_in
    page.goto("/maintenance")
    row = page.locator('#plans tr[data-plan="mixer-hours"]')
    expect(row.locator(".status")).to_have_text("enabled")
    expect(row.locator('button[data-action="delete"]')).to_have_count(0)  # a plant-file plan
    row.locator('button[data-action="disable"]').click()
    expect(page.locator("#board-message")).to_have_text("Plan mixer-hours disabled")
    expect(row).to_have_class("disabled")
    expect(row.locator(".status")).to_contain_text("disabled by ")
    view = server.platform.maintenance.preventive.get("mixer-hours")
    assert not view.state.enabled
    (record,) = server.platform.audit.records(action="plan.disable")
    assert (record.actor, record.target, record.outcome) == (
        view.state.disabled_by,
        "mixer-hours",
        "ok",
    )
    row.locator('button[data-action="enable"]').click()
    expect(page.locator("#board-message")).to_have_text("Plan mixer-hours enabled")
    expect(row.locator(".status")).to_have_text("enabled")
    assert server.platform.maintenance.preventive.get("mixer-hours").state.enabled
