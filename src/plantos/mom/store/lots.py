"""Lots in and out of ``mom_lots``, on the connection of one unit of work.

Lots carry a version like orders and nonconformances: a hold given over the API and a
lot closed by the loop in another transaction cannot overwrite each other (the second
save raises :class:`ConcurrentChangeError`). Only lots that changed are written back, so
a finding that merely looks up its lot never competes with a person holding it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from plantos.mom.domain.lot import InvalidLotError, Lot, UnknownLotError
from plantos.mom.store.repositories import ConcurrentChangeError
from plantos.mom.store.tables import lots as lt

_FIELDS = (
    "id", "product", "asset", "state", "opened_ns", "opened_by", "closed_ns", "good", "scrap",
    "good_from", "scrap_from", "reason", "history",
)  # fmt: skip


class LotRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection
        self.seen: dict[str, Lot] = {}
        self._versions: dict[str, int] = {}
        self._loaded: dict[str, dict[str, Any]] = {}
        """Each lot as read, to write back only those that changed."""

    def add(self, lot: Lot) -> None:
        """Insert a new lot; :class:`InvalidLotError` when its code is taken."""
        if (
            lot.id in self.seen
            or self._c.execute(sa.select(lt.c.id).where(lt.c.id == lot.id)).first()
        ):
            raise InvalidLotError(f"a lot with code {lot.id!r} exists already")
        row = _row(lot)
        self._c.execute(lt.insert().values(**row, version=1))
        self.seen[lot.id] = lot
        self._versions[lot.id] = 1
        self._loaded[lot.id] = copy.deepcopy(row)

    def get(self, lot_id: str) -> Lot:
        """The lot with this code; :class:`UnknownLotError` when there is none."""
        if lot_id in self.seen:
            return self.seen[lot_id]
        row = self._c.execute(sa.select(lt).where(lt.c.id == lot_id)).first()
        if row is None:
            raise UnknownLotError(f"no lot {lot_id!r}")
        return self._track(row)

    def list(
        self,
        *,
        order: str | None = None,
        states: Sequence[str] | None = None,
        asset: str | None = None,
        limit: int = 1000,
    ) -> list[Lot]:
        """Newest first."""
        query = sa.select(lt).order_by(lt.c.opened_ns.desc(), lt.c.id.desc()).limit(limit)
        if order is not None:
            query = query.where(lt.c.order_id == order)
        if states is not None:
            query = query.where(lt.c.state.in_(list(states)))
        if asset is not None:
            query = query.where(lt.c.asset == asset)
        return [self.seen.get(r.id) or self._track(r) for r in self._c.execute(query)]

    def filling_on(self, asset: str) -> Lot | None:
        """The lot production on ``asset`` adds parts to now (the newest when, wrongly,
        several are)."""
        query = sa.select(lt).where(lt.c.asset == asset, lt.c.closed_ns.is_(None))
        for row in self._c.execute(query.order_by(lt.c.opened_ns.desc(), lt.c.id.desc())):
            lot = self.seen.get(row.id) or self._track(row)
            if lot.filling:
                return lot
        return None

    def count_of(self, order: str) -> int:
        """How many lots ``order`` has had (the next one is numbered one more)."""
        query = sa.select(sa.func.count()).select_from(lt).where(lt.c.order_id == order)
        return int(self._c.execute(query).scalar_one())

    def save_seen(self) -> None:
        for lot in self.seen.values():
            row = _row(lot)
            if self._loaded.get(lot.id) == row:
                continue
            version = self._versions[lot.id]
            done = self._c.execute(
                lt.update()
                .where(lt.c.id == lot.id, lt.c.version == version)
                .values(**row, version=version + 1)
            )
            if done.rowcount != 1:
                raise ConcurrentChangeError(f"lot {lot.id} changed meanwhile: retry")
            self._versions[lot.id] = version + 1
            self._loaded[lot.id] = copy.deepcopy(row)

    def _track(self, row: sa.Row[Any]) -> Lot:
        lot = Lot(**{f: getattr(row, f) for f in _FIELDS}, order=row.order_id)
        self.seen[lot.id] = lot
        self._versions[lot.id] = row.version
        self._loaded[lot.id] = copy.deepcopy(_row(lot))
        return lot


def _row(lot: Lot) -> dict[str, Any]:
    return {**{f: getattr(lot, f) for f in _FIELDS}, "order_id": lot.order}
