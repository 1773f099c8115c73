"""The facts work orders record; the unit of work writes them to the outbox in the same
transaction as the change (``subject`` is the work order id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderOpened(Event):
    """A work order was requested on ``asset``."""

    kind: ClassVar[str] = "WorkOrderOpened"
    asset: str
    order_kind: str
    priority: int
    failure_mode: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderUpdated(Event):
    """A work order changed: ``change`` says what (a state, ``evidence``, ``window``,
    ``priority``, ``labour``, ``parts``); ``state`` is the state after the change."""

    kind: ClassVar[str] = "WorkOrderUpdated"
    asset: str
    change: str
    state: str
    priority: int
    by: str
