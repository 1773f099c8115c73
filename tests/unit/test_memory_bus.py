"""The in-process bus: order, back-pressure, visible drops, clean shutdown."""

from __future__ import annotations

import asyncio

import pytest

from plantos.bus import MemoryBus, Overflow
from plantos.core.batch import SampleBatch
from plantos.core.events import MachineStateChanged


def batch(i: int) -> SampleBatch:
    return SampleBatch.of([1, 1], [i, i + 1], [float(i), float(i)])


def test_every_subscriber_gets_every_message_in_order() -> None:
    async def main() -> None:
        bus = MemoryBus()
        a = bus.subscribe("samples", name="a", maxsize=100)
        b = bus.subscribe("samples", name="b", maxsize=100)
        for i in range(10):
            await bus.publish("samples", batch(i))
        await bus.close()
        got_a = [m.ts[0] async for m in a]
        got_b = [m.ts[0] async for m in b]
        assert got_a == got_b == list(range(10))

    asyncio.run(main())


def test_a_slow_subscriber_blocks_the_publisher_and_it_shows() -> None:
    async def main() -> None:
        bus = MemoryBus()
        slow = bus.subscribe("samples", name="slow", maxsize=2)
        await bus.publish("samples", batch(0))
        await bus.publish("samples", batch(1))
        third = asyncio.create_task(bus.publish("samples", batch(2)))
        await asyncio.sleep(0.05)
        assert not third.done()  # back-pressure: the publisher waits
        assert slow.metrics()["depth"] == 2
        await slow.get()
        await asyncio.wait_for(third, 1)
        metrics = bus.metrics()["subscribers"]["samples/slow"]
        assert metrics["publisher_blocked_s"] > 0
        assert metrics["dropped_messages"] == 0

    asyncio.run(main())


def test_drop_oldest_counts_every_dropped_message_and_sample() -> None:
    async def main() -> None:
        bus = MemoryBus()
        view = bus.subscribe("samples", name="view", maxsize=3, overflow=Overflow.DROP_OLDEST)
        for i in range(10):
            await bus.publish("samples", batch(i))
        m = view.metrics()
        assert (m["dropped_messages"], m["dropped_samples"], m["depth"]) == (7, 14, 3)
        assert [(await view.get()).ts[0] for _ in range(3)] == [7, 8, 9]

    asyncio.run(main())


def test_events_and_batches_travel_on_their_own_topics() -> None:
    async def main() -> None:
        bus = MemoryBus()
        events = bus.subscribe("events", name="e")
        await bus.publish("samples", batch(0))
        event = MachineStateChanged(ts_ns=1, subject="s/a/l/m", previous="idle", state="running")
        await bus.publish("events", event)
        assert await events.get() is event
        assert bus.metrics()["published"] == {"samples": 1, "events": 1}

    asyncio.run(main())


def test_publishing_after_close_is_an_error_and_iteration_ends() -> None:
    async def main() -> None:
        bus = MemoryBus()
        sub = bus.subscribe("samples", name="s")
        await bus.close()
        assert [m async for m in sub] == []
        with pytest.raises(RuntimeError, match="closed"):
            await bus.publish("samples", batch(0))

    asyncio.run(main())


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        MemoryBus().subscribe("samples", name="x", maxsize=0)
