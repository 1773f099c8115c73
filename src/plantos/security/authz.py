"""The authorisation decision, in one function every route and page goes through."""

from __future__ import annotations

from plantos.security.errors import ForbiddenError
from plantos.security.identity import Identity
from plantos.security.roles import check_permission
from plantos.security.scope import ENTERPRISE, describe


def authorize(identity: Identity, permission: str, path: str | None = ENTERPRISE) -> None:
    """Allow or raise :class:`ForbiddenError` saying why.

    ``path`` is the plant-model path the act touches; :data:`ENTERPRISE` for what belongs
    to the whole enterprise, ``None`` when the route filters what it returns by scope
    itself (lists, the live stream) and only the role is checked here.
    """
    check_permission(permission)
    if not identity.may(permission):
        raise ForbiddenError(
            f"role {identity.role!r} of {identity.subject!r} does not allow {permission!r}"
        )
    if path is not None and not identity.sees(path):
        raise ForbiddenError(
            f"{identity.subject!r} holds {identity.role!r} for {describe(identity.scope)}, "
            f"not for {describe(path.strip('/'))}"
        )
