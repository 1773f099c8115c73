"""Webhook batches against the same real receiver: many messages per signed request,
each taking effect once and in order per order; a message the receiver refuses inside a
batch is rejected alone; a receiver that does not take batches gets single messages; an
outage retries the whole batch under the same batch key."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plantos.core.clock import WallClock
from plantos.integration.channels import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.channels.webhook_batch import WebhookBatchChannel, batch_key
from tests.integration.test_channel_webhook import SECRET, Receiver, messages, serving
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.timeout(60)


def batched(port: int, *, batch_size: int) -> WebhookBatchChannel:
    webhook = WebhookChannel(f"http://127.0.0.1:{port}/erp", secret=SECRET, clock=WallClock())
    return WebhookBatchChannel(webhook, batch_size=batch_size)


def deliver(channel: WebhookBatchChannel, batch: list[OutboundMessage]) -> list[DeliveryResult]:
    async def run() -> list[DeliveryResult]:
        try:
            return await channel.deliver(batch)
        finally:
            await channel.close()

    return asyncio.run(run())


def test_many_messages_go_in_few_requests_each_once_in_order() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(120)
    with serving(receiver, port):
        results = deliver(batched(port, batch_size=50), batch)
        deliver(batched(port, batch_size=50), batch)  # sent again: no second effect
    assert [r.key for r in results] == [m.key for m in batch]
    assert all(r.outcome is Outcome.DELIVERED for r in results)
    assert len(receiver.batches) == 6
    assert receiver.batches[0] == str(batch_key([m.key for m in batch[:50]]))
    assert receiver.batches[:3] == receiver.batches[3:]  # same batches, same keys
    assert len(receiver.effects) == 120
    assert all(seqs == sorted(seqs) for seqs in receiver.sequence.values())


def test_a_message_refused_inside_a_batch_is_rejected_alone() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(10)
    bad = batch[4]
    receiver.refuse = lambda env: "unknown unit pcx" if env["id"] == str(bad.key) else None
    with serving(receiver, port):
        results = deliver(batched(port, batch_size=10), batch)
    by_outcome: dict[Outcome, list[Any]] = {}
    for result in results:
        by_outcome.setdefault(result.outcome, []).append(result)
    assert [r.key for r in by_outcome[Outcome.REJECTED]] == [bad.key]
    assert by_outcome[Outcome.REJECTED][0].reason == "unknown unit pcx"
    assert len(by_outcome[Outcome.DELIVERED]) == 9
    assert len(receiver.effects) == 9


def test_a_receiver_without_batches_gets_single_messages() -> None:
    receiver, port = Receiver(), free_port()
    receiver.accepts_batches = False
    batch = messages(6)
    bad = batch[2]
    receiver.answer = lambda env: (400, "no such order", {}) if env["id"] == str(bad.key) else None
    with serving(receiver, port):
        results = deliver(batched(port, batch_size=6), batch)
    assert [r.outcome for r in results].count(Outcome.DELIVERED) == 5
    assert results[2].outcome is Outcome.REJECTED
    assert results[2].reason == "HTTP 400: no such order"
    assert len(receiver.batches) == 1
    assert receiver.requests == 6


def test_an_outage_retries_whole_batches_and_holds_later_ones_of_the_same_orders() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(8)
    down = deliver(batched(port, batch_size=4), batch)
    assert all(r.outcome is Outcome.RETRY_LATER for r in down)
    assert "cannot reach" in down[0].reason
    assert all(r.reason.startswith("held behind") for r in down[4:])  # orders 400-403 again
    with serving(receiver, port):
        receiver.answer = lambda env: (503, "maintenance", {"Retry-After": "30"})
        busy = deliver(batched(port, batch_size=4), batch)
        receiver.answer = lambda env: None
        back = deliver(batched(port, batch_size=4), batch)
    assert busy[0].reason == "HTTP 503: maintenance"
    assert busy[0].retry_after_s == 30
    assert all(r.outcome is Outcome.DELIVERED for r in back)
    assert len(receiver.effects) == 8


def test_a_payload_that_is_not_json_is_rejected_and_the_rest_of_the_batch_sent() -> None:
    receiver, port = Receiver(), free_port()
    batch = messages(3)
    odd = OutboundMessage(batch[1].key, "x", {"seq": float("nan")}, batch[1].created)
    with serving(receiver, port):
        results = deliver(batched(port, batch_size=3), [batch[0], odd, batch[2]])
    assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.REJECTED, Outcome.DELIVERED]
    assert len(receiver.effects) == 2
