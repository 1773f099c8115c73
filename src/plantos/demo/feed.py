"""Feeds the simulator's samples into a platform, the way a connector would.

The simulator's own events (state changes, parts, inspections) are its ground truth, not
the platform's: the platform derives those facts from the tags (the analytics stage), as
it must in a real plant, and the ground truth only checks it (the headless report).

The simulator produces in simulated time; this feed decides how fast that time
passes: as fast as possible (headless), or up to the live demo's now, to import the
backfill of recent history so charts are not empty. After the backfill the live demo's
samples reach the platform through protocol devices (:mod:`plantos.demo.devices`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from plantos.app import Platform
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.simulator import Simulator

SOURCE = "simulator"


class SimulatorFeed:
    """``tap`` sees every batch ingested: the protocol demo keeps the latest values from it,
    to hand them to its devices when they take over from the direct feed."""

    def __init__(
        self,
        platform: Platform,
        simulator: Simulator,
        *,
        chunk_ns: int,
        tap: Callable[[SampleBatch], None] | None = None,
    ) -> None:
        if chunk_ns <= 0:
            raise ValueError(f"chunk must be positive, got {chunk_ns}")
        self.platform = platform
        self.simulator = simulator
        self.chunk_ns = chunk_ns
        self.tap = tap
        self.samples = 0

    async def advance_to(self, until_ns: int) -> None:
        """Produce up to ``until_ns`` in chunks, so the bus sees bounded batches."""
        while self.simulator.now_ns < until_ns:
            step_end = min(until_ns, self.simulator.now_ns + self.chunk_ns)
            batch, _ground_truth = self.simulator.step(step_end)
            self.samples += len(batch)
            await self.platform.ingest(batch, source=SOURCE)
            if self.tap is not None:
                self.tap(batch)
            await asyncio.sleep(0)  # let the web server and the writer breathe while catching up

    async def run_until(
        self,
        end_ns: int,
        clock: ManualClock,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        """Headless: move the manual clock chunk by chunk to ``end_ns``, without waiting."""
        while self.simulator.now_ns < end_ns:
            target = min(end_ns, self.simulator.now_ns + self.chunk_ns)
            clock.advance_to(target)
            await self.advance_to(target)
            if on_progress is not None:
                on_progress(target)


def live_simulation_start(now_ns: int, backfill_ns: int, newest_ns: int | None) -> int:
    """Where a live demo's simulation starts: ``backfill`` before now, but never before the
    end of the history a previous run left (at ``--speed`` above 1 that may lie ahead of the
    wall clock), so one tag never gets two pasts."""
    start = now_ns - backfill_ns
    if newest_ns is not None and newest_ns >= start:
        start = newest_ns - newest_ns % NS + NS
    return start
