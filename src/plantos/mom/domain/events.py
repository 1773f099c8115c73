"""The facts the operations domain records. Aggregates collect them; the unit of work writes
them to the outbox in the same transaction as the change, and the platform publishes them
on the bus after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReleased(Event):
    """A production order was created and released to the floor."""

    kind: ClassVar[str] = "OrderReleased"
    product: str
    quantity: int
    due_ns: int
    priority: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStateChanged(Event):
    """An order moved from one state to another (``subject`` is the order id)."""

    kind: ClassVar[str] = "OrderStateChanged"
    previous: str
    state: str
    asset: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAmended(Event):
    """The ERP changed an open order: ``changes`` maps each changed field (``quantity``,
    ``due_ns``, ``release_ns``, ``priority``) to its ``[old, new]`` values."""

    kind: ClassVar[str] = "OrderAmended"
    changes: dict[str, list[Any]] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderProgressed(Event):
    """Parts were booked to an order: the totals after the booking."""

    kind: ClassVar[str] = "OrderProgressed"
    asset: str
    operation: int
    good: int
    scrap: int
    eta_ns: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleChanged(Event):
    """A new plan was published (``subject`` is the trigger's asset or ``plant``).

    ``moved`` lists the operations whose asset or times changed, each a mapping with the
    order, the operation index and the old and new ``asset``/``start_ns``/``end_ns``;
    ``etas`` maps order ids to the end of their last operation."""

    kind: ClassVar[str] = "ScheduleChanged"
    trigger: str
    plan_id: int
    moved: tuple[dict[str, Any], ...] = ()
    etas: dict[str, int] = field(default_factory=dict)
    late_orders: tuple[str, ...] = ()
    solve_ms: float = 0.0
    solver: str = ""
    """``repair`` for the quick plan published first, ``cp-sat`` (or ``dispatch`` when the
    search found nothing better) for the one searched for after it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LotChanged(Event):
    """What every change of lot ``subject`` says: its order, its machine, why and who
    (a person, or the quality loop for ``nonconformance``)."""

    order: str | None
    asset: str
    reason: str
    nonconformance: str | None = None
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LotHeld(LotChanged):
    """Lot ``subject`` went on hold: its parts may not ship or move on."""

    kind: ClassVar[str] = "LotHeld"


@dataclass(frozen=True, slots=True, kw_only=True)
class LotReleased(LotChanged):
    """The hold on lot ``subject`` ended: its parts may ship or move on."""

    kind: ClassVar[str] = "LotReleased"


@dataclass(frozen=True, slots=True, kw_only=True)
class LotScrapped(LotChanged):
    """Lot ``subject`` was scrapped: ``quantity`` good parts became scrap (``booked``: also
    booked as scrap to ``order``, which still took counts)."""

    kind: ClassVar[str] = "LotScrapped"
    quantity: int
    booked: bool
