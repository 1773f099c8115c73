"""Local users and their grants (admin only): list, add, change a grant, disable, enable.

Every change is audited in the admin's name. Disabling a user also ends their browser
sessions, so it takes effect at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from plantos.api.auth import ENTERPRISE_WIDE, invalid_as_400, platform_of, require
from plantos.api.errors import register_status
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import iso
from plantos.security import Identity
from plantos.security.errors import ConflictError
from plantos.security.users import User

router = APIRouter(tags=["security"])


class UnknownUserError(PlantOSError):
    """No user of this name (answered 404)."""


register_status(UnknownUserError, 404, "Unknown user")


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: str
    scope: str = Field("", max_length=512, description="Plant path; empty: the enterprise")


class Grant(BaseModel):
    role: str
    scope: str = Field("", max_length=512)


def user_entry(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "scope": user.scope,
        "disabled": user.disabled,
        "failures": user.failures,
        "locked_until": iso(user.locked_until_ns) if user.locked_until_ns else None,
        "created": iso(user.created_ns),
    }


@router.get("/users")
def list_users(
    request: Request, _: object = require("users:admin", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    return {"users": [user_entry(u) for u in platform_of(request).users.list()]}


@router.post("/users", status_code=201)
def add_user(
    request: Request,
    body: NewUser,
    identity: Identity = require("users:admin", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """A new local user with one grant (role over scope)."""
    platform = platform_of(request)
    with invalid_as_400():
        user = platform.users.add(body.name, body.password, body.role, scope=body.scope)
    platform.audit.append(identity.subject, "user.add", user.name, role=user.role, scope=user.scope)
    return user_entry(user)


@router.put("/users/{name}/grant")
def set_grant(
    request: Request,
    name: str,
    body: Grant,
    identity: Identity = require("users:admin", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Change what a user may do; their open sessions end so the new grant applies now."""
    platform = platform_of(request)
    with invalid_as_400():
        user = _known(platform.users.set_grant, name, body.role, scope=body.scope)
    platform.tokens.end_sessions(name)
    platform.audit.append(identity.subject, "user.grant", name, role=user.role, scope=user.scope)
    return user_entry(user)


@router.post("/users/{name}/disable")
def disable_user(
    request: Request,
    name: str,
    identity: Identity = require("users:admin", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    platform = platform_of(request)
    if name == identity.subject:
        raise ConflictError("an administrator cannot disable their own account")
    user = _known(platform.users.set_disabled, name, True)
    ended = platform.tokens.end_sessions(name)
    platform.audit.append(identity.subject, "user.disable", name, sessions_ended=ended)
    return user_entry(user)


@router.post("/users/{name}/enable")
def enable_user(
    request: Request,
    name: str,
    identity: Identity = require("users:admin", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    platform = platform_of(request)
    user = _known(platform.users.set_disabled, name, False)
    platform.audit.append(identity.subject, "user.enable", name)
    return user_entry(user)


def _known(change: Any, name: str, *args: Any, **kwargs: Any) -> User:
    try:
        user: User = change(name, *args, **kwargs)
    except LookupError as exc:
        raise UnknownUserError(str(exc).strip("'\"")) from None
    return user
