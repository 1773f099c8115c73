"""PlantOS's own view of what it exchanges with an ERP, independent of any B2MML version.

Every class is a small frozen dataclass that checks its invariants on construction
(a negative quantity or a naive timestamp is a :class:`ValueError` showing the value),
so an encoder never has to guess. Timestamps are timezone-aware; documents carry UTC.
:mod:`.payload` gives their JSON form, so every channel carries the same fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


def _text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _quantity(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _order(start_name: str, start: datetime | None, end_name: str, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(f"{end_name} {end.isoformat()} is before {start_name} {start.isoformat()}")


@dataclass(frozen=True)
class MaterialQuantity:
    """An amount of one material, optionally from one lot (material consumed by an order)."""

    material: str
    quantity: float
    unit: str
    lot: str | None = None

    def __post_init__(self) -> None:
        _text("material", self.material)
        _text("unit", self.unit)
        _quantity("quantity", self.quantity)


@dataclass(frozen=True)
class PerformanceReport:
    """Good and scrap quantities of one order's operation in one shift, between ``start``
    and ``end``. ``final`` marks the confirmation sent when the order completes (the ERP
    closes the order on it). ``idempotency_key`` identifies this report on every channel:
    a receiver that has seen it must not book it twice."""

    order_id: str
    product: str
    operation: str
    shift: str
    good: float
    scrap: float
    unit: str
    start: datetime
    end: datetime
    idempotency_key: UUID
    final: bool = False
    equipment: str | None = None
    consumed: tuple[MaterialQuantity, ...] = ()

    def __post_init__(self) -> None:
        for name in ("order_id", "product", "operation", "shift", "unit"):
            _text(name, getattr(self, name))
        _quantity("good", self.good)
        _quantity("scrap", self.scrap)
        _aware("start", self.start)
        _aware("end", self.end)
        _order("start", self.start, "end", self.end)


@dataclass(frozen=True)
class ScheduledOperation:
    """One step of an order's routing, optionally on a named machine and in a window."""

    operation: str
    equipment: str | None = None
    earliest_start: datetime | None = None
    latest_end: datetime | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        _text("operation", self.operation)
        _aware("earliest_start", self.earliest_start)
        _aware("latest_end", self.latest_end)
        _order("earliest_start", self.earliest_start, "latest_end", self.latest_end)
        if self.duration_s is not None:
            _quantity("duration_s", self.duration_s)


@dataclass(frozen=True)
class ScheduledOrder:
    """A production order as the ERP releases it (inbound) or as PlantOS reschedules it
    (outbound): the ERP's order number, what and how much to make, when, and how."""

    erp_order_id: str
    product: str
    quantity: float
    unit: str
    release: datetime | None = None
    due: datetime | None = None
    priority: int | None = None
    operations: tuple[ScheduledOperation, ...] = field(default_factory=tuple)
    cancelled: bool = False
    """The ERP withdrew the order: it leaves the schedule."""

    def __post_init__(self) -> None:
        _text("erp_order_id", self.erp_order_id)
        _text("product", self.product)
        _text("unit", self.unit)
        _quantity("quantity", self.quantity)
        _aware("release", self.release)
        _aware("due", self.due)
        _order("release", self.release, "due", self.due)


@dataclass(frozen=True)
class MaintenanceOrder:
    """A maintenance work order as the ERP's maintenance module sees it: which asset, what
    kind (corrective, preventive, predictive), how urgent, and the planned window."""

    work_order_id: str
    asset: str
    kind: str
    priority: int
    description: str
    failure_mode: str | None = None
    earliest_start: datetime | None = None
    latest_end: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("work_order_id", "asset", "kind", "description"):
            _text(name, getattr(self, name))
        _aware("earliest_start", self.earliest_start)
        _aware("latest_end", self.latest_end)
        _order("earliest_start", self.earliest_start, "latest_end", self.latest_end)


@dataclass(frozen=True)
class LabourEntry:
    """Hours one person worked on a work order (the ERP costs labour from it)."""

    person: str
    hours: float

    def __post_init__(self) -> None:
        _text("person", self.person)
        _quantity("hours", self.hours)


@dataclass(frozen=True)
class MaintenanceReport:
    """A work order's outcome for the ERP's maintenance module: when the work ran, who
    worked how long, which spare parts went in, and the ISO 14224 failure mode, cause
    and remedy. ``completed`` False reports progress on a work order still open."""

    work_order_id: str
    asset: str
    kind: str
    start: datetime
    end: datetime
    idempotency_key: UUID
    completed: bool = True
    failure_mode: str | None = None
    cause: str | None = None
    remedy: str | None = None
    labour: tuple[LabourEntry, ...] = ()
    parts: tuple[MaterialQuantity, ...] = ()

    def __post_init__(self) -> None:
        for name in ("work_order_id", "asset", "kind"):
            _text(name, getattr(self, name))
        _aware("start", self.start)
        _aware("end", self.end)
        _order("start", self.start, "end", self.end)


EQUIPMENT_LEVELS = frozenset(
    {"Enterprise", "Site", "Area", "ProcessCell", "Unit", "ProductionLine", "WorkCell",
     "ProductionUnit", "StorageZone", "StorageUnit", "WorkCenter", "WorkUnit",
     "EquipmentModule", "ControlModule"}
)  # fmt: skip


@dataclass(frozen=True)
class EquipmentRecord:
    """One piece of the ISA-95 equipment hierarchy as master data for the ERP, with its
    children (a line holds its machines)."""

    equipment_id: str
    description: str
    level: str
    children: tuple[EquipmentRecord, ...] = ()

    def __post_init__(self) -> None:
        _text("equipment_id", self.equipment_id)
        if self.level not in EQUIPMENT_LEVELS:
            raise ValueError(
                f"level must be an ISA-95 equipment level {sorted(EQUIPMENT_LEVELS)}, "
                f"got {self.level!r}"
            )
