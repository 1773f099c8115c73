"""The manual-entry slice of the operator station in a real browser: an operator records
readings (one in another unit, converted), is told why a bad one is refused, fills in the
start-of-shift checklist, takes the lock-out/tag-out of a work order so it may start, and
books scrap with a reason to the running order."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.entry_plant import CNC1, CNC2, LINE, MOM_YAML, PLANT
from tests.support.server import RunningServer, running_server, wait_until

NS = 1_000_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("station-entry-ui")
    (folder / "mom.yaml").write_text(MOM_YAML)
    with running_server(folder, PLANT) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        yield running


def signed_in_as_operator(page: Page, server: RunningServer) -> Page:
    token = server.platform.tokens.issue_signin("olga", "operator", scope=LINE)
    page.goto(f"{server.url}/signin?token={token}")
    return page


def live(server: RunningServer, path: str) -> float | None:
    found = server.platform.live.get(server.platform.tag_ids[path])
    return found.value if found else None


def message(page: Page) -> str:
    return page.locator("#station-message").inner_text()


def test_an_operator_records_readings_and_is_told_why_one_is_refused(
    page: Page, server: RunningServer
) -> None:
    signed_in_as_operator(page, server)
    page.goto(f"/stations/{LINE}")
    oil = page.locator(f'form.reading[data-tag="{CNC1}/oil_temperature"]')
    expect(oil.locator(".limits")).to_have_text("float, 10 to 80 degC")
    expect(oil.locator('input[name="unit"]')).to_have_value("degC")
    oil.locator('input[name="value"]').fill("122")
    oil.locator('input[name="unit"]').fill("degF")
    oil.locator("button").click()
    expect(page.locator("#station-message")).to_have_text(
        "Recorded cnc-1/oil_temperature = 50 degC"
    )
    wait_until(lambda: live(server, f"{CNC1}/oil_temperature") == pytest.approx(50.0), "the value")

    oil = page.locator(f'form.reading[data-tag="{CNC1}/oil_temperature"]')
    oil.locator('input[name="value"]').fill("95")
    oil.locator("button").click()
    expect(page.locator("#station-message")).to_contain_text(
        "Not recorded: site-1/machining/line-1/cnc-1/oil_temperature: "
        "95 degC is outside the range 10 to 80 degC"
    )
    oil = page.locator(f'form.reading[data-tag="{CNC1}/oil_temperature"]')
    oil.locator('input[name="value"]').fill("3")
    oil.locator('input[name="unit"]').fill("bar")
    oil.locator("button").click()
    expect(page.locator("#station-message")).to_contain_text("bar cannot be converted to degC")
    assert live(server, f"{CNC1}/oil_temperature") == pytest.approx(50.0)

    surface = page.locator(f'form.reading[data-tag="{CNC2}/surface"]')
    surface.locator("select").select_option("damaged")
    surface.locator("button").click()
    expect(page.locator("#station-message")).to_have_text("Recorded cnc-2/surface = 2")
    wait_until(lambda: live(server, f"{CNC2}/surface") == 2.0, "the enum state")
    failed = server.platform.audit.records(action="entry.reading", outcome="failed", actor="olga")
    assert len(failed) == 2


def test_start_of_shift_checklist_once_per_shift(page: Page, server: RunningServer) -> None:
    signed_in_as_operator(page, server)
    page.goto(f"/stations/{LINE}")
    form = page.locator('form.checklist[data-checklist="start-of-shift"]')
    form.locator('[data-item="guards"] input[value="yes"]').check()
    form.locator("button").click()
    expect(page.locator("#station-message")).to_contain_text("air: an answer is required")
    form = page.locator('form.checklist[data-checklist="start-of-shift"]')
    form.locator('[data-item="guards"] input[value="yes"]').check()
    form.locator('[data-item="air"] input').fill("6,2")
    form.locator("button").click()
    expect(page.locator("#station-message")).to_have_text("Checklist start-of-shift submitted")
    form = page.locator('form.checklist[data-checklist="start-of-shift"]')
    expect(form.locator(".done")).to_contain_text("Submitted by olga")
    expect(form.locator("button")).to_have_count(0)
    (done,) = server.platform.maintenance.entry.submissions(LINE)
    assert done.answers == {"guards": True, "air": 6.2}


def test_lockout_tagout_lets_a_job_start_and_scrap_is_booked(
    page: Page, server: RunningServer
) -> None:
    maintenance = server.platform.maintenance.service
    wo, _ = maintenance.request(asset=CNC2, kind="corrective", title="Coolant leak", by="mia")
    with server.client() as api:
        due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 8 * 3600))
        new = {"id": "PO-7", "product": "shaft", "quantity": 10, "due": due}
        assert api.post("/api/v1/orders", json=new).status_code == 201
        move = {"to": "running", "asset": CNC1}
        assert api.post("/api/v1/orders/PO-7/transition", json=move).status_code == 200
    maintenance.transition(wo.id, "approved", by="mia")
    refused = server.platform.maintenance.entry.config.for_work_orders(CNC2, "cnc-mill")
    assert [c.id for c in refused] == ["loto"]

    signed_in_as_operator(page, server)
    page.goto(f"/stations/{LINE}")
    loto = page.locator('form.checklist[data-checklist="loto"]')
    loto.locator('select[name="work_order"]').select_option(wo.id)
    loto.locator('[data-item="isolated"] input[value="yes"]').check()
    loto.locator('[data-item="tagged"] input[value="yes"]').check()
    loto.locator("button").click()
    expect(page.locator("#station-message")).to_have_text("Checklist loto submitted")
    loto = page.locator('form.checklist[data-checklist="loto"]')
    expect(loto.locator(f'option[value="{wo.id}"]')).to_have_count(0)  # taken: not offered

    scrap = page.locator("form.scrap")
    scrap.locator('select[name="asset"]').select_option(CNC1)
    scrap.locator('input[name="quantity"]').fill("2")
    scrap.locator('select[name="reason"]').select_option("surface")
    scrap.locator("button").click()
    expect(page.locator("#station-message")).to_have_text("Booked 2 scrap (surface) to PO-7")
    assert server.platform.mom.service.order("PO-7").scrap_total == 2
    scrap = page.locator("form.scrap")
    scrap.locator('select[name="reason"]').select_option("dimension")
    scrap.locator('input[name="quantity"]').fill("0")
    scrap.locator('input[name="quantity"]').evaluate("e => e.removeAttribute('min')")
    scrap.locator("button").click()
    expect(page.locator("#station-message")).to_contain_text("Not booked")
    assert server.platform.mom.service.order("PO-7").scrap_total == 2
