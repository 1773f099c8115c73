"""Webhook in batches: up to ``batch_size`` messages in one signed request, for ERP
endpoints where one request per message costs too much.

Request::

    POST <url>
    Idempotency-Key: <batch key>     (a UUID derived from the message keys: the same
                                      batch sent again carries the same key)
    PlantOS-Signature: t=<unix s>,v1=<hex>

    {"messages": [<envelope>, <envelope>, ...]}

Each envelope is exactly the single-message body, with its own ``id``; apply them in
array order and book each ``id`` once. Answers:

- 2xx: every message delivered, except those the body lists as
  ``{"rejected": [{"id": "<UUID>", "reason": "..."}]}``, which are rejected with that
  reason;
- 408, 425, 429, 5xx, or no answer: the whole batch is retried later;
- any other status: the batch is resent one message per request (the single-message
  form at the same URL), so one bad message is rejected alone and the rest delivered.

Batches follow the input order, so order per order is kept; a message waiting for a
retry holds back the later messages of its order in later batches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from uuid import UUID, uuid5

import httpx

from plantos.integration.channels.base import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.ordering import OrderGate
from plantos.integration.channels.webhook import WebhookChannel, classify

BATCH_NAMESPACE = UUID("2f0b7d3c-6a55-4a8e-9b1e-5e7c0d3f4a10")
"""Namespace of the batch keys: uuid5 of the comma-joined message keys."""


def batch_key(keys: Sequence[UUID]) -> UUID:
    """The idempotency key of a batch of exactly these messages, in this order."""
    return uuid5(BATCH_NAMESPACE, ",".join(str(k) for k in keys))


class WebhookBatchChannel:
    """Delivers through ``webhook`` (its URL, secret, clock and time-out) in batches."""

    def __init__(self, webhook: WebhookChannel, *, batch_size: int = 50) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._webhook = webhook
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return self._webhook.name

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        gate = OrderGate()
        results: dict[UUID, DeliveryResult] = {}
        for start in range(0, len(messages), self._batch_size):
            ready = []
            for message in messages[start : start + self._batch_size]:
                held = gate.held(message)
                if held is None:
                    ready.append(message)
                else:
                    results[message.key] = held
                    gate.record(message, held)
            for message, result in zip(ready, await self._send(ready), strict=True):
                results[message.key] = result
                gate.record(message, result)
        return [results[m.key] for m in messages]

    async def close(self) -> None:
        await self._webhook.close()

    async def _send(self, messages: list[OutboundMessage]) -> list[DeliveryResult]:
        bodies: dict[UUID, bytes] = {}
        early: dict[UUID, DeliveryResult] = {}
        for message in messages:
            try:
                bodies[message.key] = message.json_bytes()
            except ValueError as exc:
                early[message.key] = DeliveryResult.rejected(message.key, str(exc))
        batch = [m for m in messages if m.key in bodies]
        if batch:
            body = b'{"messages":[' + b",".join(bodies[m.key] for m in batch) + b"]}"
            for result in await self._post(batch, body):
                early[result.key] = result
        return [early[m.key] for m in messages]

    async def _post(self, batch: list[OutboundMessage], body: bytes) -> list[DeliveryResult]:
        key = str(batch_key([m.key for m in batch]))
        try:
            response = await self._webhook.post(body, idempotency_key=key)
        except httpx.RequestError as exc:
            reason = self._webhook.no_answer(exc)
            return [DeliveryResult.retry_later(m.key, reason) for m in batch]
        now_s = self._webhook.now_s()
        results = [classify(m, response, now_s=now_s) for m in batch]
        if results[0].outcome is Outcome.REJECTED:
            return await self._webhook.deliver(batch)  # isolate the message at fault
        if results[0].outcome is Outcome.RETRY_LATER:
            return results
        refused = _rejections(response)
        return [
            DeliveryResult.rejected(m.key, refused[str(m.key)])
            if str(m.key) in refused
            else DeliveryResult.delivered(m.key)
            for m in batch
        ]


def _rejections(response: httpx.Response) -> dict[str, str]:
    """``{"rejected": [{"id", "reason"}, ...]}`` from a 2xx body; anything else: none."""
    try:
        document = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    listed = document.get("rejected") if isinstance(document, dict) else None
    if not isinstance(listed, list):
        return {}
    return {
        str(item["id"]): str(item.get("reason") or "rejected by the receiver")
        for item in listed
        if isinstance(item, dict) and "id" in item
    }
