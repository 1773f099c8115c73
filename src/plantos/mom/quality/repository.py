"""Nonconformances in and out of the SQL table, on the connection of one unit of work.

Like work orders they carry a version: saving one that another transaction changed
since it was read raises :class:`ConcurrentChangeError`, so a disposition given over the
API and new evidence from the loop cannot overwrite each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from plantos.mom.quality.errors import InvalidNonconformanceError, UnknownNonconformanceError
from plantos.mom.quality.nonconformance import Nonconformance
from plantos.mom.quality.tables import nonconformances as q
from plantos.mom.store.repositories import ConcurrentChangeError

_FIELDS = (
    "id", "asset", "characteristic", "trigger", "state", "held", "quantity", "occurrences",
    "opened_ns", "opened_by", "closed_ns", "disposition", "scrapped", "note", "evidence",
    "history", "lot", "hold_target",
)  # fmt: skip


class NonconformanceRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection
        self.seen: dict[str, Nonconformance] = {}
        self._versions: dict[str, int] = {}

    def add(self, nc: Nonconformance) -> None:
        if nc.id in self.seen or self._c.execute(sa.select(q.c.id).where(q.c.id == nc.id)).first():
            raise InvalidNonconformanceError(f"a nonconformance with id {nc.id!r} exists already")
        self._c.execute(q.insert().values(**_row(nc), version=1))
        self.seen[nc.id] = nc
        self._versions[nc.id] = 1

    def get(self, nc_id: str) -> Nonconformance:
        if nc_id in self.seen:
            return self.seen[nc_id]
        row = self._c.execute(sa.select(q).where(q.c.id == nc_id)).first()
        if row is None:
            raise UnknownNonconformanceError(f"no nonconformance {nc_id!r}")
        return self._track(row)

    def list(
        self,
        *,
        states: Sequence[str] | None = None,
        characteristic: str | None = None,
        order: str | None = None,
        held: bool | None = None,
        asset: str | None = None,
        limit: int = 1000,
    ) -> list[Nonconformance]:
        """Newest first."""
        query = sa.select(q).order_by(q.c.opened_ns.desc(), q.c.id.desc()).limit(limit)
        if states is not None:
            query = query.where(q.c.state.in_(list(states)))
        if characteristic is not None:
            query = query.where(q.c.characteristic == characteristic)
        if order is not None:
            query = query.where(q.c.order_id == order)
        if held is not None:
            query = query.where(q.c.held == held)
        if asset is not None:
            query = query.where(q.c.asset == asset)
        return [self.seen.get(r.id) or self._track(r) for r in self._c.execute(query)]

    def open_for(self, characteristic: str, order: str | None) -> Nonconformance | None:
        """The open nonconformance of ``characteristic`` during ``order`` (None: none ran)."""
        query = sa.select(q).where(q.c.characteristic == characteristic, q.c.state == "open")
        query = query.where(q.c.order_id.is_(None) if order is None else q.c.order_id == order)
        row = self._c.execute(query.order_by(q.c.opened_ns.desc()).limit(1)).first()
        return None if row is None else self.seen.get(row.id) or self._track(row)

    def save_seen(self) -> None:
        for nc in self.seen.values():
            version = self._versions[nc.id]
            done = self._c.execute(
                q.update()
                .where(q.c.id == nc.id, q.c.version == version)
                .values(**_row(nc), version=version + 1)
            )
            if done.rowcount != 1:
                raise ConcurrentChangeError(f"nonconformance {nc.id} changed meanwhile: retry")
            self._versions[nc.id] = version + 1

    def _track(self, row: sa.Row[Any]) -> Nonconformance:
        nc = Nonconformance(**{f: getattr(row, f) for f in _FIELDS}, order=row.order_id)
        self.seen[nc.id] = nc
        self._versions[nc.id] = row.version
        return nc


def _row(nc: Nonconformance) -> dict[str, Any]:
    return {**{f: getattr(nc, f) for f in _FIELDS}, "order_id": nc.order}
