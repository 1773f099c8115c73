"""The embedded bus: bounded asyncio queues, one per subscriber, with a named overflow policy.

A subscriber that falls behind either slows the publisher down (``Overflow.BLOCK``,
the default: nothing is lost, the back-pressure reaches the source) or loses its
oldest messages (``Overflow.DROP_OLDEST``, for views where only the present
matters). Either way it shows in :meth:`MemoryBus.metrics`: queue depth, how long the oldest
queued message has waited, time the publisher spent blocked on it, and every dropped
message and sample counted.

Closing never waits on a subscriber: a consumer that died with a full queue cannot hold
up shutdown. A live consumer still receives everything queued before the end.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from plantos.bus.protocol import Message
from plantos.core.batch import SampleBatch


class Overflow(enum.Enum):
    BLOCK = "block"
    DROP_OLDEST = "drop-oldest"


class _Closed:
    """Sentinel put in a queue when the bus closes."""


_CLOSED = _Closed()


class Subscription:
    """One subscriber's queue on one topic. Iterate it, or ``await get()``."""

    def __init__(self, topic: str, name: str, maxsize: int, overflow: Overflow) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.topic = topic
        self.name = name
        self.overflow = overflow
        self.queue: asyncio.Queue[Message | _Closed] = asyncio.Queue(maxsize)
        self.delivered = 0
        self.dropped_messages = 0
        self.dropped_samples = 0
        self.blocked_s = 0.0
        self.max_depth = 0
        self.closed = False
        self._enqueued_at: deque[float] = deque()
        """Monotonic time each queued message was put, oldest first: the queue's age."""

    async def put(self, message: Message) -> None:
        q = self.queue
        if q.full():
            if self.overflow is Overflow.DROP_OLDEST:
                old = q.get_nowait()
                self._enqueued_at.popleft()
                self.dropped_messages += 1
                if isinstance(old, SampleBatch):
                    self.dropped_samples += len(old)
            else:
                started = time.perf_counter()
                await q.put(message)
                self.blocked_s += time.perf_counter() - started
                self._seen()
                return
        q.put_nowait(message)
        self._seen()

    def _seen(self) -> None:
        self._enqueued_at.append(time.monotonic())
        self.delivered += 1
        depth = self.queue.qsize()
        if depth > self.max_depth:
            self.max_depth = depth

    async def get(self) -> Message:
        """The next message; raises :class:`StopAsyncIteration` once the bus is closed and
        everything queued before has been taken."""
        if self.closed and self.queue.empty():
            raise StopAsyncIteration
        item = await self.queue.get()
        if isinstance(item, _Closed):
            self.queue.put_nowait(item)
            raise StopAsyncIteration
        self._enqueued_at.popleft()
        return item

    def get_nowait(self) -> Message | None:
        """The next message if one is waiting, else ``None``."""
        if self.queue.empty():
            return None
        item = self.queue.get_nowait()
        if isinstance(item, _Closed):
            self.queue.put_nowait(item)
            return None
        self._enqueued_at.popleft()
        return item

    def oldest_age_s(self) -> float:
        """How long the oldest queued message has waited (0 when the queue is empty)."""
        return time.monotonic() - self._enqueued_at[0] if self._enqueued_at else 0.0

    def end(self) -> None:
        """Mark the end of the stream without waiting: a full queue gets no end marker, and
        :meth:`get` ends the stream once the queue runs empty instead."""
        self.closed = True
        if not self.queue.full():
            self.queue.put_nowait(_CLOSED)

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.get()
            except StopAsyncIteration:
                return

    @property
    def depth(self) -> int:
        """Messages waiting (the end marker is not one)."""
        return len(self._enqueued_at)

    @property
    def capacity(self) -> int:
        return self.queue.maxsize

    def metrics(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "overflow": self.overflow.value,
            "depth": self.depth,
            "oldest_age_s": round(self.oldest_age_s(), 3),
            "capacity": self.queue.maxsize,
            "max_depth": self.max_depth,
            "delivered": self.delivered,
            "dropped_messages": self.dropped_messages,
            "dropped_samples": self.dropped_samples,
            "publisher_blocked_s": round(self.blocked_s, 6),
        }


class MemoryBus:
    """In-process bus for the embedded deployment."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Subscription]] = {}
        self._published: dict[str, int] = {}
        self._closed = False

    def subscribe(
        self, topic: str, *, name: str, maxsize: int = 64, overflow: Overflow = Overflow.BLOCK
    ) -> Subscription:
        sub = Subscription(topic, name, maxsize, overflow)
        self._subs.setdefault(topic, []).append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic, [])
        if sub in subs:
            subs.remove(sub)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` began: subscribers have been told the stream ends."""
        return self._closed

    async def publish(self, topic: str, message: Message) -> None:
        if self._closed:
            raise RuntimeError("bus is closed")
        self._published[topic] = self._published.get(topic, 0) + 1
        for sub in list(self._subs.get(topic, ())):
            await sub.put(message)

    def metrics(self) -> dict[str, Any]:
        return {
            "published": dict(self._published),
            "subscribers": {
                f"{s.topic}/{s.name}": s.metrics() for subs in self._subs.values() for s in subs
            },
        }

    async def close(self) -> None:
        """Tell every subscriber the stream ends after what is already queued; never waits."""
        self._closed = True
        for subs in self._subs.values():
            for sub in subs:
                sub.end()
