"""The lot aggregate: the parts one order made on one asset between two points in time,
traced as one unit so quality can hold, release or scrap them together.

States, and who moves a lot between them::

    open      -> on_hold | closed          (production fills it; the order completes)
    on_hold   -> released | scrapped       (a finding or a person held it; a disposition)
    released  -> on_hold | closed          (quality let it go; production may go on)
    closed    -> on_hold                   (finished; a late finding can still hold it)
    scrapped                               (final)

Production ending (:meth:`Lot.end`) sets ``closed_ns``; a lot on hold then stays on hold
until released or scrapped. Every move records who made it, when and why in
``history``; any other move raises :class:`IllegalLotTransitionError` and changes
nothing. ``good`` and ``scrap`` are the parts booked to the order while the lot was
filling (``good_from``/``scrap_from``: the order's totals when it opened).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plantos.core.events import Event
from plantos.mom.domain.events import LotHeld, LotReleased, LotScrapped
from plantos.mom.errors import IllegalTransitionError, MomError

STATES = ("open", "on_hold", "released", "closed", "scrapped")
ALLOWED: dict[str, frozenset[str]] = {
    "open": frozenset({"on_hold", "closed"}),
    "on_hold": frozenset({"released", "scrapped"}),
    "released": frozenset({"on_hold", "closed"}),
    "closed": frozenset({"on_hold"}),
    "scrapped": frozenset(),
}
FILLING = ("open", "on_hold", "released")
"""States in which a lot whose production has not ended still takes parts."""


class InvalidLotError(MomError):
    """A lot's fields are wrong (its code, its state), or its code is taken."""


class UnknownLotError(MomError):
    """No lot with this code."""


class IllegalLotTransitionError(IllegalTransitionError):
    """A lot was asked to move to a state its current state does not allow."""


@dataclass(eq=False)
class Lot:
    """Lot ``id`` (its code) of ``order`` (``None``: a lot-code tag opened it while no
    order ran) made on ``asset``."""

    id: str
    asset: str
    opened_ns: int
    opened_by: str
    order: str | None = None
    product: str | None = None
    state: str = "open"
    closed_ns: int | None = None
    good: int = 0
    scrap: int = 0
    good_from: int = 0
    scrap_from: int = 0
    reason: str = ""
    """Why it is on hold, released or scrapped (the newest move's reason)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 80:
            raise InvalidLotError(f"a lot code needs 1 to 80 characters: {self.id!r}")
        if self.state not in STATES:
            raise InvalidLotError(f"lot {self.id}: unknown state {self.state!r}")

    @classmethod
    def open(cls, *, by: str, **fields: Any) -> Lot:
        """A new open lot (no event: the order's start is the ERP's news)."""
        lot = cls(opened_by=by, **fields)
        lot.history.append({"to": "open", "by": by, "at_ns": lot.opened_ns})
        return lot

    @property
    def filling(self) -> bool:
        """Whether production still adds parts to it."""
        return self.closed_ns is None and self.state in FILLING

    def count(self, *, good_total: int, scrap_total: int) -> None:
        """Take the order's totals now: the lot's parts are what was booked since it
        opened. A lot no longer filling keeps its counts."""
        if self.filling:
            self.good = max(good_total - self.good_from, 0)
            self.scrap = max(scrap_total - self.scrap_from, 0)

    def end(self, *, by: str, at_ns: int) -> None:
        """Production of this lot ended (its order completed, moved, or a new lot code
        came); an open or released lot closes, a held one stays held."""
        if self.closed_ns is not None:
            return
        self.closed_ns = at_ns
        if self.state in ("open", "released"):
            self._move("closed", by=by, at_ns=at_ns, reason="")

    def hold(self, *, by: str, at_ns: int, reason: str, nonconformance: str | None = None) -> None:
        """Put the lot on hold; records :class:`LotHeld`. A lot on hold already refuses:
        one hold has one reason and one release."""
        self._move("on_hold", by=by, at_ns=at_ns, reason=reason, nonconformance=nonconformance)
        self.events.append(
            LotHeld(
                ts_ns=at_ns, subject=self.id, order=self.order, asset=self.asset,
                reason=reason, nonconformance=nonconformance, by=by,
            )
        )  # fmt: skip

    def release(
        self, *, by: str, at_ns: int, reason: str, nonconformance: str | None = None
    ) -> None:
        """End the hold; records :class:`LotReleased`. Only a lot on hold releases."""
        if self.state != "on_hold":
            raise IllegalLotTransitionError(
                f"lot {self.id} is not on hold (it is {self.state.replace('_', ' ')}): "
                "only a lot on hold is released"
            )
        self._move("released", by=by, at_ns=at_ns, reason=reason, nonconformance=nonconformance)
        self.events.append(
            LotReleased(
                ts_ns=at_ns, subject=self.id, order=self.order, asset=self.asset,
                reason=reason, nonconformance=nonconformance, by=by,
            )
        )  # fmt: skip

    def scrap_all(
        self, *, by: str, at_ns: int, reason: str, booked: bool, nonconformance: str | None = None
    ) -> int:
        """Scrap the held lot: its good parts become scrap (``booked``: they were booked as
        scrap to the order too). Records :class:`LotScrapped`; returns the parts scrapped."""
        parts = self.good
        self._move("scrapped", by=by, at_ns=at_ns, reason=reason, nonconformance=nonconformance)
        self.good, self.scrap = 0, self.scrap + parts
        self.closed_ns = self.closed_ns if self.closed_ns is not None else at_ns
        self.events.append(
            LotScrapped(
                ts_ns=at_ns, subject=self.id, order=self.order, asset=self.asset,
                reason=reason, nonconformance=nonconformance, by=by, quantity=parts,
                booked=booked,
            )
        )  # fmt: skip
        return parts

    def _move(
        self, to: str, *, by: str, at_ns: int, reason: str, nonconformance: str | None = None
    ) -> None:
        if to == self.state:
            raise IllegalLotTransitionError(
                f"lot {self.id} is {self.state.replace('_', ' ')} already"
                + (f" ({self.reason})" if self.reason else "")
            )
        allowed = ALLOWED[self.state]
        if to not in allowed:
            can = ", ".join(sorted(allowed)) or "nothing: it is final"
            raise IllegalLotTransitionError(
                f"lot {self.id} is {self.state}; it can go to {can}, not {to}"
            )
        self.state, self.reason = to, reason or self.reason
        entry: dict[str, Any] = {"to": to, "by": by, "at_ns": at_ns}
        if reason:
            entry["reason"] = reason
        if nonconformance:
            entry["nonconformance"] = nonconformance
        self.history.append(entry)

    def take_events(self) -> list[Event]:
        """The events recorded since the last call, oldest first (the outbox takes them)."""
        out, self.events = self.events, []
        return out
