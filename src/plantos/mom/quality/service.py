"""The quality service: the one way the API, the CLI and the quality loop change
nonconformances and lots, and the holds and scrap they put on production orders and
lots. Every call is one unit of work (the nonconformance, its order, its lot and their
outbox rows commit together).
Blocking: from the event loop, call it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.mom import handlers
from plantos.mom.domain.lot import InvalidLotError, Lot
from plantos.mom.handlers import CountingPolicy
from plantos.mom.quality import lots
from plantos.mom.quality.errors import InvalidNonconformanceError
from plantos.mom.quality.nonconformance import DISPOSITIONS, Nonconformance
from plantos.mom.quality.policy import QualityPolicy
from plantos.mom.quality.uow import QualityUnitOfWork

T = TypeVar("T")
Result = tuple[T, list[Event]]


def new_nonconformance_id() -> str:
    """A short unique id people can read out over the radio."""
    return f"NC-{uuid.uuid4().hex[:8].upper()}"


class QualityService:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Clock,
        policy: QualityPolicy,
        counting: CountingPolicy,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.policy = policy
        self.counting = counting
        """The operations' counting sources: scrap is booked as the orders count."""

    def unit_of_work(self, *, read_only: bool = False) -> QualityUnitOfWork:
        return QualityUnitOfWork(self.engine, clock=self.clock, read_only=read_only)

    def change(self, work: Callable[[QualityUnitOfWork], T]) -> Result[T]:
        """Run ``work`` in one writing unit of work and commit it."""
        with self.unit_of_work() as uow:
            value = work(uow)
            uow.commit()
            return value, uow.published

    def read(self, work: Callable[[QualityUnitOfWork], T]) -> T:
        with self.unit_of_work(read_only=True) as uow:
            return work(uow)

    def get(self, nc_id: str) -> Nonconformance:
        return self.read(lambda uow: uow.nonconformances.get(nc_id))

    def list(
        self,
        *,
        states: Sequence[str] | None = None,
        characteristic: str | None = None,
        order: str | None = None,
        held: bool | None = None,
        limit: int = 1000,
    ) -> list[Nonconformance]:
        return self.read(
            lambda uow: uow.nonconformances.list(
                states=states, characteristic=characteristic, order=order, held=held, limit=limit
            )
        )

    def lots(
        self,
        *,
        order: str | None = None,
        states: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> Sequence[Lot]:
        """Lots newest first, the parts of those still filling counted now."""
        return self.read(
            lambda uow: [
                lots.counted(uow, lot)
                for lot in uow.lots.list(order=order, states=states, limit=limit)
            ]
        )

    def lot(self, lot_id: str) -> Lot:
        """One lot; :class:`UnknownLotError` when there is none."""
        return self.read(lambda uow: lots.counted(uow, uow.lots.get(lot_id)))

    def hold_lot(self, lot_id: str, *, by: str, reason: str) -> Result[Lot]:
        """Put a lot on hold by hand (``reason`` required); a lot on hold already, or
        scrapped, is refused with why."""
        return self._move_lot(lot_id, "hold", by=by, reason=reason)

    def release_lot(self, lot_id: str, *, by: str, reason: str) -> Result[Lot]:
        """End a lot's hold by hand (``reason`` required); only a lot on hold releases.
        An open nonconformance that held it stays open for its disposition."""
        return self._move_lot(lot_id, "release", by=by, reason=reason)

    def _move_lot(self, lot_id: str, move: str, *, by: str, reason: str) -> Result[Lot]:
        reason = reason.strip()
        if not reason:
            raise InvalidLotError(f"lot {lot_id}: a {move} needs a reason")

        def work(uow: QualityUnitOfWork) -> Lot:
            lot = lots.counted(uow, uow.lots.get(lot_id))
            getattr(lot, move)(by=by, at_ns=self.clock.now_ns(), reason=reason)
            return lot

        return self.change(work)

    def dispose(
        self,
        nc_id: str,
        disposition: str,
        *,
        by: str,
        quantity: int | None = None,
        note: str = "",
    ) -> Result[Nonconformance]:
        """Close a nonconformance: ``use_as_is`` and ``rework`` end the hold; ``scrap``
        books ``quantity`` parts (default: the failed parts it counted) as scrap to its
        order and ends the hold unless the plant's rule keeps it. When it holds its lot,
        ``use_as_is`` and ``rework`` release the lot and ``scrap`` scraps it whole (its
        good parts booked as scrap; no ``quantity`` then). All of it or nothing."""
        if disposition not in DISPOSITIONS:
            raise InvalidNonconformanceError(
                f"disposition must be one of {', '.join(DISPOSITIONS)}, not {disposition!r}"
            )
        if quantity is not None and (disposition != "scrap" or quantity <= 0):
            raise InvalidNonconformanceError(
                f"a quantity ({quantity}) goes only with a scrap disposition, and is positive"
            )

        def work(uow: QualityUnitOfWork) -> Nonconformance:
            nc = uow.nonconformances.get(nc_id)
            lot = uow.lots.get(nc.lot) if nc.held and nc.hold_target == "lot" and nc.lot else None
            if lot is not None and lot.state == "on_hold":
                return self._dispose_lot(uow, nc, lot, disposition, by=by, quantity=quantity,
                                         note=note)  # fmt: skip
            now_ns = self.clock.now_ns()
            scrapped = 0
            if disposition == "scrap" and nc.is_open:
                scrapped = quantity if quantity is not None else nc.quantity
                if nc.order is None or scrapped <= 0:
                    raise InvalidNonconformanceError(
                        f"nonconformance {nc.id}: nothing to scrap"
                        + (" (no order ran)" if nc.order is None else ": give the quantity")
                    )
            releases = (
                disposition != "scrap"
                or self.policy.for_characteristic(nc.characteristic).scrap_releases_hold
            )
            was_held = nc.held
            nc.dispose(
                disposition, by=by, at_ns=now_ns, scrapped=scrapped,
                hold_released=was_held and releases, note=note,
            )  # fmt: skip
            if scrapped and nc.order is not None:
                handlers.book_scrap(
                    uow, nc.order, scrapped, asset=nc.asset, ts_ns=now_ns, policy=self.counting
                )
            if was_held and releases and nc.order is not None:
                release_hold(uow, nc.order, ts_ns=now_ns)
            return nc

        return self.change(work)

    def _dispose_lot(
        self,
        uow: QualityUnitOfWork,
        nc: Nonconformance,
        lot: Lot,
        disposition: str,
        *,
        by: str,
        quantity: int | None,
        note: str,
    ) -> Nonconformance:
        """Close a nonconformance that holds its lot: release the lot, or scrap it whole.
        (A lot released by hand meanwhile holds nothing: its NC closes as one that held
        its order does.)"""
        if disposition == "scrap" and quantity is not None:
            raise InvalidNonconformanceError(
                f"nonconformance {nc.id} holds lot {lot.id}: scrap scraps the whole lot, "
                "give no quantity"
            )
        now_ns = self.clock.now_ns()
        reason = f"{nc.id} {disposition.replace('_', ' ')}" + (f": {note}" if note else "")
        scrapped = 0
        if disposition == "scrap":
            scrapped = lots.scrap_lot(
                uow, lot, by=by, ts_ns=now_ns, reason=reason, policy=self.counting,
                nonconformance=nc.id, coded=self.policy.coded,
            )  # fmt: skip
        else:
            lot.release(by=by, at_ns=now_ns, reason=reason, nonconformance=nc.id)
        nc.dispose(
            disposition, by=by, at_ns=now_ns, scrapped=scrapped, hold_released=True, note=note
        )
        return nc


def hold(uow: QualityUnitOfWork, order_id: str, *, ts_ns: int) -> bool:
    """Put an order on hold (a running order pauses: the machine stops booking to it);
    return whether this call held it. A paused order is held already."""
    order = uow.orders.get(order_id)
    if order.state == "running":
        order.transition("paused", ts_ns=ts_ns)
        return True
    return order.state == "paused"


def release_hold(uow: QualityUnitOfWork, order_id: str, *, ts_ns: int) -> bool:
    """End a hold: the order runs again on its asset when no other open nonconformance
    still holds it and no other order took the asset meanwhile (then it stays paused for
    the plan to resume). Return whether it runs again."""
    holding = uow.nonconformances.list(states=("open",), order=order_id, held=True)
    if any(nc.is_open and nc.held and nc.hold_target == "order" for nc in holding):
        return False
    order = uow.orders.get(order_id)
    if order.state != "paused" or order.asset is None:
        return False
    if uow.orders.running_on(order.asset) is not None:
        return False
    order.transition("running", ts_ns=ts_ns, asset=order.asset)
    return True
