"""Signing in through the plant's identity provider (OpenID Connect, code flow with PKCE).

PlantOS sends the browser to the provider with a fresh ``state``, ``nonce`` and PKCE
challenge, takes the code back, exchanges it for an ID token, and accepts the token only
if the provider's published key signed it, it names this provider and this client, carries
the nonce, and has not expired. The grant comes from two claims the provider adds
(``plantos_role``, ``plantos_scope`` by default); a person without a valid role claim is
refused, never given a default. ``joserfc`` (with authlib) is needed only when a plant
configures a provider.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from plantos.core.clock import Clock
from plantos.core.errors import AuthError
from plantos.core.timeunits import NS_PER_S as NS
from plantos.security.roles import check_role
from plantos.security.scope import parse_scope

PENDING_TTL_NS = 10 * 60 * NS
MAX_PENDING = 1000
ALGORITHMS = ["RS256", "ES256", "PS256"]


@dataclass(frozen=True, slots=True)
class OidcSettings:
    issuer: str
    client_id: str
    redirect_url: str
    client_secret_env: str | None = None
    role_claim: str = "plantos_role"
    scope_claim: str = "plantos_scope"
    label: str = "Sign in with your company account"


@dataclass(frozen=True, slots=True)
class OidcGrant:
    subject: str
    role: str
    scope: str


@dataclass
class _Pending:
    nonce: str
    verifier: str
    created_ns: int


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class OidcClient:
    """One provider; keeps the sign-ins under way (in memory: a restart asks again)."""

    settings: OidcSettings
    clock: Clock
    timeout_s: float = 10.0
    _pending: dict[str, _Pending] = field(default_factory=dict)

    async def _get(self, url: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            response = await client.get(url)
        if response.status_code != 200:
            raise AuthError(f"identity provider answered {response.status_code} for {url}")
        answer: dict[str, Any] = response.json()
        return answer

    async def _metadata(self) -> dict[str, Any]:
        issuer = self.settings.issuer.rstrip("/")
        meta = await self._get(f"{issuer}/.well-known/openid-configuration")
        if str(meta.get("issuer", "")).rstrip("/") != issuer:
            raise AuthError("the identity provider names another issuer than configured")
        return meta

    async def start(self) -> tuple[str, str]:
        """The provider's authorisation URL to send the browser to, and its ``state``."""
        meta = await self._metadata()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        now = self.clock.now_ns()
        self._pending = {
            s: p for s, p in self._pending.items() if now - p.created_ns < PENDING_TTL_NS
        }
        if len(self._pending) >= MAX_PENDING:
            raise AuthError("too many sign-ins under way: try again in a few minutes")
        self._pending[state] = _Pending(nonce, verifier, now)
        query = urlencode({
            "response_type": "code", "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_url, "scope": "openid profile email",
            "state": state, "nonce": nonce, "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        })  # fmt: skip
        return f"{meta['authorization_endpoint']}?{query}", state

    async def finish(self, *, state: str, code: str, browser_state: str | None) -> OidcGrant:
        """Check the answer that came back through the browser and return the grant."""
        pending = self._pending.pop(state, None)
        if pending is None or browser_state != state:
            raise AuthError("this sign-in was not started in this browser, or it expired")
        if self.clock.now_ns() - pending.created_ns > PENDING_TTL_NS:
            raise AuthError("this sign-in took longer than ten minutes: start again")
        meta = await self._metadata()
        id_token = await self._exchange(meta["token_endpoint"], code, pending.verifier)
        claims = await self._verify(id_token, meta["jwks_uri"], pending.nonce)
        return self._grant(claims)

    async def _exchange(self, token_endpoint: str, code: str, verifier: str) -> str:
        form = {
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": self.settings.redirect_url, "client_id": self.settings.client_id,
        }  # fmt: skip
        auth: tuple[str | bytes, str | bytes] | None = None
        if self.settings.client_secret_env:
            secret = os.environ.get(self.settings.client_secret_env)
            if not secret:
                raise AuthError(f"environment variable {self.settings.client_secret_env} is unset")
            auth = (self.settings.client_id, secret)
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            if auth is None:
                response = await client.post(token_endpoint, data=form)
            else:
                response = await client.post(token_endpoint, data=form, auth=auth)
        if response.status_code != 200:
            raise AuthError(f"the identity provider refused the code ({response.status_code})")
        token = response.json().get("id_token")
        if not isinstance(token, str):
            raise AuthError("the identity provider sent no ID token")
        return token

    async def _verify(self, id_token: str, jwks_uri: str, nonce: str) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet
        from joserfc.jwt import JWTClaimsRegistry

        published: Any = await self._get(jwks_uri)
        keys = KeySet.import_key_set(published)
        registry = JWTClaimsRegistry(
            now=lambda: self.clock.now_ns() // NS,
            leeway=60,
            iss={"essential": True, "value": self.settings.issuer.rstrip("/")},
            aud={"essential": True, "value": self.settings.client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
            exp={"essential": True},
        )
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise AuthError(f"the ID token is not valid: {exc}") from None
        claims: dict[str, Any] = token.claims
        return claims

    def _grant(self, claims: dict[str, Any]) -> OidcGrant:
        role = claims.get(self.settings.role_claim)
        try:
            role = check_role(str(role)) if role else None
            scope = parse_scope(str(claims.get(self.settings.scope_claim) or ""))
        except ValueError as exc:
            raise AuthError(f"the identity provider's grant is not usable: {exc}") from None
        if role is None:
            raise AuthError(f"the identity provider gave no {self.settings.role_claim!r} claim")
        name = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        return OidcGrant(f"oidc:{name}", role, scope)
