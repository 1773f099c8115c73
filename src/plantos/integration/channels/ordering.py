"""Order per order: a message is not delivered while an earlier one with the same
ordering key is still waiting, so an ERP never sees a final confirmation before the
partial one it completes. A rejected message does not hold the others (it goes to the
dead letters; holding its followers forever would stall the order)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from plantos.integration.channels.base import DeliveryResult, OutboundMessage, Outcome


class OrderGate:
    """Remembers, within one delivery round, which ordering keys have a message waiting."""

    def __init__(self) -> None:
        self._waiting: dict[str, UUID] = {}

    def held(self, message: OutboundMessage) -> DeliveryResult | None:
        """A retry-later result when an earlier message of the same key is waiting."""
        if message.ordering_key is None or message.ordering_key not in self._waiting:
            return None
        earlier = self._waiting[message.ordering_key]
        return DeliveryResult.retry_later(
            message.key,
            f"held behind {earlier}, an earlier message for {message.ordering_key} "
            "that is not delivered yet",
        )

    def record(self, message: OutboundMessage, result: DeliveryResult) -> None:
        if message.ordering_key is not None and result.outcome is Outcome.RETRY_LATER:
            self._waiting.setdefault(message.ordering_key, message.key)


async def deliver_grouped(
    messages: Sequence[OutboundMessage],
    send: Callable[[OutboundMessage], Awaitable[DeliveryResult]],
    *,
    max_in_flight: int,
) -> list[DeliveryResult]:
    """Send ``messages`` with up to ``max_in_flight`` at once: different ordering keys
    in parallel, each key's messages one after another, followers of a message that
    must be retried held back. Results come back in the input order."""
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    groups: dict[object, list[int]] = {}
    for index, message in enumerate(messages):
        group = message.ordering_key if message.ordering_key is not None else message.key
        groups.setdefault(group, []).append(index)
    results: list[DeliveryResult | None] = [None] * len(messages)
    slots = asyncio.Semaphore(max_in_flight)
    gate = OrderGate()

    async def run(indices: list[int]) -> None:
        for index in indices:
            message = messages[index]
            result = gate.held(message)
            if result is None:
                async with slots:
                    result = await send(message)
            gate.record(message, result)
            results[index] = result

    async with asyncio.TaskGroup() as tasks:  # a failing send cancels the rest, not orphans
        for indices in groups.values():
            tasks.create_task(run(indices))
    return [r for r in results if r is not None]
