"""Authentication and authorisation of every route, declared in one place: ``require``.

Each route names the permission it needs and where its plant scope comes from::

    @router.post("/alarms/{alarm_id:path}/acknowledge")
    async def acknowledge(identity: Identity = require("alarms:ack", scope_from=alarm_scope)):

``scope_from`` is a function of the request giving the plant path the act touches,
:data:`ENTERPRISE_WIDE` for what belongs to the whole enterprise, or :data:`FILTERED`
when the handler itself keeps to the caller's scope (lists, the live stream). A route
without ``require`` (or :func:`public`) fails the route-enumeration test.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Depends, Request

from plantos.api.errors import register_status
from plantos.api.hardening import rate_limit
from plantos.api.ports import PlatformPort
from plantos.core.clock import WallClock
from plantos.core.errors import AuthError
from plantos.security import Identity
from plantos.security.authz import authorize
from plantos.security.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    LockedError,
    TooManyRequestsError,
)
from plantos.security.roles import check_permission
from plantos.security.scope import ENTERPRISE

SESSION_COOKIE = "plantos_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PERMISSION_ATTR = "plantos_permission"
"""Attribute of a ``require`` dependency naming its permission (the route enumeration reads it)."""
SCOPE_ATTR = "plantos_scope_from"
"""Attribute of a ``require`` dependency holding its ``scope_from`` (for the same test)."""
SOURCE_ATTR = "plantos_source"
"""Attribute of a ``path_param``/``query_param`` scope: where the path comes from."""
PUBLIC = "public"

register_status(ForbiddenError, 403, "Forbidden")
register_status(LockedError, 401, "Account locked")
register_status(ConflictError, 409, "Conflict")
register_status(TooManyRequestsError, 429, "Too many requests")
register_status(InvalidError, 400, "Invalid request")

ScopeFrom = Callable[[Request], str]


def ENTERPRISE_WIDE(request: Request) -> str:
    """Scope of platform-wide things (status details, connectors, users, the audit trail)."""
    return ENTERPRISE


def FILTERED(request: Request) -> str | None:
    """The handler keeps to the caller's scope itself; only the role is checked up front."""
    return None


def path_param(name: str) -> ScopeFrom:
    """Scope from a path parameter holding a plant path (a tag, an asset)."""

    def scope(request: Request) -> str:
        return str(request.path_params.get(name, "")).strip("/")

    setattr(scope, SOURCE_ATTR, ("path", name))
    return scope


def query_param(name: str) -> ScopeFrom:
    """Scope from a query parameter holding a plant path; missing means the enterprise."""

    def scope(request: Request) -> str:
        return request.query_params.get(name, "").strip("/")

    setattr(scope, SOURCE_ATTR, ("query", name))
    return scope


def platform_of(request: Request) -> PlatformPort:
    platform: PlatformPort = request.app.state.platform
    return platform


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential:
        return credential.strip()
    return request.cookies.get(SESSION_COOKIE)


def csrf_token(session_token: str) -> str:
    """The CSRF token of a browser session: derived from the session secret, so it needs no
    storage, and unknown to another site, which cannot read the HttpOnly cookie."""
    return hmac.new(session_token.encode(), b"plantos-csrf", hashlib.sha256).hexdigest()


async def check_csrf(request: Request, identity: Identity) -> None:
    """A state change from a browser session must carry the session's CSRF token (header
    ``X-CSRF-Token`` or form field ``csrf_token``); bearer tokens are not sent by browsers
    on their own, so they need none."""
    if identity.kind != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = csrf_token(request.cookies.get(SESSION_COOKIE, ""))
    if not sent or not hmac.compare_digest(sent, expected):
        raise ForbiddenError("missing or wrong CSRF token: reload the page and try again")


def authenticate(request: Request) -> Identity:
    """The caller, or :class:`AuthError` (answered 401). A credential that was sent but is
    wrong is audited; a request without any is just anonymous."""
    platform = platform_of(request)
    token = token_of(request)
    try:
        identity = platform.tokens.verify(token)
    except AuthError as exc:
        if token:
            rate_limit(request, "bad-credentials")  # a guesser is answered 429, not audited
            platform.audit.append(
                "anonymous", "auth.failed", request.url.path, outcome="failed", reason=str(exc)
            )
        raise
    request.state.identity = identity
    if identity.kind == "api":
        _note_token_use(request, identity)
    return identity


_WALL = WallClock()
TOKEN_USE_EVERY_NS = 3600 * 1_000_000_000
"""An API token's use is audited at most once an hour per token: enough to see which
integration was active when, without a record per request."""


def _note_token_use(request: Request, identity: Identity) -> None:
    platform = platform_of(request)
    noted: dict[str, int] | None = getattr(request.app.state, "token_use", None)
    if noted is None:
        noted = request.app.state.token_use = {}
    now = _WALL.now_ns()
    last = noted.get(identity.token_id)
    if last is not None and now - last < TOKEN_USE_EVERY_NS:
        return
    noted[identity.token_id] = now
    route = f"{request.method} {request.url.path}"
    platform.audit.append(identity.subject, "token.use", identity.token_id, route=route)


async def authorised(
    request: Request, permission: str, scope_from: Callable[[Request], str | None]
) -> Identity:
    """Authenticate, check CSRF, then the permission over the scope; a refusal is audited."""
    identity = authenticate(request)
    try:
        await check_csrf(request, identity)
        authorize(identity, permission, scope_from(request))
    except ForbiddenError as exc:
        platform_of(request).audit.append(
            identity.subject,
            "access.denied",
            f"{request.method} {request.url.path}",
            outcome="denied",
            permission=permission,
            reason=str(exc),
        )
        raise
    return identity


def require(permission: str, *, scope_from: Callable[[Request], str | None]) -> Any:
    """The dependency of a route that needs ``permission`` over ``scope_from(request)``;
    it resolves to the caller's :class:`Identity`."""
    check_permission(permission)

    async def dependency(request: Request) -> Identity:
        return await authorised(request, permission, scope_from)

    setattr(dependency, PERMISSION_ATTR, permission)
    setattr(dependency, SCOPE_ATTR, scope_from)
    return Depends(dependency)


def public(why: str) -> Any:
    """The dependency that marks a route open to anyone on purpose (``why`` says why), so
    the route enumeration can tell it from a forgotten guard."""

    def dependency() -> None:
        return None

    setattr(dependency, PERMISSION_ATTR, PUBLIC)
    dependency.__doc__ = why
    return Depends(dependency)


def require_identity(request: Request) -> Identity:
    """Any signed-in caller, whatever its role: only for routes every role may use."""
    return authenticate(request)


@contextmanager
def invalid_as_400() -> Iterator[None]:
    """Turn the :class:`ValueError` of a domain check (role, scope, password, lifetime)
    into :class:`InvalidError`, answered 400 with its message."""
    try:
        yield
    except ValueError as exc:
        raise InvalidError(str(exc)) from None
