"""API tokens for machines and integrations (admin only): issue (shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from plantos.api.auth import ENTERPRISE_WIDE, invalid_as_400, platform_of, require
from plantos.api.hardening import rate_limit
from plantos.core.timeparse import iso, parse_duration_ns
from plantos.security import Identity
from plantos.security.tokens import TokenInfo

router = APIRouter(tags=["security"])


class NewToken(BaseModel):
    role: str
    scope: str = Field("", max_length=512, description="Plant path; empty: the enterprise")
    expires: str | None = Field(None, description="Lifetime, e.g. 90d or 12h; none: no expiry")
    name: str = Field("", max_length=200, description="What the token is for")


def token_entry(info: TokenInfo) -> dict[str, Any]:
    def when(ns: int | None) -> str | None:
        return iso(ns) if ns is not None else None

    return {
        "id": info.id,
        "name": info.name,
        "subject": info.subject,
        "role": info.role,
        "scope": info.scope,
        "created": iso(info.created_ns),
        "expires": when(info.expires_ns),
        "revoked": when(info.revoked_ns),
        "last_used": when(info.last_used_ns),
    }


@router.get("/tokens")
def list_tokens(
    request: Request, _: object = require("tokens:admin", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    return {"tokens": [token_entry(t) for t in platform_of(request).tokens.list()]}


@router.post("/tokens", status_code=201)
def issue_token(
    request: Request,
    body: NewToken,
    identity: Identity = require("tokens:admin", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """A new API token. The answer is the only place its secret ever appears."""
    platform = platform_of(request)
    rate_limit(request, "tokens")
    with invalid_as_400():
        ttl_ns = parse_duration_ns(body.expires) if body.expires else None
        token, token_id = platform.tokens.issue(
            "api",
            body.name or identity.subject,
            body.role,
            scope=body.scope,
            ttl_ns=ttl_ns,
            name=body.name,
        )
    info = next(t for t in platform.tokens.list() if t.id == token_id)
    platform.audit.append(
        identity.subject, "token.issue", token_id, role=info.role, scope=info.scope,
        name=info.name, expires=info.expires_ns,
    )  # fmt: skip
    return token_entry(info) | {"token": token}


@router.delete("/tokens/{token_id}")
def revoke_token(
    request: Request,
    token_id: str,
    identity: Identity = require("tokens:admin", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    platform = platform_of(request)
    with invalid_as_400():
        info = platform.tokens.revoke_id(token_id)
    platform.audit.append(identity.subject, "token.revoke", token_id)
    return token_entry(info)
