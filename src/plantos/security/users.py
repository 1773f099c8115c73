"""Local users: argon2 password hashes, one grant each, lock-out after repeated failures.

A password is checked with argon2id (memory-hard), so a stolen store does not give the
passwords away cheaply. After :data:`MAX_FAILURES` wrong passwords in a row the account
refuses every attempt, right or wrong, for :data:`LOCKOUT_NS`, which makes guessing over
the network hopeless without locking the plant out for good. Like tokens, users live in
``security.sqlite`` so the CLI manages them while the server runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from plantos.core.clock import Clock
from plantos.core.errors import AuthError
from plantos.core.sqlite_file import sqlite_session
from plantos.core.timeunits import NS_PER_S as NS
from plantos.security.errors import ConflictError, LockedError
from plantos.security.roles import check_role
from plantos.security.scope import ENTERPRISE, parse_scope

MAX_FAILURES = 5
LOCKOUT_NS = 15 * 60 * NS
MIN_PASSWORD_CHARS = 12
_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
_HASHER = PasswordHasher()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_ns INTEGER,
    created_ns INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    scope: str
    disabled: bool
    failures: int
    locked_until_ns: int | None
    created_ns: int


def check_password(password: str) -> str:
    """A password long enough to resist guessing; :class:`ValueError` otherwise."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"user name {name!r}: lower-case letters, digits, '_', '-', '.'")
    return name


class UserStore:
    """Adds, authenticates and disables users in ``path`` (the security store)."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._clock = clock
        with sqlite_session(path) as db:
            db.executescript(_SCHEMA)
        path.chmod(0o600)

    def add(self, name: str, password: str, role: str, *, scope: str = ENTERPRISE) -> User:
        """A new user; :class:`ConflictError` if the name is taken."""
        check_name(name)
        check_role(role)
        digest = _HASHER.hash(check_password(password))
        with sqlite_session(self._path) as db:
            cur = db.execute(
                "INSERT INTO users (name, hash, role, scope, created_ns) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, digest, role, parse_scope(scope), self._clock.now_ns()),
            )
        if cur.rowcount == 0:
            raise ConflictError(f"user {name!r} exists already")
        return self.get(name)

    def get(self, name: str) -> User:
        with sqlite_session(self._path) as db:
            row = db.execute(
                "SELECT name, role, scope, disabled, failures, locked_until_ns, created_ns"
                " FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise LookupError(f"no user {name!r}")
        return User(row[0], row[1], row[2], bool(row[3]), *row[4:])

    def list(self) -> list[User]:
        with sqlite_session(self._path) as db:
            names = [r[0] for r in db.execute("SELECT name FROM users ORDER BY name")]
        return [self.get(n) for n in names]

    def any_admin(self) -> bool:
        with sqlite_session(self._path) as db:
            row = db.execute("SELECT 1 FROM users WHERE role = 'admin' LIMIT 1").fetchone()
        return row is not None

    def set_password(self, name: str, password: str) -> User:
        """A new password; also lifts a lock-out and re-enables nothing else."""
        digest = _HASHER.hash(check_password(password))
        self._update(name, "hash = ?, failures = 0, locked_until_ns = NULL", digest)
        return self.get(name)

    def set_disabled(self, name: str, disabled: bool) -> User:
        self._update(name, "disabled = ?", int(disabled))
        return self.get(name)

    def set_grant(self, name: str, role: str, *, scope: str = ENTERPRISE) -> User:
        self._update(name, "role = ?, scope = ?", check_role(role), parse_scope(scope))
        return self.get(name)

    def _update(self, name: str, assignments: str, *values: object) -> None:
        with sqlite_session(self._path) as db:
            cur = db.execute(f"UPDATE users SET {assignments} WHERE name = ?", (*values, name))
        if cur.rowcount == 0:
            raise LookupError(f"no user {name!r}")

    def authenticate(self, name: str, password: str) -> User:
        """The user if ``password`` is right; :class:`AuthError` (same words for a wrong
        name or password) or :class:`LockedError`. Failures count towards the lock-out."""
        now = self._clock.now_ns()
        with sqlite_session(self._path) as db:
            row = db.execute(
                "SELECT hash, disabled, failures, locked_until_ns FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            _verify(_dummy_hash(), password)
            raise AuthError("wrong user name or password")
        digest, disabled, failures, locked_until = row
        if locked_until is not None and locked_until > now:
            raise LockedError(f"account {name!r} is locked after {failures} failed sign-ins")
        if not _verify(digest, password):
            self._failed(name, failures + 1, now)
            raise AuthError("wrong user name or password")
        if disabled:
            raise AuthError(f"account {name!r} is disabled")
        with sqlite_session(self._path) as db:
            db.execute(
                "UPDATE users SET failures = 0, locked_until_ns = NULL WHERE name = ?", (name,)
            )
            if _HASHER.check_needs_rehash(digest):
                db.execute(
                    "UPDATE users SET hash = ? WHERE name = ?", (_HASHER.hash(password), name)
                )
        return self.get(name)

    def _failed(self, name: str, failures: int, now: int) -> None:
        locked = now + LOCKOUT_NS if failures >= MAX_FAILURES else None
        with sqlite_session(self._path) as db:
            db.execute(
                "UPDATE users SET failures = ?, locked_until_ns = ? WHERE name = ?",
                (failures, locked, name),
            )


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """A hash to check an unknown name against, so its answer takes as long as a known one."""
    return _HASHER.hash("an unknown user still costs one argon2 check")
