"""Errors of the security layer, answered by the API in one place."""

from __future__ import annotations

from plantos.core.errors import AuthError, PlantOSError


class ForbiddenError(PlantOSError):
    """The caller is known but its role or scope does not allow the act (answered 403)."""


class LockedError(AuthError):
    """Too many failed sign-ins: the account waits before it may try again (answered 401)."""


class ConflictError(PlantOSError):
    """The act contradicts what is stored, e.g. a user name already taken (answered 409)."""


class TooManyRequestsError(PlantOSError):
    """A rate limit was reached (answered 429)."""


class InvalidError(PlantOSError):
    """A request names a role, scope, password or lifetime that is not allowed (answered 400)."""
