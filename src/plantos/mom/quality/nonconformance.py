"""The nonconformance aggregate: one characteristic out of its limits (an SPC rule fired,
an inspection failed) while one order ran, what backs it, and what was decided.

States: ``open`` until someone gives a disposition, then ``closed`` for good::

    open -> closed   (disposition use_as_is | rework | scrap)

A flood of violations of the same characteristic during the same order adds evidence
to the one open nonconformance (``occurrences`` counts them); it never opens another.
Any other move raises :class:`IllegalDispositionError` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plantos.core.events import Event
from plantos.mom.quality.errors import IllegalDispositionError, InvalidNonconformanceError
from plantos.mom.quality.events import NonconformanceDispositioned, NonconformanceOpened

TRIGGERS = ("spc_violation", "failed_inspection")
DISPOSITIONS = ("use_as_is", "rework", "scrap")
HOLD_TARGETS = ("order", "lot")
"""What a finding can hold: the running order (it pauses) or its lot (production goes on,
the lot's parts wait for the disposition)."""
STATES = ("open", "closed")
EVIDENCE_KEPT = 50
"""Newest pieces of evidence kept per nonconformance; ``occurrences`` counts them all."""


@dataclass(eq=False)
class Nonconformance:
    """``characteristic`` (a tag path) failed on ``asset`` while ``order`` ran there
    (``None``: no order was running), filling ``lot``. ``held`` is True while the hold it
    put on ``hold_target`` (the ``order`` or the ``lot``) is in force; ``quantity`` is the
    parts known to be affected (failed inspections)."""

    id: str
    asset: str
    characteristic: str
    trigger: str
    opened_ns: int
    opened_by: str
    order: str | None = None
    state: str = "open"
    held: bool = False
    quantity: int = 0
    occurrences: int = 0
    evidence: list[dict[str, Any]] = field(default_factory=list)
    disposition: str | None = None
    scrapped: int = 0
    note: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    closed_ns: int | None = None
    lot: str | None = None
    hold_target: str | None = None
    events: list[Event] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 64:
            raise InvalidNonconformanceError(
                f"a nonconformance id needs 1 to 64 characters: {self.id!r}"
            )
        if self.trigger not in TRIGGERS:
            raise InvalidNonconformanceError(
                f"nonconformance {self.id}: trigger must be one of {', '.join(TRIGGERS)}, "
                f"not {self.trigger!r}"
            )
        if self.state not in STATES:
            raise InvalidNonconformanceError(
                f"nonconformance {self.id}: unknown state {self.state!r}"
            )
        if self.held and self.hold_target is None:
            self.hold_target = "order"  # rows from before lots held only orders
        if self.hold_target is not None and self.hold_target not in HOLD_TARGETS:
            raise InvalidNonconformanceError(
                f"nonconformance {self.id}: hold target must be one of "
                f"{', '.join(HOLD_TARGETS)}, not {self.hold_target!r}"
            )

    @classmethod
    def open(
        cls, *, by: str, hold: bool, hold_target: str = "order", **fields: Any
    ) -> Nonconformance:
        """A new open nonconformance, holding ``hold_target`` when ``hold``; records
        :class:`NonconformanceOpened`."""
        nc = cls(opened_by=by, held=hold, hold_target=hold_target if hold else None, **fields)
        entry: dict[str, Any] = {"to": "open", "by": by, "at_ns": nc.opened_ns, "hold": hold}
        if hold:
            entry["hold_target"] = hold_target
        nc.history.append(entry)
        nc.events.append(
            NonconformanceOpened(
                ts_ns=nc.opened_ns, subject=nc.id, asset=nc.asset,
                characteristic=nc.characteristic, trigger=nc.trigger, order=nc.order, hold=hold,
                lot=nc.lot, hold_target=nc.hold_target,
            )
        )  # fmt: skip
        return nc

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def add_evidence(self, evidence: dict[str, Any], *, failed_parts: int = 0) -> None:
        """One more violation or failed inspection backing this nonconformance."""
        if not self.is_open:
            raise IllegalDispositionError(
                f"nonconformance {self.id} is closed: it takes no more evidence"
            )
        self.occurrences += 1
        self.quantity += failed_parts
        self.evidence = [*self.evidence, evidence][-EVIDENCE_KEPT:]

    def dispose(
        self,
        disposition: str,
        *,
        by: str,
        at_ns: int,
        scrapped: int = 0,
        hold_released: bool,
        note: str = "",
    ) -> None:
        """Close with ``disposition``; records :class:`NonconformanceDispositioned`.
        :class:`IllegalDispositionError` names why when it is closed already or the
        disposition is unknown."""
        if disposition not in DISPOSITIONS:
            raise IllegalDispositionError(
                f"nonconformance {self.id}: disposition must be one of "
                f"{', '.join(DISPOSITIONS)}, not {disposition!r}"
            )
        if not self.is_open:
            raise IllegalDispositionError(
                f"nonconformance {self.id} was closed already ({self.disposition}): "
                f"it cannot be dispositioned {disposition} again"
            )
        if disposition != "scrap" and scrapped:
            raise InvalidNonconformanceError(
                f"nonconformance {self.id}: only a scrap disposition scraps parts"
            )
        self.state, self.disposition, self.scrapped = "closed", disposition, scrapped
        self.closed_ns, self.note = at_ns, note
        self.held = self.held and not hold_released
        entry: dict[str, Any] = {
            "to": "closed", "disposition": disposition, "by": by, "at_ns": at_ns,
            "scrapped": scrapped, "hold_released": hold_released,
        }  # fmt: skip
        self.history.append({**entry, "note": note} if note else entry)
        self.events.append(
            NonconformanceDispositioned(
                ts_ns=at_ns, subject=self.id, asset=self.asset,
                characteristic=self.characteristic, order=self.order, disposition=disposition,
                scrapped=scrapped, hold_released=hold_released, by=by, lot=self.lot,
            )
        )  # fmt: skip

    def take_events(self) -> list[Event]:
        """The events recorded since the last call, oldest first (the outbox takes them)."""
        out, self.events = self.events, []
        return out
