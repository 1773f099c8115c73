"""API tokens: scoped, expiring, revocable by their public id, listed without secrets;
a store from before scopes gains them on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plantos.core.clock import ManualClock
from plantos.core.errors import AuthError
from plantos.security import TokenStore

NS = 1_000_000_000


def test_a_token_carries_its_grant_and_is_listed_without_its_secret(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    token, token_id = store.issue("api", "erp", "integration", scope="site-2", name="ERP")
    identity = store.verify(token)
    assert (identity.role, identity.scope, identity.token_id) == ("integration", "site-2", token_id)
    [info] = store.list()
    assert (info.id, info.name, info.scope, info.last_used_ns) == (token_id, "ERP", "site-2", 0)
    assert token not in repr(info)


def test_a_revoked_token_stops_working_and_stays_listed(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    token, token_id = store.issue("api", "erp", "viewer")
    store.revoke_id(token_id)
    with pytest.raises(AuthError, match="revoked"):
        store.verify(token)
    assert store.list()[0].revoked_ns == 0
    with pytest.raises(ValueError, match="no active API token"):
        store.revoke_id(token_id)


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    clock = ManualClock(0)
    store = TokenStore(tmp_path / "s.sqlite", clock=clock)
    token, _ = store.issue("api", "erp", "viewer", ttl_ns=60 * NS)
    clock.advance_to(60 * NS)
    with pytest.raises(AuthError, match="expired"):
        store.verify(token)


@pytest.mark.parametrize(
    ("role", "scope", "ttl_ns", "message"),
    [("root", "", None, "unknown role"), ("viewer", "a b", None, "segment"),
     ("viewer", "", -1, "positive")],
)  # fmt: skip
def test_bad_grants_are_refused(
    tmp_path: Path, role: str, scope: str, ttl_ns: int | None, message: str
) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    with pytest.raises(ValueError, match=message):
        store.issue("api", "x", role, scope=scope, ttl_ns=ttl_ns)


def test_a_store_from_before_scopes_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE tokens (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,"
        " role TEXT NOT NULL, created_ns INTEGER NOT NULL, expires_ns INTEGER);"
        "INSERT INTO tokens VALUES ('h', 'api', 'admin', 'admin', 0, NULL);"
    )
    old.close()
    store = TokenStore(path, clock=ManualClock(0))
    [info] = store.list()
    assert info.id.startswith("tok_") and info.scope == ""
