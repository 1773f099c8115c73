"""Where lots come from and how quality moves them, on one unit of work.

Lots follow the orders: when an order starts (or resumes) on an asset, the lot filling
there ends and the order's next lot opens, coded ``<order>-<n>``; when the order
completes or is cancelled its lot ends. On an asset with a lot-code tag (the ``quality``
section's ``lot_codes``) the tag decides instead: each new code ends the asset's lot and
opens one with that code for the order running there. A lot's parts are the parts booked
to its order while it filled; an order's first lot holds every part of the order made
before it, so a lot opened a moment after the order's start (the loop takes the start
from the bus) misses none.
"""

from __future__ import annotations

from collections.abc import Collection

from plantos.mom.domain.lot import Lot
from plantos.mom.errors import UnknownOrderError
from plantos.mom.handlers import CountingPolicy, book_scrap
from plantos.mom.quality.uow import QualityUnitOfWork

ENDED_BY = "loop:quality"
"""Who ends a lot because its order ended."""


def counted(uow: QualityUnitOfWork, lot: Lot) -> Lot:
    """``lot`` with its parts taken from its order's totals now (while it fills); a lot
    whose order the database no longer has keeps the parts it knew. A lot still filling
    for an order that ended is ended at the order's end: the order's end is the truth,
    even when its event has not reached the loop (a writing unit of work saves that)."""
    if lot.order is not None and lot.filling:
        try:
            order = uow.orders.get(lot.order)
        except UnknownOrderError:
            return lot
        lot.count(good_total=order.good_total, scrap_total=order.scrap_total)
        if not order.is_open and order.completed_ns is not None:
            lot.end(by=ENDED_BY, at_ns=order.completed_ns)
    return lot


def open_lot(
    uow: QualityUnitOfWork, code: str, *, asset: str, order: str | None, ts_ns: int, by: str
) -> Lot:
    """End the lot filling on ``asset`` and open lot ``code`` there for ``order``."""
    current = uow.lots.filling_on(asset)
    if current is not None:
        counted(uow, current).end(by=by, at_ns=ts_ns)
    good = scrap = 0
    product = None
    if order is not None:
        running = uow.orders.get(order)
        product = running.product
        if uow.lots.count_of(order):  # an order's first lot holds all its parts so far
            good, scrap = running.good_total, running.scrap_total
    lot = Lot.open(
        id=code, asset=asset, order=order, product=product, opened_ns=ts_ns, by=by,
        good_from=good, scrap_from=scrap,
    )  # fmt: skip
    uow.lots.add(lot)
    return lot


def lot_of(
    uow: QualityUnitOfWork,
    order: str | None,
    asset: str,
    *,
    ts_ns: int,
    by: str,
    coded: Collection[str] = (),
) -> Lot | None:
    """The lot ``order`` fills on ``asset``; a running order's next lot is opened when it
    has none there (it started before lots were kept). ``coded``: assets whose lots come
    from a lot-code tag, whose lot is taken as it is."""
    current = uow.lots.filling_on(asset)
    if asset in coded or (current is not None and current.order == order):
        return current
    if order is None or uow.orders.get(order).state != "running":
        return None
    return open_lot(uow, next_code(uow, order), asset=asset, order=order, ts_ns=ts_ns, by=by)


def next_code(uow: QualityUnitOfWork, order: str) -> str:
    """``<order>-<n>``: one more than the lots the order had."""
    return f"{order}-{uow.lots.count_of(order) + 1}"


def follow_order(
    uow: QualityUnitOfWork,
    order_id: str,
    state: str,
    *,
    asset: str | None,
    ts_ns: int,
    by: str,
    coded: Collection[str] = (),
) -> list[Lot]:
    """An order changed state: a start on ``asset`` opens its lot there (ending its lots
    elsewhere), completion or cancellation ends its lots. Returns the lots touched."""
    touched = []
    for lot in uow.lots.list(order=order_id, limit=100):
        if lot.filling and (state != "running" or lot.asset != asset):
            counted(uow, lot).end(by=by, at_ns=ts_ns)
            touched.append(lot)
    if state != "running" or asset is None or asset in coded:
        return touched
    # opened even when the order has ended since (the loop took the start late): its
    # end follows on the bus and closes the lot with its parts
    current = uow.lots.filling_on(asset)
    if current is None or current.order != order_id:
        code = next_code(uow, order_id)
        touched.append(open_lot(uow, code, asset=asset, order=order_id, ts_ns=ts_ns, by=by))
    return touched


def scrap_lot(
    uow: QualityUnitOfWork,
    lot: Lot,
    *,
    by: str,
    ts_ns: int,
    reason: str,
    policy: CountingPolicy,
    nonconformance: str | None = None,
    coded: Collection[str] = (),
) -> int:
    """Scrap a held lot: its good parts are booked as scrap to its order while the order
    still takes counts (running or paused), as the scrap of a disposition is; a finished
    order's lot is scrapped on the lot alone (the event says so). A running order's
    parts go on into its next lot. Returns the parts scrapped."""
    was_filling = counted(uow, lot).filling
    order = uow.orders.get(lot.order) if lot.order is not None else None
    booked = order is not None and order.state in ("running", "paused") and lot.good > 0
    parts = lot.scrap_all(
        by=by, at_ns=ts_ns, reason=reason, booked=booked, nonconformance=nonconformance
    )
    if booked and lot.order is not None:
        book_scrap(uow, lot.order, parts, asset=lot.asset, ts_ns=ts_ns, policy=policy)
    if was_filling and order is not None and order.state == "running":
        lot_of(uow, order.id, lot.asset, ts_ns=ts_ns, by=by, coded=coded)
    return parts
