"""Bearer tokens, one-time sign-in links and browser sessions, hashed at rest.

Tokens are 256 random bits, so a single SHA-256 is the right hash: there is
nothing to brute-force, unlike a password, and lookup stays O(1). The plaintext
exists only in the answer to whoever created it. There is no default password:
the first start creates an admin token and prints it once.

The store is a small SQLite file in the data directory, so the CLI can issue a
sign-in link while the server runs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from plantos.core.clock import Clock
from plantos.core.errors import AuthError
from plantos.core.sqlite_file import sqlite_session

NS = 1_000_000_000
SESSION_TTL_NS = 12 * 3600 * NS
SIGNIN_TTL_NS = 15 * 60 * NS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('api', 'session', 'signin')),
    subject TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER
);
"""


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    role: str
    kind: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Issues and verifies tokens. ``clock`` is the wall clock: expiry is real time."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._clock = clock
        with sqlite_session(self._path) as db:
            db.executescript(_SCHEMA)
        path.chmod(0o600)

    def _issue(self, kind: str, subject: str, role: str, ttl_ns: int | None) -> str:
        token = f"pos_{secrets.token_urlsafe(32)}"
        now = self._clock.now_ns()
        with sqlite_session(self._path) as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
                (_hash(token), kind, subject, role, now, now + ttl_ns if ttl_ns else None),
            )
        return token

    def bootstrap_admin(self) -> str | None:
        """Create the first admin token and return it, or ``None`` if an admin exists."""
        with sqlite_session(self._path) as db:
            row = db.execute(
                "SELECT 1 FROM tokens WHERE kind = 'api' AND role = 'admin' LIMIT 1"
            ).fetchone()
        return None if row else self._issue("api", "admin", "admin", None)

    def issue_api_token(self, subject: str, role: str, *, ttl_ns: int | None = None) -> str:
        return self._issue("api", subject, role, ttl_ns)

    def issue_signin(self, subject: str = "admin", role: str = "admin") -> str:
        """A one-time token for a sign-in link, valid for 15 minutes."""
        return self._issue("signin", subject, role, SIGNIN_TTL_NS)

    def exchange_signin(self, token: str) -> str:
        """Spend a sign-in token and return a session token for a browser cookie.

        The token is deleted and read in one statement, so of two requests racing with
        the same link only one gets a session.
        """
        with sqlite_session(self._path) as db:
            row = db.execute(
                "DELETE FROM tokens WHERE hash = ? AND kind = 'signin' "
                "RETURNING subject, role, expires_ns",
                (_hash(token),),
            ).fetchone()
        if row is None:
            raise AuthError("unknown token")
        subject, role, expires = row
        if expires is not None and expires <= self._clock.now_ns():
            raise AuthError("token expired")
        return self._issue("session", subject, role, SESSION_TTL_NS)

    def verify(self, token: str | None, *, kinds: tuple[str, ...] = ("api", "session")) -> Identity:
        """The identity behind ``token``; :class:`AuthError` if missing, unknown or expired."""
        if not token:
            raise AuthError("sign in required: send 'Authorization: Bearer <token>'")
        with sqlite_session(self._path) as db:
            row = db.execute(
                "SELECT kind, subject, role, expires_ns FROM tokens WHERE hash = ?",
                (_hash(token),),
            ).fetchone()
        if row is None or row[0] not in kinds:
            raise AuthError("unknown token")
        kind, subject, role, expires = row
        if expires is not None and expires <= self._clock.now_ns():
            raise AuthError("token expired")
        return Identity(subject, role, kind)

    def revoke(self, token: str) -> None:
        with sqlite_session(self._path) as db:
            db.execute("DELETE FROM tokens WHERE hash = ?", (_hash(token),))

    def purge_expired(self) -> int:
        with sqlite_session(self._path) as db:
            cur = db.execute(
                "DELETE FROM tokens WHERE expires_ns IS NOT NULL AND expires_ns <= ?",
                (self._clock.now_ns(),),
            )
            return cur.rowcount
