"""The reference ERP receiver over real HTTP, fed by PlantOS's own webhook channels: it
books each message once by its id (single or batched), answers a repeat 200 without
booking it again, refuses a wrong signature (401, a dead letter for PlantOS) and a
request whose Idempotency-Key is not the body's id (400), and tells its counts on GET."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from plantos.core.clock import WallClock
from plantos.integration.channels.base import OutboundMessage, Outcome
from plantos.integration.channels.signature import SIGNATURE_HEADER, sign
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.channels.webhook_batch import WebhookBatchChannel
from plantos.integration.erp.receiver import ErpWebhookReceiver, ReceiverServer

pytestmark = pytest.mark.timeout(60)
SECRET = b"receiver-test-secret-0123456789ab"


def message(kind: str = "order_status", order: str = "4711") -> OutboundMessage:
    return OutboundMessage(uuid.uuid4(), kind, {"order_id": order}, datetime.now(UTC), order)


def test_messages_are_booked_once_and_bad_requests_refused() -> None:
    receiver = ErpWebhookReceiver(SECRET)
    server = ReceiverServer(receiver.handle, stats=receiver.stats)
    server.start()
    first, second = message(), message("production_performance")
    batch = [message(order="4712"), message(order="4713")]

    async def send() -> tuple[list[Outcome], list[Outcome], list[Outcome], str]:
        channel = WebhookChannel(server.url, secret=SECRET, clock=WallClock())
        batched = WebhookBatchChannel(
            WebhookChannel(server.url, secret=SECRET, clock=WallClock()), batch_size=10
        )
        forged = WebhookChannel(server.url, secret=b"x" * 32, clock=WallClock(), name="forged")
        try:
            sent = await channel.deliver([first, second, first])  # first twice
            in_batch = await batched.deliver(batch)
            refused = await forged.deliver([message()])
            return ([r.outcome for r in sent], [r.outcome for r in in_batch],
                    [r.outcome for r in refused], refused[0].reason)  # fmt: skip
        finally:
            for c in (channel, batched, forged):
                await c.close()

    try:
        sent, in_batch, refused, reason = asyncio.run(send())
        assert sent == [Outcome.DELIVERED] * 3 and in_batch == [Outcome.DELIVERED] * 2
        assert refused == [Outcome.REJECTED] and "401" in reason and "Signature" in reason

        body = message().json_bytes()
        signature = sign(SECRET, body, timestamp_s=int(time.time()))
        other_key = {SIGNATURE_HEADER: signature, "Idempotency-Key": str(uuid.uuid4())}
        mismatch = httpx.post(server.url, content=body, headers=other_key)
        assert mismatch.status_code == 400 and "Idempotency-Key" in mismatch.text

        stats = httpx.get(server.url).json()
        assert stats["booked"] == 4 and stats["repeated"] == 1
        assert stats["by_kind"] == {"order_status": 3, "production_performance": 1}
        assert stats["refused"] == 2 and stats["requests"] == 6
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url)


def test_a_batch_body_must_hold_messages() -> None:
    receiver = ErpWebhookReceiver(SECRET)
    body = json.dumps({"messages": [{"kind": "order_status"}]}).encode()
    headers = {SIGNATURE_HEADER: sign(SECRET, body, timestamp_s=int(time.time()))}
    assert receiver.handle(headers, body) == (400, "every message needs an id and a kind")
    not_json = b"<xml/>"
    headers = {SIGNATURE_HEADER: sign(SECRET, not_json, timestamp_s=int(time.time()))}
    assert receiver.handle(headers, not_json) == (400, "the body is not JSON")
    assert receiver.stats()["booked"] == 0
