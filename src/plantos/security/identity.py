"""Who is calling: a user's session, an API token or a one-time sign-in link."""

from __future__ import annotations

from dataclasses import dataclass

from plantos.security.roles import holds
from plantos.security.scope import ENTERPRISE, covers


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in caller with one grant: a role over a scope of the plant.

    ``token_id`` is the public id of the credential (for the audit trail and revocation),
    never the secret.
    """

    subject: str
    role: str
    kind: str
    scope: str = ENTERPRISE
    token_id: str = ""

    def may(self, permission: str) -> bool:
        return holds(self.role, permission)

    def sees(self, path: str) -> bool:
        """Whether ``path`` (a plant-model path) lies inside this identity's scope."""
        return covers(self.scope, path)
