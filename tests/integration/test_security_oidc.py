"""Signing in through an OpenID Connect provider: a small real provider (discovery, keys,
authorisation, token endpoint with PKCE) on a local port. A good ID token gives a session
with the grant from its claims; a token signed by another key, without a role claim, or a
callback this browser did not start is refused, and each attempt is audited."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Form
from fastapi.responses import RedirectResponse

from tests.support.server import SMALL_PLANT, RunningServer, free_port, running_server, wait_until

joserfc = pytest.importorskip("joserfc", reason="joserfc (with authlib) is not installed")
from joserfc import jwt  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402

CLIENT = "plantos"


class Provider:
    """Auto-approves whoever asks; signs ID tokens with ``key`` (or ``forger`` when told)."""

    def __init__(self, port: int) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "good"})
        self.forger = RSAKey.generate_key(2048, parameters={"kid": "good"})
        self.claims: dict[str, Any] = {}
        self.forge = False
        self.codes: dict[str, dict[str, str]] = {}
        self.app = FastAPI()
        self.app.get("/.well-known/openid-configuration")(self.discovery)
        self.app.get("/jwks")(self.jwks)
        self.app.get("/authorize")(self.authorize)
        self.app.post("/token")(self.token)

    def discovery(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def authorize(
        self, redirect_uri: str, state: str, nonce: str, code_challenge: str, client_id: str
    ) -> RedirectResponse:
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": nonce, "challenge": code_challenge, "client": client_id}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    def token(
        self, code: str = Form(), code_verifier: str = Form(), client_id: str = Form()
    ) -> dict[str, str]:
        asked = self.codes.pop(code)
        digest = hashlib.sha256(code_verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != asked["challenge"]:
            raise ValueError("PKCE verifier does not match")
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": client_id, "sub": "u-42", "nonce": asked["nonce"],
                  "iat": now, "exp": now + 300} | self.claims  # fmt: skip
        key = self.forger if self.forge else self.key
        return {"id_token": jwt.encode({"alg": "RS256", "kid": "good"}, claims, key),
                "token_type": "Bearer", "access_token": "unused"}  # fmt: skip


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    port = free_port()
    idp = Provider(port)
    server = uvicorn.Server(
        uvicorn.Config(idp.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the identity provider")
    yield idp
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def server(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    port = free_port()
    plant = SMALL_PLANT + (
        "security:\n  oidc:\n"
        f"    issuer: {provider.issuer}\n    client_id: {CLIENT}\n"
        f"    redirect_url: http://127.0.0.1:{port}/signin/oidc/callback\n"
    )
    with running_server(tmp_path_factory.mktemp("oidc"), plant, port=port) as running:
        yield running


def _browser(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)


def test_the_sign_in_page_offers_the_provider(server: RunningServer) -> None:
    page = httpx.get(f"{server.url}/signin").text
    assert 'href="/signin/oidc"' in page and "Sign in with your company account" in page


def test_a_valid_id_token_gives_a_session_with_its_grant(
    server: RunningServer, provider: Provider
) -> None:
    provider.claims = {"preferred_username": "olga", "plantos_role": "operator",
                       "plantos_scope": "site-1/mixing"}  # fmt: skip
    with _browser(server) as browser:
        answer = browser.get("/signin/oidc")
        assert answer.status_code == 200 and 'http-equiv="refresh"' in answer.text
        status = browser.get("/api/v1/status").json()
    assert (status["identity"], status["role"], status["scope"]) == (
        "oidc:olga", "operator", "site-1/mixing",
    )  # fmt: skip
    [record] = server.platform.audit.records(action="auth.oidc", outcome="ok")
    assert record.actor == "oidc:olga"


@pytest.mark.parametrize(
    ("claims", "forge", "reason"),
    [
        ({"plantos_role": "admin"}, True, "not valid"),
        ({"preferred_username": "x"}, False, "no 'plantos_role' claim"),
        ({"plantos_role": "superuser"}, False, "unknown role 'superuser'"),
    ],
)
def test_a_bad_id_token_is_refused(
    server: RunningServer, provider: Provider, claims: dict[str, str], forge: bool, reason: str
) -> None:
    provider.claims, provider.forge = claims, forge
    with _browser(server) as browser:
        answer = browser.get("/signin/oidc")
        assert answer.status_code == 401 and reason in answer.text.replace("&#39;", "'")
        assert browser.get("/api/v1/status").status_code == 401
    provider.forge = False
    failed = server.platform.audit.records(action="auth.oidc", outcome="failed")
    assert reason in failed[-1].detail["reason"]


def test_a_callback_this_browser_did_not_start_is_refused(server: RunningServer) -> None:
    answer = httpx.get(f"{server.url}/signin/oidc/callback", params={"state": "x", "code": "y"})
    assert answer.status_code == 401 and "not started in this browser" in answer.text
