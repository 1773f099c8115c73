"""The webhook signature: ``PlantOS-Signature: t=<unix seconds>,v1=<hex>`` where the hex
is HMAC-SHA256, keyed with the shared secret, over ``<t>.<exact body bytes>``.

Signing the timestamp with the body lets a receiver refuse a replayed request (a
captured one re-sent later) as well as a forged or altered one. :func:`verify_signature`
uses only the standard library so a receiver can copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "PlantOS-Signature"


def sign(secret: bytes, body: bytes, *, timestamp_s: int) -> str:
    """The header value for ``body`` sent at ``timestamp_s``."""
    digest = hmac.new(secret, str(timestamp_s).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp_s},v1={digest.hexdigest()}"


def verify_signature(
    secret: bytes, body: bytes, header: str, *, now_s: float, tolerance_s: float = 300.0
) -> bool:
    """True when ``header`` is a valid signature of ``body`` made within ``tolerance_s``
    of ``now_s``. Compare in constant time; read the body as raw bytes, before any JSON
    parsing (re-serialised JSON differs from what was signed)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(name, []).append(value)
    try:
        timestamp_s = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now_s - timestamp_s) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp_s=timestamp_s).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
