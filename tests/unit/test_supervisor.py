"""The supervisor: reconnects with capped back-off, marks tags bad on a lost link, counts."""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.edge.supervisor import Supervisor


class ScriptedConnector:
    """A connector at the port: fails or answers as its script says."""

    name = "scripted"
    interval_s = 0.0
    tag_ids = (1, 2)

    def __init__(self, connects: list[bool], collects: list[int | Exception]) -> None:
        self.connects = connects
        self.collects = collects
        self.closed = 0

    async def connect(self) -> None:
        if not self.connects.pop(0):
            raise ConnectionRefusedError("device down")

    async def collect(self) -> SampleBatch:
        if not self.collects:
            await asyncio.Event().wait()  # nothing more: idle until cancelled
        step = self.collects.pop(0)
        if isinstance(step, Exception):
            raise step
        return SampleBatch.of([1, 2], [step, step], [1.0, 2.0])

    async def close(self) -> None:
        self.closed += 1

    def metrics(self) -> dict[str, Any]:
        return {"scripted": True}


def run(
    connector: ScriptedConnector, until: int
) -> tuple[Supervisor, list[SampleBatch], list[float]]:
    received: list[SampleBatch] = []
    sleeps: list[float] = []

    async def sink(batch: SampleBatch) -> None:
        received.append(batch)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    supervisor = Supervisor(
        connector,
        sink,
        clock=ManualClock(999),
        sleep=sleep,
        rng=random.Random(1),
        backoff_initial_s=0.5,
        backoff_max_s=4.0,
    )

    async def main() -> None:
        task = asyncio.create_task(supervisor.run())
        while len(received) < until:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(main(), 10))
    return supervisor, received, sleeps


def test_connect_failures_back_off_doubling_up_to_the_cap() -> None:
    connector = ScriptedConnector([False] * 6 + [True], [10])
    supervisor, received, sleeps = run(connector, until=1)
    backoffs = sleeps[:6]
    assert all(b <= s <= b * 1.1 for s, b in zip(backoffs, [0.5, 1, 2, 4, 4, 4], strict=True))
    assert supervisor.errors == 6 and supervisor.connected
    assert received[0].ts.tolist() == [10, 10]


def test_a_lost_link_marks_every_tag_bad_then_reconnects() -> None:
    connector = ScriptedConnector([True, True], [10, ConnectionResetError("gone"), 20])
    supervisor, received, _ = run(connector, until=3)
    good, bad, again = received
    assert good.quality.tolist() == [quality.GOOD] * 2
    assert bad.tag_id.tolist() == [1, 2] and bad.ts.tolist() == [999, 999]
    assert all(math.isnan(v) for v in bad.value)
    assert bad.quality.tolist() == [quality.BAD_COMMUNICATION_ERROR] * 2
    assert again.ts.tolist() == [20, 20]
    m = supervisor.metrics()
    assert (m["reconnects"], m["errors"], m["samples"], m["last_good_sample_ns"]) == (1, 1, 4, 20)
    assert "ConnectionResetError: gone" in m["last_error"] and m["scripted"] is True
    assert connector.closed >= 1


def test_backoff_settings_are_checked() -> None:
    async def sink(batch: SampleBatch) -> None: ...

    with pytest.raises(ValueError, match="backoff"):
        Supervisor(ScriptedConnector([], []), sink, backoff_initial_s=5, backoff_max_s=1)


def test_back_pressure_from_the_sink_is_measured() -> None:
    """A sink that holds the supervisor (a full bus queue) shows in ``sink_wait_s``: the
    figure that tells a slow consumer from a slow device."""
    connector = ScriptedConnector([True], [10, 20])
    held_s = 0.05

    async def slow_sink(batch: SampleBatch) -> None:
        await asyncio.sleep(held_s)

    supervisor = Supervisor(connector, slow_sink, clock=ManualClock(0))

    async def main() -> None:
        task = asyncio.create_task(supervisor.run())
        while supervisor.samples < 4:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(main(), 10))
    m = supervisor.metrics()
    assert m["max_sink_wait_s"] >= held_s
    assert m["sink_wait_s"] >= 2 * held_s
    assert m["max_collect_s"] < m["max_sink_wait_s"]
