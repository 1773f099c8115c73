"""The administrator's pages: users and their grants, API tokens (a new one shown once, on
the page that issued it, never in a URL), and the audit trail with filters.

Every change goes through the same stores and is audited like the API's, in the signed-in
administrator's name; forms carry the session's CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from plantos.api.audit import filtered
from plantos.api.auth import ENTERPRISE_WIDE, platform_of
from plantos.api.tokens import token_entry
from plantos.api.users import user_entry
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import iso, parse_duration_ns
from plantos.security import Identity
from plantos.security.roles import ROLES
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)

USERS = page_require("users:admin", scope_from=ENTERPRISE_WIDE)
TOKENS = page_require("tokens:admin", scope_from=ENTERPRISE_WIDE)


def _back(where: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{where}?message={quote(message)}", status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, message: str = "", identity: Identity = USERS) -> HTMLResponse:
    users = [user_entry(u) for u in platform_of(request).users.list()]
    return page(request, "users.html", {"users": users, "roles": list(ROLES), "message": message})


@router.post("/users")
def add_user_form(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=32)],
    scope: Annotated[str, Form(max_length=512)] = "",
    identity: Identity = USERS,
) -> RedirectResponse:
    platform = platform_of(request)
    try:
        user = platform.users.add(name, password, role, scope=scope)
    except (ValueError, PlantOSError) as exc:
        return _back("/users", f"not added: {exc}")
    platform.audit.append(identity.subject, "user.add", user.name, role=user.role, scope=user.scope)
    return _back("/users", f"added {user.name} as {user.role}")


@router.post("/users/{name}/{action}")
def user_state_form(
    request: Request, name: str, action: str, identity: Identity = USERS
) -> RedirectResponse:
    """Disable (ending the user's sessions) or enable a user."""
    platform = platform_of(request)
    if action not in ("disable", "enable") or (action == "disable" and name == identity.subject):
        return _back("/users", f"cannot {action} {name}")
    try:
        platform.users.set_disabled(name, action == "disable")
    except LookupError as exc:
        return _back("/users", str(exc).strip('"'))
    ended = platform.tokens.end_sessions(name) if action == "disable" else 0
    platform.audit.append(identity.subject, f"user.{action}", name, sessions_ended=ended)
    return _back("/users", f"{name}: {action}d")


def _tokens_page(request: Request, extra: dict[str, Any]) -> HTMLResponse:
    tokens = [token_entry(t) for t in platform_of(request).tokens.list()]
    context = {"tokens": tokens, "roles": list(ROLES), "message": "", "new_token": None}
    return page(request, "tokens.html", context | extra)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, message: str = "", identity: Identity = TOKENS) -> HTMLResponse:
    return _tokens_page(request, {"message": message})


@router.post("/tokens", response_class=HTMLResponse)
def issue_token_form(
    request: Request,
    role: Annotated[str, Form(max_length=32)],
    scope: Annotated[str, Form(max_length=512)] = "",
    expires: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    identity: Identity = TOKENS,
) -> HTMLResponse:
    """Issue a token and show it on this answer only (``Cache-Control: no-store``)."""
    platform = platform_of(request)
    try:
        ttl_ns = parse_duration_ns(expires) if expires else None
        token, token_id = platform.tokens.issue(
            "api", name or identity.subject, role, scope=scope, ttl_ns=ttl_ns, name=name
        )
    except (ValueError, PlantOSError) as exc:
        return _tokens_page(request, {"message": f"not issued: {exc}"})
    platform.audit.append(identity.subject, "token.issue", token_id, role=role, scope=scope,
                          name=name, expires=expires or None)  # fmt: skip
    return _tokens_page(request, {"new_token": token, "message": f"issued {token_id}"})


@router.post("/tokens/{token_id}/revoke")
def revoke_token_form(
    request: Request, token_id: str, identity: Identity = TOKENS
) -> RedirectResponse:
    platform = platform_of(request)
    try:
        platform.tokens.revoke_id(token_id)
    except ValueError as exc:
        return _back("/tokens", str(exc))
    platform.audit.append(identity.subject, "token.revoke", token_id)
    return _back("/tokens", f"revoked {token_id}")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    outcome: str = "",
    start: str = "",
    identity: Identity = page_require("audit:read", scope_from=ENTERPRISE_WIDE),
) -> HTMLResponse:
    """The newest records matching the filters (an action matches as a prefix)."""
    filters = {"actor": actor, "action": action, "outcome": outcome, "start": start}
    try:
        records = filtered(
            platform_of(request), actor=actor or None, action=action or None,
            outcome=outcome or None, start=start or None, end=None, limit=500,
        )  # fmt: skip
        error = None
    except PlantOSError as exc:
        records, error = [], str(exc)
    rows = [r.to_dict() | {"time": iso(r.ts_ns)} for r in records]
    return page(request, "audit.html", {"records": rows, "filters": filters, "error": error})
