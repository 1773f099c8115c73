"""Hardening of a real server: body size limit, security headers on every answer (a CSP
without inline script on pages), rate limits at the sign-in door, and schemathesis against
the OpenAPI document finding no 5xx answer (test_security_schemathesis.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from plantos.api.hardening import LIMITS, MAX_BODY_BYTES
from plantos.ui.render import HERE
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("hardening"), MIXER_OEE_PLANT) as running:
        yield running


def _auth(server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_token}"}


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: RunningServer) -> None:
    big = b"x" * (MAX_BODY_BYTES + 1)
    declared = httpx.post(f"{server.url}/api/v1/tokens", content=big, headers=_auth(server))
    assert declared.status_code == 413 and "larger than" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"y" * 65536

    streamed = httpx.post(
        f"{server.url}/api/v1/tokens",
        content=chunks(),
        headers=_auth(server) | {"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_every_answer_carries_the_security_headers(server: RunningServer) -> None:
    for url in ("/api/v1/plant", "/api/v1/nothing-here", "/metrics", "/signin"):
        response = httpx.get(server.url + url, headers=_auth(server))
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert response.headers["x-frame-options"] == "DENY", url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], url
        assert "strict-transport-security" not in response.headers  # only over TLS


def test_pages_allow_no_inline_script(server: RunningServer) -> None:
    csp = httpx.get(f"{server.url}/signin").headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]+)", csp)
    assert script_src is not None and script_src[1].strip() == "'self'"
    for template in (HERE / "templates").glob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{template.name}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: inline handler"
        assert "javascript:" not in text, template.name


def test_the_signin_door_is_rate_limited(server: RunningServer) -> None:
    limit, _window = LIMITS["signin"]
    with httpx.Client(base_url=server.url) as browser:
        answers = [
            browser.post("/signin", data={"username": "x", "password": "y", "login": "z"})
            for _ in range(limit + 1)
        ]
    assert [a.status_code for a in answers[:limit]] == [403] * limit  # stale form
    assert answers[-1].status_code == 429 and "try again in" in answers[-1].json()["detail"]


def test_a_guesser_of_tokens_is_slowed_down(server: RunningServer) -> None:
    limit, _window = LIMITS["bad-credentials"]
    with httpx.Client(base_url=server.url) as guesser:
        codes = [
            guesser.get(
                "/api/v1/plant", headers={"Authorization": f"Bearer pos_guess{i}"}
            ).status_code
            for i in range(limit + 1)
        ]
    assert codes[:limit] == [401] * limit and codes[-1] == 429
    failed = server.platform.audit.records(action="auth.failed")
    assert len(failed) == limit  # the refused guesses are answered, not written down
