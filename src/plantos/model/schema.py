"""The shape of ``plantos.yaml``, validated by pydantic.

This module checks each value on its own (types, ranges, formats). Whether
names refer to things that exist, and whether tag paths are unique, is checked
across the whole file in :mod:`plantos.model.plant`.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plantos.core.timeparse import parse_duration_ns

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ID_RULE = "lowercase letters, digits, '-' and '_', starting with a letter or digit"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid name: use {ID_RULE}")
    return value


def check_duration(value: str) -> str:
    parse_duration_ns(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WaveformSpec(_Strict):
    """A burst of raw samples taken every ``every``, as condition-monitoring sensors report."""

    rate_hz: float = Field(gt=0, le=1_000_000)
    samples: int = Field(gt=0, le=1_048_576)
    every: str

    _every = field_validator("every")(check_duration)


class TagSpec(_Strict):
    """One signal of an asset."""

    signal: str
    type: Literal["float", "int", "uint", "bool", "enum", "text"] = "float"
    max_length: int | None = Field(default=None, gt=0, le=65_536)
    unit: str | None = None
    range: tuple[float, float] | None = None
    sampling: str = "1s"
    states: dict[int, str] | None = None
    waveform: WaveformSpec | None = None
    description: str = ""
    entry: Literal["machine", "manual"] = "machine"
    """``manual``: no device gives this value; operators enter it on the station page."""

    _signal = field_validator("signal")(check_id)
    _sampling = field_validator("sampling")(check_duration)


class AssetType(_Strict):
    """A template shared by many assets: their tags and how the simulator models them."""

    description: str = ""
    simulator: dict[str, Any] | None = None
    tags: list[TagSpec] = Field(default_factory=list)


class _Named(_Strict):
    """A level of the hierarchy: a name used in paths, and a label for people."""

    id: str
    name: str = ""

    _id = field_validator("id")(check_id)


class AssetSpec(_Named):
    type: str | None = None
    parent: str | None = None
    criticality: Literal["low", "medium", "high", "critical"] = "medium"
    calendar: str | None = None
    simulator: dict[str, Any] | None = None
    tags: list[TagSpec] = Field(default_factory=list)


class LineSpec(_Named):
    calendar: str | None = None
    assets: list[AssetSpec] = Field(default_factory=list)


class AreaSpec(_Named):
    lines: list[LineSpec] = Field(default_factory=list)


class SiteSpec(_Named):
    calendar: str | None = None
    areas: list[AreaSpec] = Field(default_factory=list)


class ShiftSpec(_Strict):
    name: str
    start: time
    end: time
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))


class BreakSpec(_Strict):
    name: str
    start: time
    duration: str
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))

    _duration = field_validator("duration")(check_duration)


class DowntimeSpec(_Strict):
    """A one-off planned stop (maintenance shutdown, holiday), in the calendar's time zone."""

    name: str
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> DowntimeSpec:
        if self.end <= self.start:
            raise ValueError(f"planned downtime {self.name!r} ends before it starts")
        return self


class CalendarSpec(_Strict):
    timezone: str = "UTC"
    shifts: list[ShiftSpec] = Field(min_length=1)
    breaks: list[BreakSpec] = Field(default_factory=list)
    planned_downtime: list[DowntimeSpec] = Field(default_factory=list)


class RollupSpec(_Strict):
    width: str
    retention: str | None = None

    _width = field_validator("width")(check_duration)


def check_memory_size(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value.strip()):
        raise ValueError(f"{value!r} is not a memory size (write e.g. 512MB or 2GB)")
    return value.strip()


class HistorianSpec(_Strict):
    url: str | None = None
    raw_retention: str | None = None
    memory_limit: str = "512MB"
    """Cap on the embedded historian's cache; resident memory stays bounded by it."""

    _memory_limit = field_validator("memory_limit")(check_memory_size)
    rollups: list[RollupSpec] = Field(
        default_factory=lambda: [
            RollupSpec(width="1m", retention="400d"),
            RollupSpec(width="1h", retention=None),
        ]
    )


class EnterpriseSpec(_Named):
    """The enterprise: the root of every path's hierarchy."""


class PlantSpec(_Strict):
    """The whole ``plantos.yaml``."""

    plantos: Literal[1] = 1
    enterprise: EnterpriseSpec
    historian: HistorianSpec = Field(default_factory=HistorianSpec)
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    asset_types: dict[str, AssetType] = Field(default_factory=dict)
    sites: list[SiteSpec] = Field(default_factory=list)
    assets: list[AssetSpec] = Field(default_factory=list)
    security: dict[str, Any] = Field(default_factory=dict)
    """Zones, conduits and writable setpoints; validated by the security layer."""
    connectors: list[dict[str, Any]] = Field(default_factory=list)
    """Device connections; each is validated by the edge layer for its ``kind``."""
    analytics: dict[str, Any] = Field(default_factory=dict)
    """Judgements (OEE, SPC, anomaly detection); validated by the analytics layer."""
    mom: dict[str, Any] = Field(default_factory=dict)
    """Manufacturing operations (database, master data file); validated by the mom layer."""
    maintenance: dict[str, Any] = Field(default_factory=dict)
    """Maintenance policy and failure catalogue; validated by the maintenance domain."""
    notifications: dict[str, Any] = Field(default_factory=dict)
    """Notification channels and routing rules; validated by the notification layer."""
    entry: dict[str, Any] = Field(default_factory=dict)
    """Checklists and scrap reasons for manual entry; validated by ``plantos.mom.entry``."""
    quality: dict[str, Any] = Field(default_factory=dict)
    """Inspections, holds and notification of nonconformances; validated by the quality
    domain."""
