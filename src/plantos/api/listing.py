"""What every list endpoint for IT shares: keyset pagination with an opaque cursor over
a documented stable order, and ETags so a poller that asks again for an unchanged list
gets ``304 Not Modified`` and no body.

A cursor is the sort key of the last item of a page, base64url-encoded JSON: pass it
back as ``cursor`` for the next page. Items changed between pages never appear twice
nor shift a page, because the next page starts after a key, not at an offset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from plantos.core.errors import QueryError


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """The key a cursor holds; :class:`QueryError` (400) for anything else."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise QueryError(f"cursor {cursor!r} is not one this API gave out") from None
    if not isinstance(key, list) or len(key) != length:
        raise QueryError(f"cursor {cursor!r} is not one this API gave out")
    return key


def etag_response(request: Request, body: dict[str, Any]) -> Response:
    """``body`` as JSON with a strong ETag of its bytes; 304 when ``If-None-Match``
    names that ETag (or ``*``)."""
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    tag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    asked = request.headers.get("if-none-match", "")
    if asked.strip() == "*" or tag in [t.strip().removeprefix("W/") for t in asked.split(",")]:
        return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse(body, headers={"ETag": tag, "Cache-Control": "no-cache"})
