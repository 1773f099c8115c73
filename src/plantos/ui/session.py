"""Browser sessions: a one-time sign-in link becomes an HttpOnly cookie; pages need it.

The cookie holds a session token from :meth:`TokenStore.exchange_signin` and is
checked exactly like an API credential (``tokens.verify(token_of(request))``),
so the pages and the ``/api/v1`` routes they call agree on who is signed in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from plantos.api.auth import SESSION_COOKIE, platform_of, token_of
from plantos.core.errors import AuthError
from plantos.security import Identity
from plantos.security.tokens import SESSION_TTL_NS
from plantos.ui.render import page

SESSION_MAX_AGE_S = SESSION_TTL_NS // 1_000_000_000

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """A page was asked for without a valid session; answered with a redirect to sign in."""


def page_identity(request: Request) -> Identity:
    """Dependency of every page: the signed-in identity, or :class:`SignInRequired`."""
    try:
        identity = platform_of(request).tokens.verify(token_of(request))
    except AuthError:
        raise SignInRequired from None
    request.state.identity = identity
    return identity


async def redirect_to_signin(request: Request, exc: Exception) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    if SESSION_COOKIE in request.cookies:
        _clear_cookie(response, request)
    return response


def _clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _signed_in(request: Request) -> bool:
    try:
        platform_of(request).tokens.verify(token_of(request))
    except AuthError:
        return False
    return True


@router.get("/signin")
def signin(request: Request, token: str | None = None, signed_out: bool = False) -> Response:
    """Spend a one-time sign-in token for a session cookie, or explain how to get one."""
    if not token:
        if _signed_in(request) and not signed_out:
            return RedirectResponse("/", status_code=303)
        return page(
            request,
            "signin.html",
            {"reason": "signed_out" if signed_out else "missing"},
            status_code=401,
        )
    try:
        session = platform_of(request).tokens.exchange_signin(token)
    except AuthError:
        return page(request, "signin.html", {"reason": "invalid"}, status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    """Revoke the browser's session and forget the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        tokens = platform_of(request).tokens
        try:
            tokens.verify(token, kinds=("session",))
        except AuthError:
            pass
        else:
            tokens.revoke(token)
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    _clear_cookie(response, request)
    response.headers["Cache-Control"] = "no-store"
    return response
