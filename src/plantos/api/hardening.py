"""Protections around every request: a body size limit, security headers on every answer
(HSTS when served over TLS) and the rate limits of the sign-in and token doors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantos.api.errors import problem
from plantos.core.clock import WallClock
from plantos.security.ratelimit import RateLimiter

MAX_BODY_BYTES = 1 << 20
"""No PlantOS request needs more than a few kilobytes; a megabyte leaves room for
imports while refusing a body that would only fill memory."""
HSTS = "max-age=31536000; includeSubDomains"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
"""For answers that are not pages (JSON, metrics): nothing may load or frame them."""
LIMITS = {"signin": (10, 60.0), "tokens": (20, 60.0), "bad-credentials": (30, 60.0)}
"""Attempts per client address per window (seconds) at each rate-limited door."""

_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"content-security-policy": API_CSP.encode(),
    b"cross-origin-opener-policy": b"same-origin",
}


class BodyTooLarge(HTTPException):
    """Raised while the body is read, so the route's error handling answers 413."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_body_bytes} bytes")


class Hardening:
    """Pure ASGI middleware (it must not buffer the live event stream): refuses bodies over
    :data:`MAX_BODY_BYTES` with 413 and adds the security headers an answer lacks."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            return message

        async def headed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS.items() if k not in have]
                if tls:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, counted, headed)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_body_bytes} bytes"
        await problem(413, "Request too large", detail)(scope, receive, send)


class Limits:
    """The rate limiters of one application, keyed by door name and client address."""

    def __init__(self) -> None:
        clock = WallClock()
        self._limiters = {
            name: RateLimiter(limit=n, window_s=w, clock=clock) for name, (n, w) in LIMITS.items()
        }

    def hit(self, door: str, client: str) -> None:
        self._limiters[door].hit(client)


def rate_limit(request: Request, door: str) -> None:
    """Count an attempt at ``door`` from this client; 429 past the limit."""
    limits: Limits = request.app.state.limits
    limits.hit(door, request.client.host if request.client else "unknown")


def install_hardening(app: FastAPI) -> None:
    from plantos.api.fail_closed import FailClosed  # it needs auth, which needs this module

    app.state.limits = Limits()
    app.add_middleware(FailClosed)
    app.add_middleware(Hardening)
