"""Bearer tokens, one-time sign-in links and browser sessions, hashed at rest.

Tokens are 256 random bits, so a single SHA-256 is the right hash: there is nothing to
brute-force, unlike a password, and lookup stays O(1). The plaintext exists only in the
answer to whoever created it. Each token carries one grant (a role over a scope), an
optional expiry and a short public id that lists, the audit trail and revocation use.

The store is a small SQLite file in the data directory (WAL, one connection per call), so
the CLI issues, lists and revokes tokens while the server runs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from plantos.core.clock import Clock
from plantos.core.errors import AuthError
from plantos.core.sqlite_file import sqlite_session
from plantos.core.timeunits import NS_PER_S as NS
from plantos.security.identity import Identity
from plantos.security.roles import check_role
from plantos.security.scope import ENTERPRISE, parse_scope

SESSION_TTL_NS = 12 * 3600 * NS
SIGNIN_TTL_NS = 15 * 60 * NS
LAST_USED_EVERY_NS = 60 * NS
"""A token's last use is written at most once a minute: a request stays a read."""
KINDS = ("api", "session", "signin")

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
_COLUMNS = {
    "id": "TEXT",
    "name": "TEXT NOT NULL DEFAULT ''",
    "scope": "TEXT NOT NULL DEFAULT ''",
    "revoked_ns": "INTEGER",
    "last_used_ns": "INTEGER",
}
"""Columns added after the first release; a store made before them gains them on open."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a token list shows: never the secret, nor its hash."""

    id: str
    name: str
    subject: str
    role: str
    scope: str
    created_ns: int
    expires_ns: int | None
    revoked_ns: int | None
    last_used_ns: int | None


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
            have = {row[1] for row in db.execute("PRAGMA table_info(tokens)")}
            for column, kind in _COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE tokens ADD COLUMN {column} {kind}")
            db.execute(
                "UPDATE tokens SET id = 'tok_' || lower(hex(randomblob(6))) WHERE id IS NULL"
            )
            db.execute("CREATE UNIQUE INDEX IF NOT EXISTS tokens_id ON tokens (id)")
        path.chmod(0o600)

    @property
    def path(self) -> Path:
        return self._path

    def issue(
        self,
        kind: str,
        subject: str,
        role: str,
        *,
        scope: str = ENTERPRISE,
        ttl_ns: int | None = None,
        name: str = "",
    ) -> tuple[str, str]:
        """A new token and its public id; the token is never stored nor shown again."""
        if kind not in KINDS:
            raise ValueError(f"unknown token kind {kind!r}")
        if ttl_ns is not None and ttl_ns <= 0:
            raise ValueError(f"a token's lifetime must be positive, not {ttl_ns} ns")
        check_role(role)
        token = f"pos_{secrets.token_urlsafe(32)}"
        token_id = f"tok_{secrets.token_hex(6)}"
        now = self._clock.now_ns()
        with sqlite_session(self._path) as db:
            db.execute(
                "INSERT INTO tokens (hash, kind, subject, role, created_ns, expires_ns, id, name,"
                " scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _hash(token),
                    kind,
                    subject,
                    role,
                    now,
                    now + ttl_ns if ttl_ns else None,
                    token_id,
                    name,
                    parse_scope(scope),
                ),
            )
        return token, token_id

    def bootstrap_admin(self) -> str | None:
        """Create the first admin API token and return it, or ``None`` if one exists."""
        with sqlite_session(self._path) as db:
            row = db.execute(
                "SELECT 1 FROM tokens WHERE kind = 'api' AND role = 'admin' LIMIT 1"
            ).fetchone()
        return None if row else self.issue("api", "admin", "admin", name="bootstrap")[0]

    def issue_api_token(
        self, subject: str, role: str, *, scope: str = ENTERPRISE, ttl_ns: int | None = None
    ) -> str:
        return self.issue("api", subject, role, scope=scope, ttl_ns=ttl_ns)[0]

    def issue_signin(
        self, subject: str = "admin", role: str = "admin", *, scope: str = ENTERPRISE
    ) -> str:
        """A one-time token for a sign-in link, valid for 15 minutes."""
        return self.issue("signin", subject, role, scope=scope, ttl_ns=SIGNIN_TTL_NS)[0]

    def issue_session(self, subject: str, role: str, *, scope: str = ENTERPRISE) -> str:
        """A browser session after a password sign-in, valid for 12 hours."""
        return self.issue("session", subject, role, scope=scope, ttl_ns=SESSION_TTL_NS)[0]

    def exchange_signin(self, token: str) -> str:
        """Spend a sign-in token and return a session token for a browser cookie.

        The token is deleted and read in one statement, so of two requests racing with
        the same link only one gets a session.
        """
        with sqlite_session(self._path) as db:
            row = db.execute(
                "DELETE FROM tokens WHERE hash = ? AND kind = 'signin' "
                "RETURNING subject, role, expires_ns, scope",
                (_hash(token),),
            ).fetchone()
        if row is None:
            raise AuthError("unknown token")
        subject, role, expires, scope = row
        if expires is not None and expires <= self._clock.now_ns():
            raise AuthError("token expired")
        return self.issue_session(subject, role, scope=scope)

    def verify(self, token: str | None, *, kinds: tuple[str, ...] = ("api", "session")) -> Identity:
        """The identity behind ``token``; :class:`AuthError` if missing, unknown, expired
        or revoked. An API token's use is noted (``last_used_ns``) for its owner to see."""
        if not token:
            raise AuthError("sign in required: send 'Authorization: Bearer <token>'")
        with sqlite_session(self._path) as db:
            row = db.execute(
                "SELECT kind, subject, role, expires_ns, scope, id, revoked_ns, last_used_ns"
                " FROM tokens WHERE hash = ?",
                (_hash(token),),
            ).fetchone()
            if row is None or row[0] not in kinds:
                raise AuthError("unknown token")
            kind, subject, role, expires, scope, token_id, revoked, last_used = row
            now = self._clock.now_ns()
            if revoked is not None:
                raise AuthError("token revoked")
            if expires is not None and expires <= now:
                raise AuthError("token expired")
            if kind == "api" and (last_used is None or now - last_used >= LAST_USED_EVERY_NS):
                db.execute("UPDATE tokens SET last_used_ns = ? WHERE id = ?", (now, token_id))
        return Identity(subject, role, kind, scope, token_id or "")

    def revoke(self, token: str) -> None:
        """Forget a token by its secret (a session at sign-out)."""
        with sqlite_session(self._path) as db:
            db.execute("DELETE FROM tokens WHERE hash = ?", (_hash(token),))

    def revoke_id(self, token_id: str) -> TokenInfo:
        """Revoke an API token by its public id; it stays listed as revoked."""
        with sqlite_session(self._path) as db:
            cur = db.execute(
                "UPDATE tokens SET revoked_ns = ? WHERE id = ? AND kind = 'api'"
                " AND revoked_ns IS NULL",
                (self._clock.now_ns(), token_id),
            )
        if cur.rowcount == 0:
            raise ValueError(f"no active API token with id {token_id!r}")
        return next(t for t in self.list() if t.id == token_id)

    def end_sessions(self, subject: str) -> int:
        """End every browser session and pending sign-in link of ``subject``."""
        with sqlite_session(self._path) as db:
            cur = db.execute(
                "DELETE FROM tokens WHERE subject = ? AND kind IN ('session', 'signin')",
                (subject,),
            )
            return cur.rowcount

    def list(self) -> list[TokenInfo]:
        """Every API token, newest first, revoked and expired ones included."""
        with sqlite_session(self._path) as db:
            rows = db.execute(
                "SELECT id, name, subject, role, scope, created_ns, expires_ns, revoked_ns,"
                " last_used_ns FROM tokens WHERE kind = 'api' ORDER BY created_ns DESC"
            ).fetchall()
        return [TokenInfo(*row) for row in rows]

    def purge_expired(self) -> int:
        with sqlite_session(self._path) as db:
            cur = db.execute(
                "DELETE FROM tokens WHERE expires_ns IS NOT NULL AND expires_ns <= ?",
                (self._clock.now_ns(),),
            )
            return cur.rowcount
