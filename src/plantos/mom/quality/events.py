"""The facts nonconformances record; the unit of work writes them to the outbox in the
same transaction as the change, so the ERP connector can deliver quality holds and
nonconformances (``subject`` is the nonconformance id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class NonconformanceOpened(Event):
    """A characteristic went out of control or failed inspection while ``order`` ran on
    ``asset`` filling ``lot``; ``hold`` is True when ``hold_target`` (the ``order`` or the
    ``lot``) was put on hold for it."""

    kind: ClassVar[str] = "NonconformanceOpened"
    asset: str
    characteristic: str
    trigger: str
    order: str | None
    hold: bool
    lot: str | None = None
    hold_target: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NonconformanceDispositioned(Event):
    """Someone decided what happens to the affected parts: ``disposition`` is
    ``use_as_is``, ``rework`` or ``scrap``; ``scrapped`` parts were booked as scrap to
    ``order``; ``hold_released`` says whether the hold (of the order or of ``lot``) ended."""

    kind: ClassVar[str] = "NonconformanceDispositioned"
    asset: str
    characteristic: str
    order: str | None
    disposition: str
    scrapped: int
    hold_released: bool
    by: str
    lot: str | None = None
