"""Order per order inside one delivery round, with a scripted receiver at the port:
followers of a message to retry are held, a rejection holds nothing, different orders
go in parallel, results come back in input order."""

from __future__ import annotations

import asyncio
import datetime as dt
from uuid import UUID, uuid4

import pytest

from plantos.integration.channels import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.ordering import deliver_grouped

CREATED = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def msg(order: str | None) -> OutboundMessage:
    return OutboundMessage(uuid4(), "production_performance", {}, CREATED, ordering_key=order)


def run(
    batch: list[OutboundMessage], answers: dict[UUID, Outcome], *, max_in_flight: int = 4
) -> tuple[list[DeliveryResult], list[UUID], int]:
    sent: list[UUID] = []
    in_flight = peak = 0

    async def send(message: OutboundMessage) -> DeliveryResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        sent.append(message.key)
        outcome = answers.get(message.key, Outcome.DELIVERED)
        return DeliveryResult(message.key, outcome, "" if outcome is Outcome.DELIVERED else "no")

    results = asyncio.run(deliver_grouped(batch, send, max_in_flight=max_in_flight))
    return results, sent, peak


def test_followers_of_a_message_to_retry_are_held_and_never_sent() -> None:
    a1, a2, b1, a3 = msg("A"), msg("A"), msg("B"), msg("A")
    results, sent, _ = run([a1, a2, b1, a3], {a1.key: Outcome.RETRY_LATER})
    assert [r.key for r in results] == [a1.key, a2.key, b1.key, a3.key]
    assert [r.outcome for r in results] == [
        Outcome.RETRY_LATER, Outcome.RETRY_LATER, Outcome.DELIVERED, Outcome.RETRY_LATER,
    ]  # fmt: skip
    assert results[1].reason.startswith(f"held behind {a1.key}")
    assert set(sent) == {a1.key, b1.key}


def test_a_rejection_does_not_hold_the_order() -> None:
    a1, a2 = msg("A"), msg("A")
    results, sent, _ = run([a1, a2], {a1.key: Outcome.REJECTED})
    assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.DELIVERED]
    assert sent == [a1.key, a2.key]


def test_one_order_is_sent_in_sequence_and_orders_in_parallel_up_to_the_limit() -> None:
    batch = [msg(f"O{n % 6}") for n in range(24)] + [msg(None) for _ in range(6)]
    results, sent, peak = run(batch, {}, max_in_flight=3)
    assert all(r.outcome is Outcome.DELIVERED for r in results)
    assert 1 < peak <= 3
    for order in {m.ordering_key for m in batch if m.ordering_key}:
        keys = [m.key for m in batch if m.ordering_key == order]
        assert [k for k in sent if k in keys] == keys


def test_max_in_flight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_in_flight must be >= 1"):
        asyncio.run(deliver_grouped([msg("A")], lambda m: None, max_in_flight=0))  # type: ignore[arg-type,return-value]


def test_a_message_kind_must_be_plain_and_time_aware() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        OutboundMessage(uuid4(), "../etc", {}, CREATED)
    with pytest.raises(ValueError, match="timezone-aware"):
        OutboundMessage(uuid4(), "x", {}, dt.datetime(2026, 3, 2))
    assert UUID(msg("A").envelope()["id"])
