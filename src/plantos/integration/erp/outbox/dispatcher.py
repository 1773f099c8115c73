"""The outbox dispatcher: a supervised stage that drains the operations outbox through
each configured ERP connector.

Every round, per connector: enrol new outbox messages, take the due ones in outbox
order, hand them to the connector's channel (which keeps order per ordering key), and
record each outcome: delivered; retried after the connector's back-off; or, for a
permanent rejection or exhausted attempts, dead-lettered with the reason. A message
held behind an earlier one of its order is not charged an attempt. Database work runs
in a worker thread, never on the event loop. With ``translate`` the rows' domain events
become the ERP's business messages first (:mod:`plantos.integration.erp.translate`); a
row that cannot become one is dead-lettered with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import sqlalchemy as sa

from plantos.integration.channels.base import Channel, DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.retry import RetryPolicy, exhausted, retry_delay_s
from plantos.integration.erp.outbox.store import Attempt, DeliveryStore, Due
from plantos.integration.erp.outbox.tables import DEAD, DELIVERED, PENDING
from plantos.mom.store.engine import OUTBOX_WRITTEN

log = logging.getLogger(__name__)
SKIPPED = "not among the connector's kinds"
"""A made message of another kind (a plain status change for a connector that takes
only confirmations): settled for that connector without being sent."""


class Translate(Protocol):
    """Due rows to what the connectors send: per row its message, or why it cannot be one."""

    def __call__(self, messages: Sequence[OutboundMessage]) -> list[OutboundMessage | str]: ...

    def sources(self, kinds: frozenset[str]) -> frozenset[str]:
        """The outbox kinds the messages of ``kinds`` are made from (and ``kinds``)."""
        ...


@runtime_checkable
class Acknowledging(Protocol):
    """A channel whose receiver reports later what it refused (an interface table)."""

    async def rejections(self) -> list[tuple[UUID, str]]: ...


@dataclass
class Connector:
    """One way into the ERP: a channel, the message kinds it takes (None: all), its
    retry policy and how many messages one round hands it at most."""

    name: str
    channel: Channel
    kinds: frozenset[str] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 100
    counts: dict[str, int] = field(default_factory=lambda: {DELIVERED: 0, DEAD: 0, "retried": 0})
    refusals_booked: set[UUID] = field(default_factory=set)
    """Later refusals already turned into dead letters: not written again each round."""


class OutboxDispatcher:
    """Runs every connector's rounds until cancelled; ``poll_interval_s`` is the pause
    when a whole pass over the connectors moved nothing."""

    def __init__(
        self,
        store: DeliveryStore,
        connectors: Sequence[Connector],
        *,
        poll_interval_s: float = 0.5,
        translate: Translate | None = None,
    ) -> None:
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be > 0, got {poll_interval_s}")
        names = [c.name for c in connectors]
        if len(set(names)) != len(names):
            raise ValueError(f"connector names must be unique, got {names}")
        self.store = store
        self.connectors = list(connectors)
        self._poll_interval_s = poll_interval_s
        self._translate = translate
        self._news = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake_on_commits(self, engine: sa.Engine) -> None:
        """Start a round as soon as a transaction on ``engine`` commits outbox rows, from
        any thread, instead of at the next poll: the lag from a change to its delivery is
        then the delivery's own time. Polling stays for retries and missed wake-ups."""

        def committed(connection: sa.Connection) -> None:
            if connection.info.pop(OUTBOX_WRITTEN, False) and self._loop is not None:
                self._loop.call_soon_threadsafe(self._news.set)

        sa.event.listen(engine, "commit", committed)

    async def run(self, *, stopping: Callable[[], bool] = lambda: False) -> None:
        """The stage's body: round after round until cancelled, or until ``stopping()``
        holds (the platform's bus closed), after one last pass for what is due then;
        closes the channels either way."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                last = stopping()
                self._news.clear()
                moved = False
                for connector in self.connectors:
                    moved = await self.round(connector) or moved
                if last:
                    return
                if not moved:
                    # asyncio.timeout, not wait_for, which on Python 3.11 drops a
                    # cancellation that arrives as the news does
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll_interval_s):
                            await self._news.wait()
        finally:
            for connector in self.connectors:
                await connector.channel.close()

    async def round(self, connector: Connector) -> bool:
        """One round for ``connector``; True when a message was delivered or dead-lettered."""
        kinds = connector.kinds
        if kinds is not None and self._translate is not None:
            kinds = self._translate.sources(kinds)
        await asyncio.to_thread(self.store.enrol, connector.name, kinds=kinds)
        refused = 0
        if isinstance(connector.channel, Acknowledging):
            found = await connector.channel.rejections()
            new = [(key, why) for key, why in found if key not in connector.refusals_booked]
            refused = await asyncio.to_thread(self.store.reject_delivered, connector.name, new)
            connector.refusals_booked.update(key for key, _ in new)
            connector.counts[DEAD] += refused
        due = await asyncio.to_thread(self.store.due, connector.name, limit=connector.batch_size)
        if not due:
            return refused > 0
        results = await self._deliver(connector, [item.message for item in due])
        attempts = self._judge(connector, due, results)
        await asyncio.to_thread(self.store.record, connector.name, attempts)
        return any(a.state != PENDING for a in attempts)

    async def _deliver(
        self, connector: Connector, messages: list[OutboundMessage]
    ) -> list[DeliveryResult]:
        """The channel's results for ``messages``, translated first when configured."""
        forms: list[OutboundMessage | str] = list(messages)
        if self._translate is not None:
            forms = await asyncio.to_thread(self._translate, messages)
        wanted = connector.kinds
        skip = {
            m.key for m, f in zip(messages, forms, strict=True)
            if wanted is not None and isinstance(f, OutboundMessage)
            and m.kind not in wanted and f.kind not in wanted
        }  # fmt: skip
        sendable = [f for f in forms if isinstance(f, OutboundMessage) and f.key not in skip]
        sent = await connector.channel.deliver(sendable) if sendable else []
        if len(sent) != len(sendable):
            raise RuntimeError(
                f"channel {connector.name!r} gave {len(sent)} results for {len(sendable)} messages"
            )
        delivered = iter(sent)
        if skip:
            connector.counts["skipped"] = connector.counts.get("skipped", 0) + len(skip)
        return [
            DeliveryResult.rejected(m.key, f) if isinstance(f, str)
            else DeliveryResult(m.key, Outcome.DELIVERED, SKIPPED) if m.key in skip
            else next(delivered)
            for m, f in zip(messages, forms, strict=True)
        ]  # fmt: skip

    def _judge(
        self, connector: Connector, due: Sequence[Due], results: Sequence[DeliveryResult]
    ) -> list[Attempt]:
        now = self.store.now()
        waiting: set[str | None] = set()
        attempts: list[Attempt] = []
        for item, result in zip(due, results, strict=True):
            message, tries = item.message, item.attempts + 1
            if result.outcome is Outcome.DELIVERED:
                attempts.append(Attempt(message.key, DELIVERED, tries))
                connector.refusals_booked.discard(message.key)  # the receiver may refuse anew
            elif result.outcome is Outcome.REJECTED:
                log.warning("%s: %s dead-lettered: %s", connector.name, message.key, result.reason)
                attempts.append(Attempt(message.key, DEAD, tries, error=result.reason))
            elif message.ordering_key is not None and message.ordering_key in waiting:
                continue  # held behind an earlier message of its order: not an attempt
            elif exhausted(tries, policy=connector.retry):
                reason = f"gave up after {tries} attempts: {result.reason}"
                log.warning("%s: %s dead-lettered: %s", connector.name, message.key, reason)
                attempts.append(Attempt(message.key, DEAD, tries, error=reason))
            else:
                delay_s = retry_delay_s(
                    tries, policy=connector.retry, retry_after_s=result.retry_after_s
                )
                when = now + timedelta(seconds=delay_s)
                attempts.append(Attempt(message.key, PENDING, tries, when, result.reason))
                waiting.add(message.ordering_key)
        skipped = {r.key for r in results if r.reason == SKIPPED}
        for attempt in attempts:
            if attempt.key not in skipped:
                connector.counts["retried" if attempt.state == PENDING else attempt.state] += 1
        return attempts

    def health(self) -> dict[str, Any]:
        """What each connector did since the start (for the stage's health)."""
        return {c.name: dict(c.counts) for c in self.connectors}
