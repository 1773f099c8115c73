"""The security layer: identities, roles and scopes, tokens, users, the audit trail, PKI.

Every API route and page asks :func:`plantos.security.authz.authorize` (through the API's
``require`` dependency) whether the caller's role holds the permission it needs over the
part of the plant it touches.
"""

from plantos.security.audit import AuditLog
from plantos.security.authz import authorize
from plantos.security.errors import ForbiddenError
from plantos.security.identity import Identity
from plantos.security.tokens import TokenStore
from plantos.security.users import UserStore

__all__ = ["AuditLog", "ForbiddenError", "Identity", "TokenStore", "UserStore", "authorize"]
