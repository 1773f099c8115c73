"""The webhook signature a receiver checks: made over the timestamp and the exact body,
refused when the body, secret or timestamp differs or the header is garbled."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantos.integration.channels.signature import sign, verify_signature

SECRET = b"shared-secret-for-tests-0001"
BODY = b'{"id":"5f0c4a52-8d1e-4c55-9a57-0d7f8f3c2b11","kind":"production_performance"}'
NOW = 1_772_460_000


def test_the_header_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, timestamp_s=NOW) == f"t={NOW},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    header = sign(SECRET, BODY, timestamp_s=NOW)
    assert verify_signature(SECRET, BODY, header, now_s=NOW + 10)


@pytest.mark.parametrize(
    ("secret", "body", "now_s"),
    [
        (b"another-secret-entirely", BODY, NOW),
        (SECRET, BODY.replace(b"production", b"Production"), NOW),
        (SECRET, BODY + b" ", NOW),
        (SECRET, BODY, NOW + 301),
        (SECRET, BODY, NOW - 301),
    ],
)
def test_a_changed_secret_body_or_stale_time_fails(secret: bytes, body: bytes, now_s: int) -> None:
    header = sign(SECRET, BODY, timestamp_s=NOW)
    assert not verify_signature(secret, body, header, now_s=now_s)


@pytest.mark.parametrize(
    "header", ["", "v1=abc", "t=,v1=abc", "t=soon,v1=abc", f"t={NOW}", f"t={NOW},v1="]
)
def test_a_garbled_header_fails(header: str) -> None:
    assert not verify_signature(SECRET, BODY, header, now_s=NOW)


def test_any_of_several_signatures_may_match_for_secret_rotation() -> None:
    old = sign(b"old-secret-being-retired", BODY, timestamp_s=NOW).split(",")[1]
    header = f"{sign(SECRET, BODY, timestamp_s=NOW)},{old}"
    assert verify_signature(SECRET, BODY, header, now_s=NOW)
    assert verify_signature(b"old-secret-being-retired", BODY, header, now_s=NOW)


@given(st.text(max_size=200), st.binary(max_size=100))
def test_fuzz_verification_never_raises(header: str, body: bytes) -> None:
    assert verify_signature(SECRET, body, header, now_s=NOW) in (True, False)
