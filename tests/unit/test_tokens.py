"""Tokens: hashed at rest, one-time sign-in links, expiry, no default password."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plantos.core.clock import ManualClock
from plantos.core.errors import AuthError
from plantos.security import TokenStore

NS = 1_000_000_000


def test_bootstrap_admin_is_issued_once_and_stored_only_as_a_hash(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    admin = store.bootstrap_admin()
    assert admin and admin.startswith("pos_")
    assert store.bootstrap_admin() is None
    assert store.verify(admin).role == "admin"
    dump = "\n".join(sqlite3.connect(tmp_path / "s.sqlite").iterdump())
    assert admin not in dump
    assert (tmp_path / "s.sqlite").stat().st_mode & 0o077 == 0


def test_signin_link_works_once_and_gives_a_session(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    link = store.issue_signin()
    with pytest.raises(AuthError, match="unknown token"):
        store.verify(link)  # a sign-in token is not an API credential
    session = store.exchange_signin(link)
    assert store.verify(session).kind == "session"
    with pytest.raises(AuthError, match="unknown token"):
        store.exchange_signin(link)


def test_expired_tokens_are_refused_and_purged(tmp_path: Path) -> None:
    clock = ManualClock(0)
    store = TokenStore(tmp_path / "s.sqlite", clock=clock)
    token = store.issue_api_token("line-3-panel", "operator", ttl_ns=60 * NS)
    assert store.verify(token).subject == "line-3-panel"
    clock.advance_to(61 * NS)
    with pytest.raises(AuthError, match="expired"):
        store.verify(token)
    assert store.purge_expired() == 1


@pytest.mark.parametrize("token", [None, "", "pos_nonsense", "x" * 10_000])
def test_missing_or_unknown_tokens_are_refused(tmp_path: Path, token: str | None) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    with pytest.raises(AuthError):
        store.verify(token)


def test_revoked_token_stops_working(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "s.sqlite", clock=ManualClock(0))
    token = store.issue_api_token("a", "viewer")
    store.revoke(token)
    with pytest.raises(AuthError):
        store.verify(token)
