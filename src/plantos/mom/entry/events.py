"""The facts manual entry adds to the stream beside machine data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from plantos.core.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecklistSubmitted(Event):
    """A person filled in a checklist (``subject``: the line, or the work order's asset)."""

    kind: ClassVar[str] = "ChecklistSubmitted"
    checklist: str
    instance: str
    by: str
    work_order: str | None = None
    answers: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrapDeclared(Event):
    """An operator booked scrap with a reason to the order running on ``subject``."""

    kind: ClassVar[str] = "ScrapDeclared"
    order: str
    quantity: int
    reason: str
    by: str
