"""Moves the simulated plant along the demo's clock and hands each device its samples.

Every scan (:data:`~plantos.demo.devices.specs.SCAN_S` of wall time) the simulator is
stepped to the clock's now. A device, like a real controller, takes the latest value of
each of its tags at its scan: at ``--speed 1`` that is every sample of a 1 s tag, at
``--speed 60`` one sample in fifteen. Waveform snapshots are the exception: a
condition-monitoring sensor sends every sample of a snapshot, so they go unthinned.

The simulator's own events are its ground truth: the platform derives state changes,
parts and alarms from the tags it receives, as it would from real machines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.demo.devices.pace import Pacer
from plantos.demo.devices.specs import SCAN_S
from plantos.demo.simulator import Simulator

Write = Callable[[SampleBatch], Awaitable[None]]


def latest_per_tag(batch: SampleBatch) -> SampleBatch:
    """The last sample of each tag in a time-ordered ``batch``, still in time order.

    >>> b = SampleBatch.of([1, 2, 1], [10, 10, 20], [1.0, 5.0, 2.0])
    >>> latest_per_tag(b).value.tolist()
    [5.0, 2.0]
    """
    if len(batch) == 0:
        return batch
    reversed_ids = batch.tag_id[::-1]
    _, first_from_end = np.unique(reversed_ids, return_index=True)
    return batch.select(np.sort(len(batch) - 1 - first_from_end))


@dataclass(frozen=True)
class Route:
    """Which tags a device takes, and whether it takes every sample or its scan's latest."""

    tag_ids: npt.NDArray[np.int32]
    write: Write
    every_sample: bool = False

    def part(self, batch: SampleBatch) -> SampleBatch:
        mine = batch.select(np.isin(batch.tag_id, self.tag_ids))
        return mine if self.every_sample else latest_per_tag(mine)


class DeviceDriver:
    """Steps ``simulator`` and feeds ``routes``."""

    def __init__(
        self,
        simulator: Simulator,
        clock: Clock,
        routes: list[Route],
        *,
        pacer: Pacer | None = None,
    ) -> None:
        self.simulator = simulator
        self.clock = clock
        self.routes = routes
        self.pacer = pacer
        self.tap: Callable[[SampleBatch], None] | None = None
        """Sees every batch the simulator makes (a soak test compares it with what arrived)."""
        self.samples = 0
        self.steps = 0

    async def step(self, until_ns: int) -> None:
        """One scan: simulate up to ``until_ns`` and write what each device takes."""
        batch, _ground_truth = self.simulator.step(until_ns)
        self.samples += len(batch)
        self.steps += 1
        if self.tap is not None:
            self.tap(batch)
        for route in self.routes:
            part = route.part(batch)
            if len(part):
                await route.write(part)

    async def prime(self, latest: SampleBatch) -> None:
        """Give the devices the values they would hold after the history imported directly."""
        for route in self.routes:
            part = latest.select(np.isin(latest.tag_id, route.tag_ids))
            if len(part):
                await route.write(part)

    async def run(self) -> None:
        """Scan forever; a slow scan is followed at once by one that catches up, and the
        pacer (if any) slows the clock down when catching up becomes the rule."""
        while True:
            started = time.monotonic()
            await self.step(max(self.clock.now_ns(), self.simulator.now_ns))
            if self.pacer is not None:
                self.pacer.observe(self.simulator.now_ns)
            await asyncio.sleep(max(SCAN_S - (time.monotonic() - started), 0.0))
