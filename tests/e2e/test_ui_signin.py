"""Signing in with a one-time link, signing out, and pages closed to strangers."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import RunningServer


def test_unauthenticated_plant_page_redirects_to_signin(
    page: Page, server: RunningServer, tmp_path: Path
) -> None:
    raw = httpx.get(f"{server.url}/", follow_redirects=False)
    assert raw.status_code == 303
    assert raw.headers["location"] == "/signin"

    response = page.goto("/")
    assert response is not None and response.status == 401
    assert page.url == f"{server.url}/signin"
    expect(page.get_by_role("heading", name="Sign in to PlantOS")).to_be_visible()
    expect(page.locator("main")).to_contain_text("plantos signin-link --data-dir DIR")
    page.screenshot(path=tmp_path / "signin.png", full_page=True)


def test_trend_page_also_needs_a_session(page: Page, server: RunningServer) -> None:
    page.goto("/trend?tag=site-1/pressing/line-1/press-1/temperature")
    assert page.url == f"{server.url}/signin"


def test_signin_link_signs_in_once(page: Page, server: RunningServer) -> None:
    link = server.signin_link()
    page.goto(link)
    assert page.url == f"{server.url}/"
    expect(page.locator(".enterprise")).to_have_text("Test Components Ltd")
    cookie = next(c for c in page.context.cookies() if c["name"] == "plantos_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert abs(cookie["expires"] - (time.time() + 12 * 3600)) < 300

    other = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        again = other.new_page()
        response = again.goto(link)
        assert response is not None and response.status == 401
        expect(again.get_by_role("alert")).to_contain_text("invalid or has already been used")
        expect(again.locator("main")).to_contain_text("plantos signin-link --data-dir")
        assert not [c for c in other.cookies() if c["name"] == "plantos_session"]
    finally:
        other.close()


def test_signing_out_returns_to_signin_and_ends_the_session(
    signed_in: Page, server: RunningServer
) -> None:
    page = signed_in
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "plantos_session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to PlantOS")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    assert not [c for c in page.context.cookies() if c["name"] == "plantos_session"]

    page.goto("/")
    assert page.url == f"{server.url}/signin"
    revoked = httpx.get(f"{server.url}/api/v1/status", cookies={"plantos_session": session})
    assert revoked.status_code == 401
