"""The work order aggregate: one job of maintenance on one asset, its lifecycle and the
events it records.

States and the moves between them::

    requested -> approved | cancelled
    approved -> scheduled | cancelled
    scheduled -> in_progress | approved | cancelled   (approved: the window was dropped)
    in_progress -> done

``done`` and ``cancelled`` are final. Every move says who made it and when; any other
move raises :class:`IllegalWorkOrderTransitionError` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plantos.core.events import Event
from plantos.mom.maintenance.errors import IllegalWorkOrderTransitionError, InvalidWorkOrderError
from plantos.mom.maintenance.events import WorkOrderOpened, WorkOrderUpdated

KINDS = ("corrective", "preventive", "predictive")
STATES = ("requested", "approved", "scheduled", "in_progress", "done", "cancelled")
OPEN_STATES = ("requested", "approved", "scheduled", "in_progress")
ALLOWED: dict[str, frozenset[str]] = {
    "requested": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"scheduled", "cancelled"}),
    "scheduled": frozenset({"in_progress", "approved", "cancelled"}),
    "in_progress": frozenset({"done"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}
PRIORITIES = {1: "emergency", 2: "urgent", 3: "soon", 4: "routine"}


@dataclass(frozen=True, slots=True)
class Window:
    """When the asset is handed to maintenance: ``[start_ns, end_ns)``."""

    start_ns: int
    end_ns: int

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise InvalidWorkOrderError(
                f"a window must end after it starts ({self.start_ns} >= {self.end_ns})"
            )


@dataclass(eq=False)
class WorkOrder:
    """A corrective, preventive or predictive job on ``asset``.

    ``evidence`` holds what triggered or backs the job (an anomaly's features, score and
    time to failure), newest last; ``labour`` and ``parts`` what it used; ``transitions``
    who moved it when. ``repeat_of`` names a recently closed work order for the same
    problem on the same asset: a possible repeat failure.
    """

    id: str
    asset: str
    kind: str
    title: str
    opened_ns: int
    opened_by: str
    priority: int = 3
    state: str = "requested"
    failure_mode: str | None = None
    mechanism: str | None = None
    cause: str | None = None
    remedy: str | None = None
    estimated_failure_ns: int | None = None
    window: Window | None = None
    last_service_ns: int | None = None
    repeat_of: str | None = None
    affected_orders: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    labour: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    closed_ns: int | None = None
    events: list[Event] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 64:
            raise InvalidWorkOrderError(f"a work order id needs 1 to 64 characters: {self.id!r}")
        if self.kind not in KINDS:
            raise InvalidWorkOrderError(
                f"work order {self.id}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}"
            )
        if self.state not in STATES:
            raise InvalidWorkOrderError(f"work order {self.id}: unknown state {self.state!r}")
        _check_priority(self.id, self.priority)

    @classmethod
    def request(cls, *, by: str, **fields: Any) -> WorkOrder:
        """A new work order in ``requested``; records :class:`WorkOrderOpened`."""
        order = cls(opened_by=by, **fields)
        order.transitions.append(
            {"from": None, "to": "requested", "by": by, "at_ns": order.opened_ns}
        )
        order.events.append(
            WorkOrderOpened(
                ts_ns=order.opened_ns, subject=order.id, asset=order.asset,
                order_kind=order.kind, priority=order.priority, failure_mode=order.failure_mode,
            )
        )  # fmt: skip
        return order

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def transition(self, to: str, *, by: str, at_ns: int, note: str = "") -> None:
        """Move to ``to``; :class:`IllegalWorkOrderTransitionError` names the allowed moves.
        Scheduling needs a window; only a started job can be done."""
        if to not in STATES:
            raise IllegalWorkOrderTransitionError(
                f"work order {self.id}: {to!r} is not a state ({', '.join(STATES)})"
            )
        allowed = ALLOWED[self.state]
        if to not in allowed:
            can = ", ".join(sorted(allowed)) or "nothing: it is final"
            raise IllegalWorkOrderTransitionError(
                f"work order {self.id} is {self.state}; it can go to {can}, not {to}"
            )
        if to == "scheduled" and self.window is None:
            raise IllegalWorkOrderTransitionError(
                f"work order {self.id}: give it a window before scheduling it"
            )
        previous, self.state = self.state, to
        if to in ("done", "cancelled"):
            self.closed_ns = at_ns
        entry = {"from": previous, "to": to, "by": by, "at_ns": at_ns}
        self.transitions.append({**entry, "note": note} if note else entry)
        self._updated(to, by=by, at_ns=at_ns)

    def add_evidence(self, evidence: dict[str, Any], *, by: str, at_ns: int) -> None:
        """Attach what backs the job (anomaly features, a trend snapshot) to an open order."""
        self._require_open("take evidence")
        self.evidence.append(evidence)
        self._updated("evidence", by=by, at_ns=at_ns)

    def set_priority(self, priority: int, *, by: str, at_ns: int) -> None:
        _check_priority(self.id, priority)
        if priority != self.priority:
            self.priority = priority
            self._updated("priority", by=by, at_ns=at_ns)

    def propose_window(self, window: Window, *, by: str, at_ns: int) -> None:
        """Set (or move) the maintenance window of a job not yet started."""
        if self.state not in ("requested", "approved", "scheduled"):
            raise IllegalWorkOrderTransitionError(
                f"work order {self.id} is {self.state}: its window can no longer change"
            )
        self.window = window
        self._updated("window", by=by, at_ns=at_ns)

    def record_labour(self, *, person: str, hours: float, by: str, at_ns: int) -> None:
        """Hours worked on a started or finished job."""
        self._require_started("take labour")
        if not person or not 0 < hours <= 24:
            raise InvalidWorkOrderError(
                f"work order {self.id}: labour needs a person and 0 < hours <= 24, "
                f"got {person!r}, {hours!r}"
            )
        self.labour.append({"person": person, "hours": hours, "at_ns": at_ns})
        self._updated("labour", by=by, at_ns=at_ns)

    def record_part(self, *, part: str, quantity: int, by: str, at_ns: int) -> None:
        """A spare part used on a started or finished job."""
        self._require_started("take parts")
        if not part or quantity <= 0:
            raise InvalidWorkOrderError(
                f"work order {self.id}: a part needs a number and a positive quantity, "
                f"got {part!r}, {quantity!r}"
            )
        self.parts.append({"part": part, "quantity": quantity, "at_ns": at_ns})
        self._updated("parts", by=by, at_ns=at_ns)

    def _require_open(self, what: str) -> None:
        if not self.is_open:
            raise IllegalWorkOrderTransitionError(
                f"work order {self.id} is {self.state}: it can no longer {what}"
            )

    def _require_started(self, what: str) -> None:
        if self.state not in ("in_progress", "done"):
            raise IllegalWorkOrderTransitionError(
                f"work order {self.id} is {self.state}: only a started job can {what}"
            )

    def _updated(self, change: str, *, by: str, at_ns: int) -> None:
        self.events.append(
            WorkOrderUpdated(
                ts_ns=at_ns, subject=self.id, asset=self.asset, change=change,
                state=self.state, priority=self.priority, by=by,
            )
        )  # fmt: skip

    def take_events(self) -> list[Event]:
        """The events recorded since the last call, oldest first (the outbox takes them)."""
        out, self.events = self.events, []
        return out


def _check_priority(order_id: str, priority: int) -> None:
    if priority not in PRIORITIES:
        raise InvalidWorkOrderError(
            f"work order {order_id}: priority must be 1 (emergency) to 4 (routine), "
            f"not {priority!r}"
        )
