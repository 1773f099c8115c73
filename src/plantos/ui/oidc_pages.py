"""Signing in through the plant's identity provider: ``/signin/oidc`` sends the browser
there, ``/signin/oidc/callback`` takes it back and starts a session.

The callback arrives from another site, so the cookie that binds the sign-in to this
browser is ``SameSite=Lax`` (sent on that top-level navigation), and the answer is a page
that moves on to ``/`` itself: a ``Strict`` session cookie is not sent on a redirect that
began on another site.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from plantos.api.auth import platform_of, public
from plantos.api.hardening import rate_limit
from plantos.core.clock import WallClock
from plantos.core.errors import AuthError
from plantos.security.oidc import OidcClient
from plantos.ui.render import page
from plantos.ui.session import set_session_cookie

router = APIRouter(include_in_schema=False)

STATE_COOKIE = "plantos_oidc"


def oidc_client(request: Request) -> OidcClient | None:
    """The provider of the plant file, if any (one client per application)."""
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    spec = platform_of(request).ot_writes.zoning.spec.oidc
    if client is None and spec is not None:
        client = request.app.state.oidc = OidcClient(spec.settings(), WallClock())
    return client


@router.get("/signin/oidc")
async def oidc_start(
    request: Request, _: object = public("the way to the identity provider")
) -> Response:
    client = oidc_client(request)
    if client is None:
        return page(request, "signin.html", {"reason": "no_oidc", "login": ""}, status_code=404)
    rate_limit(request, "signin")
    try:
        url, state = await client.start()
    except (AuthError, OSError) as exc:
        return _refused(request, f"the identity provider cannot be reached: {exc}")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE, state, max_age=600, path="/signin/oidc", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/signin/oidc/callback")
async def oidc_callback(
    request: Request,
    state: str = "",
    code: str = "",
    _: object = public("the identity provider sends the browser back here"),
) -> Response:
    client = oidc_client(request)
    platform = platform_of(request)
    if client is None:
        return _refused(request, "no identity provider is configured")
    try:
        grant = await client.finish(
            state=state, code=code, browser_state=request.cookies.get(STATE_COOKIE)
        )
    except (AuthError, OSError) as exc:
        platform.audit.append("anonymous", "auth.oidc", "", outcome="failed", reason=str(exc))
        return _refused(request, str(exc))
    session = platform.tokens.issue_session(grant.subject, grant.role, scope=grant.scope)
    platform.audit.append(grant.subject, "auth.oidc", grant.subject, role=grant.role,
                          scope=grant.scope)  # fmt: skip
    response = page(request, "signed_in.html", {}, status_code=200)
    set_session_cookie(response, request, session)
    response.delete_cookie(STATE_COOKIE, path="/signin/oidc")
    return response


def _refused(request: Request, reason: str) -> Response:
    context = {"reason": "oidc_failed", "oidc_reason": reason, "login": ""}
    return page(request, "signin.html", context, status_code=401)
