"""The alarm list and the OEE page in a real browser: an operator acknowledges and shelves
an alarm with a reason, and reads a line's OEE with its loss Pareto and its machines."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from plantos.analytics.alarms import AlarmDefinition, Priority
from plantos.app import Platform
from tests.e2e.conftest import LINE, P1, P2
from tests.e2e.nav import nav_to
from tests.support.server import RunningServer

ALARM = f"{P2}/oil-temperature-sensor"


async def _raise(platform: Platform) -> None:
    alarms = platform.analytics.alarms
    if ALARM not in {d.alarm_id for d, _ in alarms.alarms()}:
        alarms.define(
            AlarmDefinition(ALARM, P2, Priority.CRITICAL, "oil temperature sensor failed")
        )
    for event in alarms.condition(ALARM, True, platform.clock.now_ns()):
        await platform.emit(event)


def test_an_operator_acknowledges_and_shelves_an_alarm(
    signed_in: Page, server: RunningServer
) -> None:
    server.call(_raise(server.platform))
    page = signed_in
    nav_to(page, "Alarms")
    row = page.locator(f'tr[data-alarm="{ALARM}"]')
    expect(row).to_have_attribute("data-state", "active_unacknowledged")
    expect(row.locator(".priority")).to_have_text("critical")
    row.locator("button.ack").click()
    expect(page.locator("#alarm-message")).to_contain_text("active acknowledged")
    row = page.locator(f'tr[data-alarm="{ALARM}"]')
    expect(row).to_have_attribute("data-state", "active_acknowledged")

    row.locator("select[name=until]").select_option("2h")
    row.locator("input[name=reason]").fill("sensor being replaced")
    row.locator("button.shelve").click()
    row = page.locator(f'tr[data-alarm="{ALARM}"]')
    expect(row).to_have_attribute("data-state", "shelved")
    status = server.platform.analytics.alarms.status(ALARM)
    assert status.shelved_until_ns is not None
    row.locator("button.unshelve").click()
    expect(page.locator(f'tr[data-alarm="{ALARM}"]')).to_have_attribute(
        "data-state", "active_unacknowledged"
    )  # the sensor is still broken: the alarm comes back as new


def test_the_oee_page_shows_a_line_its_losses_and_its_machines(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/oee?path={LINE}&start=-1h")
    expect(page.locator("h1")).to_contain_text("Press Line 1")
    expect(page.locator("#oee-value")).to_contain_text("%")
    expect(page.locator('#loss-pareto tr[data-loss="breakdowns"]')).to_be_visible()
    children = page.locator("#oee-children tr[data-path]")
    expect(children).to_have_count(2)
    page.click(f'#oee-children tr[data-path="{P1}"] a')
    expect(page.locator("h1")).to_contain_text("Press 1")
    page.goto("/oee?path=nowhere")
    expect(page.locator("#oee-error")).to_contain_text("no site, area, line or asset")


def test_an_operator_gives_a_stop_its_reason(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/oee?path={P2}")  # the current shift, live; press-2 has been down throughout
    stop = page.locator("#stops tr[data-stop]").first
    expect(stop).to_have_attribute("data-reason", "unassigned")
    # chosen from the reason tree (the default one: the plant file gives none), with a note
    stop.locator("select[name=reason]").select_option("Breakdown / Hydraulic or pneumatic")
    stop.locator("input[name=note]").fill("pump seal leaking again")
    stop.locator("button").click()
    expect(page.locator("#oee-message")).to_contain_text("Breakdown / Hydraulic or pneumatic")
    first = page.locator("#stops tr[data-stop]").first
    expect(first).to_have_attribute("data-reason", "Breakdown / Hydraulic or pneumatic")
    expect(first.locator("input[name=note]")).to_have_value("pump seal leaking again")
    expect(page.locator("#reason-pareto")).to_contain_text("Breakdown / Hydraulic or pneumatic")
    # Who gave it: the signed-in operator, as an audit would want.
    expect(page.locator("#stops tr[data-stop] td.given").first).to_contain_text("admin")


def test_a_reason_outside_the_tree_is_refused(signed_in: Page) -> None:
    page = signed_in
    page.goto(f"/oee?path={P2}")
    stop = page.locator("#stops tr[data-stop]").first
    stop.locator("select[name=reason]").evaluate(
        "s => { s.add(new Option('anything at all', 'anything at all')); "
        "s.value = 'anything at all'; }"
    )
    stop.locator("button").click()
    expect(page.locator("#oee-message")).to_contain_text("is not a stop reason")
