"""An MTConnect agent as a PlantOS connector: the client's polls on the supervisor's schedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from plantos.core.batch import SampleBatch
from plantos.edge.durations import DurationNs
from plantos.edge.mtconnect.client import MTConnectClient, Position
from plantos.edge.mtconnect.values import ValueType


class MTConnectItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: str
    data_item: str
    enum: dict[str, int] | None = None
    """Text values to numbers, e.g. ``{ACTIVE: 2, READY: 1, STOPPED: 0}`` for execution."""
    value_type: ValueType | None = None
    """``text`` or ``number``, for a data item the MTConnect standard does not type (a
    vendor extension); by default samples and counting events are numbers, other events
    and conditions text (see :mod:`plantos.edge.mtconnect.values`)."""


class MTConnectSpec(BaseModel):
    """``kind: mtconnect`` in the ``connectors`` section of ``plantos.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern="^mtconnect$")
    name: str
    url: str = Field(pattern=r"^https?://")
    interval: DurationNs = 1_000_000_000
    count: int = Field(1000, ge=1, le=100_000)
    items: list[MTConnectItem] = Field(min_length=1)


class MTConnectConnector:
    """Connects by reading the agent's probe; collects with ``/current`` then ``/sample``."""

    def __init__(self, spec: MTConnectSpec, tag_ids: Mapping[str, int]) -> None:
        unknown = [item.tag for item in spec.items if item.tag not in tag_ids]
        if unknown:
            raise ValueError(f"connector {spec.name!r}: unknown tags {', '.join(unknown)}")
        self.name = spec.name
        self.interval_s = spec.interval / 1e9
        self.tag_ids = [tag_ids[item.tag] for item in spec.items]
        self._spec = spec
        self._mapping = {item.data_item: tag_ids[item.tag] for item in spec.items}
        self._enums = {item.data_item: item.enum for item in spec.items if item.enum}
        self._value_types = {i.data_item: i.value_type for i in spec.items if i.value_type}
        self._client: MTConnectClient | None = None
        self._resume: Position | None = None

    async def connect(self) -> None:
        client = MTConnectClient(
            self._spec.url,
            mapping=self._mapping,
            enums=self._enums,
            value_types=self._value_types,
            count=self._spec.count,
            resume_from=self._resume,
        )
        try:
            declared = {item.id for item in await client.probe()}
        except BaseException:
            await client.aclose()
            raise
        missing = sorted(set(self._mapping) - declared)
        if missing:
            await client.aclose()
            raise ValueError(f"agent {self._spec.url} declares no data item {', '.join(missing)}")
        self._client = client

    async def collect(self) -> SampleBatch:
        if self._client is None:
            raise ConnectionError("not connected")
        return await self._client.poll()

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            self._resume = client.position or self._resume
            await client.aclose()

    def metrics(self) -> dict[str, Any]:
        return dict(self._client.metrics) if self._client is not None else {}
