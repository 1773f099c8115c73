"""Delivering queued notifications through the channels, with retries and back-off.

Each round takes the due notifications, hands each channel its share (the notification's
id is the message's idempotency key, so a receiver that got a message before its answer
was lost books it once), and records every outcome: delivered, retried after a capped
exponential back-off, or rejected with the receiver's reason. A notification is marked
delivered as soon as a channel says so and is never sent again after that.

Database work runs in worker threads; the channels are async. Retry times are on the
wall clock: they are about real receivers, also when the plant's clock is simulated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterable, Mapping
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.integration.channels.base import Channel, OutboundMessage, Outcome
from plantos.integration.channels.retry import RetryPolicy, exhausted, retry_delay_s
from plantos.integration.notify import store
from plantos.integration.notify.escalation import Escalator
from plantos.integration.notify.store import Notification

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        engine: sa.Engine,
        channels: Mapping[str, Channel],
        *,
        wall: Clock,
        retry: RetryPolicy,
        unusable: Mapping[str, str] | None = None,
        escalator: Escalator | None = None,
        batch: int = 100,
    ) -> None:
        self.engine = engine
        self.channels = dict(channels)
        self.unusable = dict(unusable or {})
        """Configured channels that could not be built, with why: retried, not lost."""
        self.wall = wall
        self.escalator = escalator
        """Takes unacknowledged station notifications further, each round."""
        self.retry = retry
        self.batch = batch
        self.counters: Counter[str] = Counter()
        self.wake = asyncio.Event()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall.now_ns() / 1e9, tz=UTC)

    async def run_once(self) -> int:
        """One round (escalations first, then deliveries); the number it delivered."""
        if self.escalator is not None:
            self.counters["escalated"] += await asyncio.to_thread(self.escalator.run_once)
        due = await asyncio.to_thread(store.due, self.engine, now=self._now(), limit=self.batch)
        by_channel: dict[str, list[Notification]] = defaultdict(list)
        for item in due:
            by_channel[item.channel].append(item)
        delivered = 0
        for name, items in by_channel.items():
            delivered += await self._deliver(name, items)
        return delivered

    async def _deliver(self, name: str, items: list[Notification]) -> int:
        channel = self.channels.get(name)
        if channel is None:
            reason = self.unusable.get(name, f"no channel named {name!r} is configured")
            for item in items:
                await self._failed(item, reason, None)
            return 0
        results = await channel.deliver([_message(item) for item in items])
        delivered = 0
        for item, result in zip(items, results, strict=True):
            if result.outcome is Outcome.DELIVERED:
                delivered += 1
                self.counters["delivered"] += 1
                await asyncio.to_thread(
                    store.settle, self.engine, item.id, state="delivered",
                    attempts=item.attempts + 1, delivered_at=self._now(), last_error=None,
                )  # fmt: skip
            elif result.outcome is Outcome.REJECTED:
                self.counters["rejected"] += 1
                log.warning("notification %s rejected by %s: %s", item.id, name, result.reason)
                await asyncio.to_thread(
                    store.settle, self.engine, item.id, state="rejected",
                    attempts=item.attempts + 1, last_error=result.reason,
                )  # fmt: skip
            else:
                await self._failed(item, result.reason, result.retry_after_s)
        return delivered

    async def _failed(self, item: Notification, reason: str, retry_after_s: float | None) -> None:
        attempts = item.attempts + 1
        self.counters["retries"] += 1
        if exhausted(attempts, policy=self.retry):
            values: dict[str, object] = {"state": "rejected"}
        else:
            delay = retry_delay_s(attempts, policy=self.retry, retry_after_s=retry_after_s)
            values = {
                "state": "retrying",
                "next_attempt_at": self._now() + timedelta(seconds=delay),
            }
        await asyncio.to_thread(
            store.settle, self.engine, item.id, attempts=attempts, last_error=reason, **values
        )

    async def follow(self, events: AsyncIterable[object], *, idle_s: float = 1.0) -> None:
        """Deliver while ``events`` flows (the stage ends with the bus): a round when
        :attr:`wake` is set (notifications were queued), one every ``idle_s`` for retries;
        a last round when the stream ends. A failing round is logged and counted."""
        rounds = asyncio.create_task(self._rounds(idle_s))
        try:
            async for _ in events:
                if rounds.done():
                    rounds = asyncio.create_task(self._rounds(idle_s))
        finally:
            rounds.cancel()
            await asyncio.gather(rounds, return_exceptions=True)
            await self._round()
            await self.close()

    async def _rounds(self, idle_s: float) -> None:
        while True:
            await self._round()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel
            # that arrives as the wake-up does, and the stage's stop then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle_s):
                    await self.wake.wait()
            self.wake.clear()

    async def _round(self) -> None:
        try:
            await self.run_once()
        except Exception:
            self.counters["round_errors"] += 1
            log.exception("a notification delivery round failed")

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()


def _message(item: Notification) -> OutboundMessage:
    payload = {
        "subject": f"[P{item.priority}] {item.title}",
        "text": _text(item),
        "asset": item.asset,
        "kind": item.kind,
        "priority": item.priority,
        "reference": item.reference,
        "occurrences": item.occurrences,
        **item.body,
    }
    return OutboundMessage(
        key=item.id,
        kind=item.kind,
        payload=payload,
        created=datetime.fromtimestamp(item.created_ns / 1e9, tz=UTC),
        ordering_key=item.asset,
        recipients=(item.recipient,) if item.recipient else (),
    )


def _text(item: Notification) -> str:
    lines = [item.title, "", f"Asset: {item.asset}", f"Reference: {item.reference}"]
    if item.occurrences > 1:
        lines.append(f"Reported {item.occurrences} times since the first notice.")
    lines += [f"{k}: {v}" for k, v in item.body.items() if not isinstance(v, dict | list)]
    return "\n".join(lines)
