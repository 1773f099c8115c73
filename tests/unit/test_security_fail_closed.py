"""A route added without a declared permission is closed to all but an administrator of
the whole enterprise, and the refusal is audited: a forgotten guard is never a hole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from plantos.api.fail_closed import unguarded_routes
from plantos.app import Platform, Settings, create_app
from tests.support.server import SMALL_PLANT


@pytest.fixture
def app(tmp_path: Path) -> tuple[FastAPI, Platform]:
    (tmp_path / "plantos.yaml").write_text(SMALL_PLANT)
    platform = Platform(Settings(config=tmp_path / "plantos.yaml", data_dir=tmp_path / "d"))
    app = create_app(platform)

    @app.post("/api/v1/forgotten/{thing}")
    def forgotten(thing: str) -> dict[str, str]:
        return {"thing": thing}

    return app, platform


def test_only_the_unguarded_route_is_found(app: tuple[FastAPI, Platform]) -> None:
    found = unguarded_routes(app[0].routes)
    assert [(sorted(m), p) for m, _, p in found] == [(["POST"], "/api/v1/forgotten/{thing}")]


def test_an_unguarded_route_is_closed_to_all_but_an_administrator(
    app: tuple[FastAPI, Platform],
) -> None:
    fastapi_app, platform = app

    def call(method: str, url: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=fastapi_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.request(method, url, headers=headers)

        return asyncio.run(go())

    assert call("POST", "/api/v1/forgotten/x").status_code == 401
    for role, scope in (("operator", ""), ("admin", "site-1")):
        token = platform.tokens.issue_api_token("someone", role, scope=scope)
        refused = call("POST", "/api/v1/forgotten/x", token)
        assert refused.status_code == 403
        assert "declares no permission yet" in refused.json()["detail"]
    admin = platform.tokens.issue_api_token("ada", "admin")
    allowed = call("POST", "/api/v1/forgotten/x", admin)
    assert allowed.status_code == 200 and allowed.json() == {"thing": "x"}
    denied = platform.audit.records(action="access.denied")
    assert len(denied) == 2 and denied[0].detail["permission"] == "undeclared"
    assert call("GET", "/api/v1/plant", admin).status_code == 200


def test_an_administrators_browser_needs_a_same_origin_request(
    app: tuple[FastAPI, Platform],
) -> None:
    fastapi_app, platform = app
    session = platform.tokens.issue_session("ada", "admin")

    def post(headers: dict[str, str]) -> int:
        async def go() -> int:
            transport = httpx.ASGITransport(app=fastapi_app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", cookies={"plantos_session": session}
            ) as client:
                return (await client.post("/api/v1/forgotten/x", headers=headers)).status_code

        return asyncio.run(go())

    assert post({}) == 403  # another site's form, or a script outside the browser
    assert post({"Sec-Fetch-Site": "cross-site"}) == 403
    assert post({"Sec-Fetch-Site": "same-origin"}) == 200
