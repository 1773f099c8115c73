"""Webhook: each message is POSTed as JSON to one URL, signed, with its idempotency key.

Request (one per message, so each has its own key and its own answer)::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <message UUID>            (also the body's "id")
    PlantOS-Signature: t=<unix s>,v1=<hex>     (see :mod:`.signature`)

    {"created": "...", "id": "<UUID>", "kind": "production_performance",
     "ordering_key": "4711", "payload": {...}}

The messages handed to :meth:`WebhookChannel.deliver` go out over pooled connections,
up to ``max_in_flight`` requests at once, one after another within each ordering key
(:mod:`.webhook_batch` puts many messages in one request instead). Answers:
2xx delivered; 408, 425, 429 and 5xx, timeouts and connection errors retry later (with
the server's ``Retry-After`` when given); any other status is a permanent rejection
whose reason is the status and the response body.
"""

from __future__ import annotations

import email.utils
import re
import ssl
from collections.abc import Mapping, Sequence

import httpx

from plantos.core.clock import NS_PER_S, Clock
from plantos.integration.channels.base import DeliveryResult, OutboundMessage
from plantos.integration.channels.ordering import deliver_grouped
from plantos.integration.channels.signature import SIGNATURE_HEADER, sign

RETRY_STATUSES = frozenset({408, 425, 429})
MAX_REASON_CHARS = 2000
"""A receiver's error body is kept up to this length as the reason (dead-letter view)."""


class WebhookChannel:
    """POSTs messages to ``url``, signed with ``secret``.

    ``clock`` stamps the signatures, and receivers compare that stamp with their own
    clock: give it the wall clock even when the plant runs in simulated time."""

    def __init__(
        self,
        url: str,
        *,
        secret: bytes,
        clock: Clock,
        name: str = "webhook",
        timeout_s: float = 10.0,
        max_in_flight: int = 8,
        headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook URL starts with http:// or https://, got {url!r}")
        if len(secret) < 16:
            raise ValueError("the webhook secret must be at least 16 bytes")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self._url = url
        self._secret = secret
        self._clock = clock
        self._name = name
        self._timeout_s = timeout_s
        self._max_in_flight = max_in_flight
        self._headers = dict(headers or {})
        self._verify = verify
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def url(self) -> str:
        return self._url

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        return await deliver_grouped(messages, self._deliver_one, max_in_flight=self._max_in_flight)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def post(self, body: bytes, *, idempotency_key: str) -> httpx.Response:
        """POST ``body`` signed, with ``idempotency_key``; raises ``httpx.RequestError``
        when there is no answer (refused, reset, timed out, TLS failure)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout_s,
                verify=self._verify,
                transport=self._transport,
                limits=httpx.Limits(max_connections=self._max_in_flight),
                follow_redirects=False,
            )
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            SIGNATURE_HEADER: sign(
                self._secret, body, timestamp_s=self._clock.now_ns() // NS_PER_S
            ),
        }
        return await self._client.post(self._url, content=body, headers=headers)

    def now_s(self) -> float:
        return self._clock.now_ns() / NS_PER_S

    def no_answer(self, exc: httpx.RequestError) -> str:
        """The retry reason for a request that got no answer."""
        if isinstance(exc, httpx.TimeoutException):
            return f"no answer from {self._url} within {self._timeout_s} s ({exc!r})"
        return f"cannot reach {self._url}: {exc!r}"

    async def _deliver_one(self, message: OutboundMessage) -> DeliveryResult:
        try:
            body = message.json_bytes()
        except ValueError as exc:
            return DeliveryResult.rejected(message.key, str(exc))
        try:
            response = await self.post(body, idempotency_key=str(message.key))
        except httpx.RequestError as exc:
            return DeliveryResult.retry_later(message.key, self.no_answer(exc))
        return classify(message, response, now_s=self.now_s())


def classify(message: OutboundMessage, response: httpx.Response, *, now_s: float) -> DeliveryResult:
    """The outcome an HTTP answer means for ``message``."""
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult.delivered(message.key)
    reason = f"HTTP {status}: {response.text[:MAX_REASON_CHARS]}".rstrip(": ")
    if status in RETRY_STATUSES or status >= 500:
        return DeliveryResult.retry_later(
            message.key,
            reason,
            retry_after_s=retry_after_s(response.headers.get("Retry-After"), now_s=now_s),
        )
    if 300 <= status < 400:
        reason += f" (redirect to {response.headers.get('Location')}; configure the final URL)"
    return DeliveryResult.rejected(message.key, reason)


def retry_after_s(value: str | None, *, now_s: float) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date taken relative to ``now_s``."""
    if not value:
        return None
    if re.fullmatch(r"[0-9]{1,10}", value.strip()):
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.utcoffset() is None:
        return None
    return max(when.timestamp() - now_s, 0.0)
