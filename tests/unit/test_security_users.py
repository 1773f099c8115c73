"""Local users: argon2 at rest, the same answer for a wrong name or password, lock-out
after repeated failures that a correct password does not bypass, grants validated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plantos.core.clock import ManualClock
from plantos.core.errors import AuthError
from plantos.security.errors import ConflictError, LockedError
from plantos.security.users import LOCKOUT_NS, MAX_FAILURES, UserStore

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    return UserStore(tmp_path / "s.sqlite", clock=ManualClock(1_000))


def test_a_password_is_stored_only_as_an_argon2_hash(store: UserStore, tmp_path: Path) -> None:
    store.add("ann", PASSWORD, "operator", scope="site-1/mixing")
    dump = "\n".join(sqlite3.connect(tmp_path / "s.sqlite").iterdump())
    assert PASSWORD not in dump and "$argon2id$" in dump
    assert (tmp_path / "s.sqlite").stat().st_mode & 0o077 == 0
    user = store.authenticate("ann", PASSWORD)
    assert (user.role, user.scope) == ("operator", "site-1/mixing")


def test_wrong_name_and_wrong_password_get_the_same_answer(store: UserStore) -> None:
    store.add("ann", PASSWORD, "viewer")
    with pytest.raises(AuthError) as unknown:
        store.authenticate("bob", PASSWORD)
    with pytest.raises(AuthError) as wrong:
        store.authenticate("ann", "not the password")
    assert str(unknown.value) == str(wrong.value) == "wrong user name or password"


def test_repeated_failures_lock_the_account_even_for_the_right_password(tmp_path: Path) -> None:
    clock = ManualClock(1_000)
    store = UserStore(tmp_path / "s.sqlite", clock=clock)
    store.add("ann", PASSWORD, "viewer")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            store.authenticate("ann", "guess")
    with pytest.raises(LockedError, match="locked after 5 failed"):
        store.authenticate("ann", PASSWORD)
    clock.advance_to(1_000 + LOCKOUT_NS + 1)
    assert store.authenticate("ann", PASSWORD).failures == 0


def test_a_new_password_lifts_the_lock(store: UserStore) -> None:
    store.add("ann", PASSWORD, "viewer")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            store.authenticate("ann", "guess")
    store.set_password("ann", "another long password")
    assert store.authenticate("ann", "another long password").name == "ann"


def test_a_disabled_user_cannot_sign_in(store: UserStore) -> None:
    store.add("ann", PASSWORD, "viewer")
    store.set_disabled("ann", True)
    with pytest.raises(AuthError, match="disabled"):
        store.authenticate("ann", PASSWORD)


@pytest.mark.parametrize(
    ("name", "password", "role", "scope", "message"),
    [
        ("ann", "short", "viewer", "", "at least 12"),
        ("ann", PASSWORD, "superuser", "", "unknown role 'superuser'"),
        ("Ann Smith", PASSWORD, "viewer", "", "user name"),
        ("ann", PASSWORD, "viewer", "site-1/../x", "not a plant-model id"),
    ],
)
def test_bad_users_are_refused_with_the_reason(
    store: UserStore, name: str, password: str, role: str, scope: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.add(name, password, role, scope=scope)


def test_a_name_is_taken_once(store: UserStore) -> None:
    store.add("ann", PASSWORD, "viewer")
    with pytest.raises(ConflictError):
        store.add("ann", PASSWORD, "admin")
