"""The bus port: every bus backend (in-process, NATS JetStream) implements this."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from plantos.core.batch import SampleBatch
from plantos.core.events import Event

Message = SampleBatch | Event

SAMPLES = "samples"
EVENTS = "events"


class SubscriptionPort(Protocol):
    name: str
    topic: str
    dropped_samples: int
    closed: bool
    """True once the bus closed: the stream ends after what is queued."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def get(self) -> Message: ...

    def get_nowait(self) -> Message | None:
        """The next message if one is waiting, else ``None``: lets a consumer take what
        queued up while it worked and handle it in one go."""
        ...

    @property
    def depth(self) -> int:
        """Messages waiting for this subscriber: part of its lag."""
        ...

    @property
    def capacity(self) -> int: ...

    def oldest_age_s(self) -> float:
        """How long the oldest waiting message has waited: the other part of its lag."""
        ...


class Bus(Protocol):
    """Topics carry batches or events; each subscriber gets every message, in order."""

    async def publish(self, topic: str, message: Message) -> None:
        """Deliver to every subscriber of ``topic``; waits while a blocking subscriber is full."""
        ...

    def subscribe(self, topic: str, *, name: str, maxsize: int = ...) -> SubscriptionPort: ...

    def metrics(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...
