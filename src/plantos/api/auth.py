"""Authentication for every route: a bearer token or the browser's session cookie."""

from __future__ import annotations

from fastapi import Request

from plantos.app import Platform
from plantos.security import Identity

SESSION_COOKIE = "plantos_session"


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential:
        return credential.strip()
    return request.cookies.get(SESSION_COOKIE)


def require_identity(request: Request) -> Identity:
    """Resolve the caller or raise :class:`AuthError` (answered 401 with the reason)."""
    identity = platform_of(request).tokens.verify(token_of(request))
    request.state.identity = identity
    return identity
