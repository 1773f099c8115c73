"""The connector port: how to talk to one device or server. When to connect, how often to
collect and what to do when the link breaks is the supervisor's job, done once for all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from plantos.core.batch import SampleBatch


class Connector(Protocol):
    @property
    def name(self) -> str:
        """Unique among the platform's connectors; names it in logs and metrics."""
        ...

    @property
    def interval_s(self) -> float:
        """How often :meth:`collect` is called: the poll interval, or how often samples
        pushed by the device (OPC UA subscriptions, MQTT) are handed over."""
        ...

    @property
    def tag_ids(self) -> Sequence[int]:
        """Every tag this connector feeds; marked bad by the supervisor when the link drops."""
        ...

    async def connect(self) -> None:
        """Open the link; raise if the device cannot be reached."""
        ...

    async def collect(self) -> SampleBatch:
        """The samples of one cycle. Raise when the link is lost; a device that answers
        with an error for some values returns those values with a Bad quality instead."""
        ...

    async def close(self) -> None: ...

    def metrics(self) -> dict[str, Any]: ...
