"""The demo plant's clipboards and plans, served from ``examples/demo-plant`` as
``plantos demo`` loads it: every line has a start-of-shift checklist, every machine a
lock-out/tag-out before a job, every mill two readings with units and limits, the
scrap reasons are there, and the mills have preventive plans by the calendar and by
running hours. In a browser, an operator reaches line 1's station through the menus and
finds the checklist and the reading forms, and records a reading."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DEMO_PLANT
from tests.e2e.nav import nav_to
from tests.support.server import RunningServer, running_server, wait_until

LINE = "plant-a/machining/line-1"
CNC7 = f"{LINE}/cnc-07"
READINGS = {"coolant_concentration": "percent", "hydraulic_oil_level": "percent"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("demo-station")
    (folder / "mom.yaml").write_text((DEMO_PLANT.parent / "mom.yaml").read_text())
    with running_server(folder, DEMO_PLANT.read_text()) as running:
        wait_until(
            lambda: httpx.get(f"{running.url}/signin").status_code == 401, "the sign-in page"
        )
        yield running


def test_every_line_has_its_checklists_every_mill_its_readings_and_plans(
    server: RunningServer,
) -> None:
    plant = server.platform.plant
    lines = [n.path for n in plant.iter_nodes() if n.level == "line"]
    mills = {p for p, a in plant.assets.items() if a.type in ("cnc-mill", "cnc-mill-online")}
    with server.client() as api:
        for line in lines:
            entry = api.get(f"/api/v1/stations/{line}/entry").json()
            assert {c["id"]: c["when"] for c in entry["checklists"]} == {
                "start-of-shift": "shift-start",
                "loto": "work-order-start",
            }, line
            assert {"dimension", "surface"} <= set(entry["scrap_reasons"]), line
            readings = {(r["asset"], r["signal"]): r for r in entry["readings"]}
            for mill in (m for m in mills if m.startswith(line + "/")):
                for signal, unit in READINGS.items():
                    reading = readings[(mill, signal)]
                    assert reading["unit"] == unit and reading["range"], reading
        plans = api.get("/api/v1/maintenance/plans").json()["plans"]
    kinds = {(p["asset"], p["meter"] or p["kind"]) for p in plans}
    assert {(CNC7, "calendar"), (CNC7, "hours")} <= kinds, kinds
    assert {p["asset"] for p in plans} <= mills
    assert all(p["work_order"] is None for p in plans)  # none is due in a fresh demo


def test_an_operator_finds_the_checklist_and_records_a_reading_on_line_1(
    page: Page, server: RunningServer
) -> None:
    token = server.platform.tokens.issue_signin("otto", "operator", scope=LINE)
    page.goto(f"{server.url}/signin?token={token}")
    nav_to(page, "Stations")
    page.locator(f'tr[data-line="{LINE}"] a.station').click()
    expect(page.locator("h1")).to_have_text(f"Station {LINE}")

    shift = page.locator('form.checklist[data-checklist="start-of-shift"]')
    expect(shift.locator("h3")).to_have_text("Start of shift")
    expect(shift.locator('[data-item="air"] .limits')).to_have_text("5 to 7 bar")
    expect(page.locator('form.checklist[data-checklist="loto"] h3')).to_have_text(
        "Lock-out/tag-out"
    )
    coolant = page.locator(f'form.reading[data-tag="{CNC7}/coolant_concentration"]')
    expect(coolant.locator(".limits")).to_have_text("float, 0 to 15 percent")
    expect(page.locator("form.reading")).to_have_count(2 * 8)
    coolant.locator('input[name="value"]').fill("7,5")
    coolant.locator("button").click()
    expect(page.locator("#station-message")).to_have_text(
        "Recorded cnc-07/coolant_concentration = 7.5 percent"
    )
    tag = server.platform.tag_ids[f"{CNC7}/coolant_concentration"]
    wait_until(lambda: server.platform.live.get(tag) is not None, "the reading")
    expect(page.locator('form.scrap select[name="reason"] option[value="setup"]')).to_have_count(1)

    nav_to(page, "Preventive plans")
    expect(page.locator('#plans tr[data-plan="cnc-07-spindle"] .every')).to_contain_text("2000")
    expect(page.locator('#plans tr[data-plan="cnc-07-ways"] .every')).to_contain_text("14 d")
