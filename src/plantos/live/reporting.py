"""How each tag reports, and so when its newest value counts as late.

A value that has not changed for a minute is not necessarily old news. Three ways a
value reaches PlantOS, three meanings of silence:

* **by exception** (OPC UA subscriptions, Sparkplug B, MQTT): the device sends a value
  when it changes. Silence on a live link means "unchanged"; a broken link is shown as
  bad quality by the connector's supervisor, not as age. Such a tag is never late by age.
* **polled** (Modbus TCP): each poll stamps what it read with the platform's clock, so a
  value is late after a few poll intervals without one (:data:`LATE_AFTER_PERIODS`).
* **sampled** (no connector: a direct feed or an import): the tag's sampling period from
  the plant file, or its snapshot period for a waveform.

The browser measures ages in platform time; a poll interval is wall time, so it is sent as
such and scaled by the platform's rate there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from plantos.model import TagDef

Mode = Literal["exception", "poll", "sample"]
LATE_AFTER_PERIODS = 3
"""Periods without a new value before a polled or sampled value counts as late."""


class Source(Protocol):
    """What a connector tells about its tags' reporting."""

    @property
    def tag_ids(self) -> Sequence[int]: ...

    @property
    def interval_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Reporting:
    """``mode`` and its period: wall milliseconds for ``poll``, platform milliseconds for
    ``sample``, none for ``exception``."""

    mode: Mode
    period_ms: float | None

    def late_after_ms(self, rate: float = 1.0) -> float | None:
        """Age (platform ms) beyond which a value is late, at ``rate`` platform seconds per
        wall second; None: never by age.

        >>> Reporting("poll", 500.0).late_after_ms(rate=10.0)
        15000.0
        >>> Reporting("exception", None).late_after_ms() is None
        True
        """
        if self.period_ms is None:
            return None
        scale = rate if self.mode == "poll" else 1.0
        return LATE_AFTER_PERIODS * self.period_ms * scale


def sampled(tag: TagDef) -> Reporting:
    """A tag fed without a connector: its sampling period, or its waveform's snapshot period."""
    every_ns = tag.waveform.every_ns if tag.waveform else tag.sampling_ns
    return Reporting("sample", every_ns / 1e6)


def tag_reporting(tags: Mapping[int, TagDef], sources: Iterable[Source]) -> dict[int, Reporting]:
    """Per tag id, how it reports: from the connector that feeds it (``reports_by_exception``
    set to True on it, or polled at its ``interval_s``), else :func:`sampled`."""
    out = {tag_id: sampled(tag) for tag_id, tag in tags.items()}
    for source in sources:
        by_exception = bool(getattr(source, "reports_by_exception", False))
        reporting = (
            Reporting("exception", None)
            if by_exception
            else Reporting("poll", source.interval_s * 1000)
        )
        for tag_id in source.tag_ids:
            if tag_id in out:
                out[tag_id] = reporting
    return out
