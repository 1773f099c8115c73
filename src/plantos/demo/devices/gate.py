"""A connector that does not dial its device before the device is up.

The demo's devices start on the platform's own event loop, next to the connectors that
read them; without the gate each connector's first attempts would fail and back off
for seconds while the servers boot. The gate also tells the devices when every
connector has hung up, so they stop after their clients, as a plant outlives PlantOS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from plantos.core.batch import SampleBatch
from plantos.edge.connector import Connector


class WhenReady:
    """Wraps ``inner``: :meth:`connect` first waits for ``ready``; otherwise unchanged."""

    def __init__(self, inner: Connector, ready: asyncio.Event) -> None:
        self.inner = inner
        self._ready = ready
        self.open = False

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def interval_s(self) -> float:
        return self.inner.interval_s

    @property
    def reports_by_exception(self) -> bool:
        return bool(getattr(self.inner, "reports_by_exception", False))

    @property
    def tag_ids(self) -> Sequence[int]:
        return self.inner.tag_ids

    async def connect(self) -> None:
        await self._ready.wait()
        await self.inner.connect()
        self.open = True

    async def collect(self) -> SampleBatch:
        return await self.inner.collect()

    async def close(self) -> None:
        try:
            await self.inner.close()
        finally:
            self.open = False

    def metrics(self) -> dict[str, Any]:
        return self.inner.metrics()
