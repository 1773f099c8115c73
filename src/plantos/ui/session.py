"""Browser sessions: a password or a one-time sign-in link becomes an HttpOnly cookie.

The cookie holds a session token and is checked exactly like an API credential, so the
pages and the ``/api/v1`` routes they call agree on who is signed in. It is HttpOnly,
``SameSite=Strict`` and ``Secure`` when served over TLS; every state change from a page
also carries the session's CSRF token (:func:`plantos.api.auth.csrf_token`). The password
form has its own double-submit token, so another site cannot sign a browser into an
account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from plantos.api.auth import (
    PERMISSION_ATTR,
    SCOPE_ATTR,
    SESSION_COOKIE,
    authorised,
    platform_of,
    public,
    token_of,
)
from plantos.api.hardening import rate_limit
from plantos.core.errors import AuthError, PlantOSError
from plantos.security import ForbiddenError, Identity
from plantos.security.errors import LockedError
from plantos.security.tokens import SESSION_TTL_NS
from plantos.ui.render import page

SESSION_MAX_AGE_S = SESSION_TTL_NS // 1_000_000_000
LOGIN_COOKIE = "plantos_login"

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """A page was asked for without a valid session; answered with a redirect to sign in."""


class PageForbidden(Exception):
    """A signed-in person asked for a page or act their role or scope does not allow."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def page_require(permission: str, *, scope_from: Any) -> Any:
    """Like :func:`plantos.api.auth.require` for pages: no session goes to sign in, a
    refusal is a page that says why (and is audited like any refusal)."""

    async def dependency(request: Request) -> Identity:
        try:
            return await authorised(request, permission, scope_from)
        except AuthError:
            raise SignInRequired from None
        except ForbiddenError as exc:
            raise PageForbidden(str(exc)) from None

    setattr(dependency, PERMISSION_ATTR, permission)
    setattr(dependency, SCOPE_ATTR, scope_from)
    return Depends(dependency)


async def redirect_to_signin(request: Request, exc: Exception) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    if SESSION_COOKIE in request.cookies:
        _clear_cookie(response, request, SESSION_COOKIE)
    return response


async def forbidden_page(request: Request, exc: Exception) -> Response:
    reason = exc.reason if isinstance(exc, PageForbidden) else "not allowed"
    return page(request, "forbidden.html", {"reason": reason}, status_code=403)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def _signed_in(request: Request) -> bool:
    try:
        platform_of(request).tokens.verify(token_of(request))
    except AuthError:
        return False
    return True


def set_session_cookie(response: Response, request: Request, session: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over TLS, 12 hours."""
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.headers["Cache-Control"] = "no-store"


def _start_session(request: Request, session: str) -> Response:
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, session)
    _clear_cookie(response, request, LOGIN_COOKIE)
    return response


def _signin_page(request: Request, reason: str, *, status_code: int = 401) -> HTMLResponse:
    """The sign-in page with a fresh double-submit token in a cookie and in the form."""
    login = secrets.token_urlsafe(24)
    spec = platform_of(request).ot_writes.zoning.spec.oidc
    context = {"reason": reason, "login": login, "oidc": spec.label if spec else None}
    response = page(request, "signin.html", context, status_code=status_code)
    response.set_cookie(
        LOGIN_COOKIE, login, max_age=3600, path="/signin", httponly=True, samesite="strict",
        secure=_secure(request),
    )  # fmt: skip
    return response


@router.get("/signin")
def signin(
    request: Request,
    token: str | None = None,
    signed_out: bool = False,
    _: object = public("the way in for someone not signed in yet"),
) -> Response:
    """The password form; or spend a one-time sign-in token for a session cookie."""
    if not token:
        if _signed_in(request) and not signed_out:
            return RedirectResponse("/", status_code=303)
        return _signin_page(request, "signed_out" if signed_out else "missing")
    platform = platform_of(request)
    try:
        session = platform.tokens.exchange_signin(token)
    except AuthError as exc:
        platform.audit.append("anonymous", "auth.link", "", outcome="failed", reason=str(exc))
        return _signin_page(request, "invalid")
    who = platform.tokens.verify(session, kinds=("session",))
    platform.audit.append(who.subject, "auth.link", who.subject, role=who.role, scope=who.scope)
    return _start_session(request, session)


@router.post("/signin")
def signin_password(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    login: Annotated[str, Form(max_length=100)] = "",
    _: object = public("the password form posts here before anyone is signed in"),
) -> Response:
    """Check a user name and password; a session on success, the form again otherwise."""
    platform = platform_of(request)
    rate_limit(request, "signin")
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(login, expected):
        return _signin_page(request, "expired_form", status_code=403)
    try:
        user = platform.users.authenticate(username, password)
    except AuthError as exc:
        reason = "locked" if isinstance(exc, LockedError) else "wrong_password"
        platform.audit.append(
            username, "auth.password", username, outcome="failed", reason=str(exc),
            client=request.client.host if request.client else "",
        )  # fmt: skip
        return _signin_page(request, reason)
    session = platform.tokens.issue_session(user.name, user.role, scope=user.scope)
    platform.audit.append(user.name, "auth.password", user.name, role=user.role, scope=user.scope)
    return _start_session(request, session)


@router.post("/signout")
async def signout(
    request: Request, _: object = public("ending a session needs no permission")
) -> Response:
    """Revoke the browser's session and forget the cookie (needs the page's CSRF token,
    so another site cannot sign people out)."""
    token = request.cookies.get(SESSION_COOKIE)
    platform = platform_of(request)
    if token:
        try:
            who = await authorised(request, "plant:read", lambda r: None)
        except (AuthError, PlantOSError):
            pass
        else:
            platform.tokens.revoke(token)
            platform.audit.append(who.subject, "auth.signout", who.subject)
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    _clear_cookie(response, request, SESSION_COOKIE)
    response.headers["Cache-Control"] = "no-store"
    return response


def page_identity(request: Request) -> Identity:
    """Any signed-in person, whatever their role. Pages declare what they need with
    :func:`page_require` instead; a page with only this fails the route enumeration."""
    try:
        identity = platform_of(request).tokens.verify(token_of(request))
    except AuthError:
        raise SignInRequired from None
    request.state.identity = identity
    return identity
