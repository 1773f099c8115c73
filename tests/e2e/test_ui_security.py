"""The security pages in a real browser: password sign-in and its refusal, a viewer who
sees no acknowledge button and whose request the server refuses anyway, CSRF, the
administrator's users, tokens (shown once) and audit trail, zones and pending writes."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from plantos.analytics.alarms import AlarmDefinition, Priority
from plantos.app import Platform
from tests.e2e.conftest import P1
from tests.e2e.nav import nav_to
from tests.support.server import RunningServer

ALARM = f"{P1}/door-interlock"
PASSWORD = "a long enough password"


async def _raise(platform: Platform) -> None:
    alarms = platform.analytics.alarms
    if ALARM not in {d.alarm_id for d, _ in alarms.alarms()}:
        alarms.define(AlarmDefinition(ALARM, P1, Priority.HIGH, "door interlock open"))
    for event in alarms.condition(ALARM, True, platform.clock.now_ns()):
        await platform.emit(event)


def _sign_in_as(page: Page, server: RunningServer, name: str, role: str) -> None:
    page.goto(f"/signin?token={server.platform.tokens.issue_signin(name, role)}")
    assert page.url == f"{server.url}/"


def test_a_person_signs_in_with_a_password(page: Page, server: RunningServer) -> None:
    server.platform.users.add("vera", PASSWORD, "operator", scope="site-1")
    page.goto("/signin")
    page.fill("#username", "vera")
    page.fill("#password", "not the password")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_have_text("Wrong user name or password.")
    page.fill("#username", "vera")
    page.fill("#password", PASSWORD)
    page.click("#signin-submit")
    expect(page.locator(".who")).to_have_text("vera")
    assert page.url == f"{server.url}/"
    cookie = next(c for c in page.context.cookies() if c["name"] == "plantos_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    records = server.platform.audit.records(action="auth.password", actor="vera")
    assert [r.outcome for r in records][-2:] == ["failed", "ok"]


def test_a_viewer_sees_no_acknowledge_button_and_the_server_refuses_anyway(
    page: Page, server: RunningServer
) -> None:
    server.call(_raise(server.platform))
    _sign_in_as(page, server, "vic", "viewer")
    page.goto("/alarms")
    row = page.locator(f'tr[data-alarm="{ALARM}"]')
    expect(row).to_have_attribute("data-state", "active_unacknowledged")
    expect(row.locator("button.ack")).to_have_count(0)
    expect(row.locator("button.shelve")).to_have_count(0)
    expect(page.locator("nav.mainnav")).not_to_contain_text("Users")
    expect(page.locator("nav.mainnav")).not_to_contain_text("Connectors")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    refused = page.request.post(
        f"/alarms/{ALARM}/acknowledge", form={"csrf_token": csrf}, max_redirects=0
    )
    assert refused.status == 403 and "does not allow 'alarms:ack'" in refused.text().replace(
        "&#39;", "'"
    )
    api = page.request.post(f"/api/v1/alarms/{ALARM}/acknowledge", headers={"X-CSRF-Token": csrf})
    assert api.status == 403
    assert not server.platform.analytics.alarms.status(ALARM).acknowledged


def test_a_state_change_without_the_csrf_token_is_refused(
    signed_in: Page, server: RunningServer
) -> None:
    server.call(_raise(server.platform))
    forged = signed_in.request.post(f"/alarms/{ALARM}/acknowledge", form={}, max_redirects=0)
    assert forged.status == 403 and "CSRF" in forged.text()
    api = signed_in.request.post(f"/api/v1/alarms/{ALARM}/acknowledge")
    assert api.status == 403 and "CSRF" in api.json()["detail"]


def test_the_administrator_adds_a_user_and_issues_a_token_shown_once(
    signed_in: Page, server: RunningServer
) -> None:
    page = signed_in
    nav_to(page, "Users")
    form = page.locator("#add-user")
    form.locator("input[name=name]").fill("petra")
    form.locator("select[name=role]").select_option("planner")
    form.locator("input[name=scope]").fill("site-1/pressing")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button").click()
    expect(page.locator("#message")).to_have_text("added petra as planner")
    expect(page.locator('tr[data-user="petra"]')).to_contain_text("site-1/pressing")

    nav_to(page, "Tokens")
    issue = page.locator("#issue-token")
    issue.locator("input[name=name]").fill("mes-bridge")
    issue.locator("select[name=role]").select_option("integration")
    issue.locator("input[name=expires]").fill("30d")
    issue.locator("button").click()
    token = page.locator("#new-token").inner_text()
    assert re.fullmatch(r"pos_[\w-]{43}", token)
    assert server.platform.tokens.verify(token).role == "integration"
    page.goto("/tokens")
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()
    row = page.locator("tr", has_text="mes-bridge")
    row.locator("button.revoke").click()
    expect(page.locator("tr", has_text="mes-bridge")).to_contain_text("revoked")


def test_the_audit_page_filters_by_action_and_outcome(
    signed_in: Page, server: RunningServer
) -> None:
    server.platform.audit.append("someone", "access.denied", "GET /x", outcome="denied")
    page = signed_in
    nav_to(page, "Audit")
    filters = page.locator("#audit-filters")
    filters.locator("input[name=action]").fill("access.")
    filters.locator("select[name=outcome]").select_option("denied")
    filters.locator("button").click()
    rows = page.locator("#audit tbody tr")
    expect(rows.first).to_contain_text("access.denied")
    for outcome in rows.evaluate_all("rows => rows.map(r => r.dataset.outcome)"):
        assert outcome == "denied"


def test_zones_and_writes_say_that_nothing_enters_ot_here(signed_in: Page) -> None:
    page = signed_in
    nav_to(page, "Zones")
    expect(page.locator("#no-zones")).to_contain_text("PlantOS writes nothing into OT")
    nav_to(page, "Writes")
    expect(page.locator("#no-writes")).to_be_visible()
