"""Waiting in async tests on a condition or on a connector's samples, bounded in time:
tests wait for what they expect instead of sleeping a guessed while."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from plantos.core.batch import SampleBatch
from plantos.edge.connector import Connector

WAIT_S = 5.0


async def until(cond: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Return once ``cond()`` holds; fail the test after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def gather(
    conn: Connector, done: Callable[[SampleBatch], bool], timeout: float = WAIT_S
) -> SampleBatch:
    """Collect until ``done`` holds for everything collected so far."""
    batches: list[SampleBatch] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        batches.append(await conn.collect())
        total = SampleBatch.concat(batches)
        if done(total):
            return total
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out; got {total.tag_id.tolist()}, {total.value.tolist()}")
        await asyncio.sleep(0.02)
