"""Preventive plans in and out of their SQL table, on the connection of one unit of work
(so a plan's state commits with the work order it opens).

Rows carry a version like work orders: saving a plan another transaction changed since
it was read raises :class:`ConcurrentChangeError`, so two evaluations can never both
open a work order for one plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from plantos.mom.maintenance.errors import InvalidPlanError, UnknownPlanError
from plantos.mom.maintenance.plans import (
    Meter,
    PlanState,
    PreventivePlan,
    carry_state,
    first_state,
)
from plantos.mom.maintenance.tables import preventive_plans as p
from plantos.mom.store.repositories import ConcurrentChangeError

_STATE = (
    "due",
    "done_at",
    "reading",
    "reading_ns",
    "work_order",
    "last_done_ns",
    "last_work_order",
    "disabled_by",
    "disabled_ns",
)


def definition(plan: PreventivePlan) -> dict[str, Any]:
    """The plan as JSON (the ``definition`` column and the API's body)."""
    out = dataclasses.asdict(plan)
    if plan.meter is not None:
        out["meter"] = {**dataclasses.asdict(plan.meter), "states": list(plan.meter.states)}
    return out


def plan_of(data: dict[str, Any]) -> PreventivePlan:
    meter = data.get("meter")
    fields = {
        **data,
        "meter": Meter(**{**meter, "states": tuple(meter["states"])}) if meter else None,
    }
    return PreventivePlan(**fields)


class PlanRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def list(self) -> list[tuple[PreventivePlan, PlanState]]:
        rows = self._c.execute(sa.select(p).order_by(p.c.asset, p.c.id))
        return [(plan_of(r.definition), _state(r)) for r in rows]

    def get(self, plan_id: str) -> tuple[PreventivePlan, PlanState]:
        row = self._c.execute(sa.select(p).where(p.c.id == plan_id)).first()
        if row is None:
            raise UnknownPlanError(f"no preventive plan {plan_id!r}")
        return plan_of(row.definition), _state(row)

    def add(self, plan: PreventivePlan, state: PlanState) -> None:
        if self._c.execute(sa.select(p.c.id).where(p.c.id == plan.id)).first():
            raise InvalidPlanError(f"a preventive plan with id {plan.id!r} exists already")
        self._c.execute(p.insert().values(**_row(plan, state), version=1))
        state.version = 1

    def save(self, plan: PreventivePlan, state: PlanState) -> None:
        done = self._c.execute(
            p.update()
            .where(p.c.id == plan.id, p.c.version == state.version)
            .values(**_row(plan, state), version=state.version + 1)
        )
        if done.rowcount != 1:
            raise ConcurrentChangeError(f"preventive plan {plan.id} changed meanwhile: retry")
        state.version += 1

    def delete(self, plan_id: str) -> None:
        self._c.execute(p.delete().where(p.c.id == plan_id))

    def sync_file_plans(self, plans: Sequence[PreventivePlan], *, now_ns: int) -> None:
        """Make the table hold the plant file's plans: new ones start counting, changed
        ones keep where they stand (a new ``every`` counts from the last completion),
        ones no longer in the file are dropped (their work orders stay)."""
        known = {plan.id: (plan, state) for plan, state in self.list()}
        wanted = {plan.id for plan in plans}
        for plan in plans:
            if plan.id not in known:
                self.add(plan, first_state(plan, now_ns))
                continue
            old, state = known[plan.id]
            if old.origin != "file":
                raise InvalidPlanError(
                    f"plan {plan.id} of the plant file has the id of a plan created over the API"
                )
            if old == plan:
                continue
            carry_state(old, plan, state, now_ns=now_ns)
            self.save(plan, state)
        for plan_id, (old, _) in known.items():
            if old.origin == "file" and plan_id not in wanted:
                self.delete(plan_id)


def _state(row: sa.Row[Any]) -> PlanState:
    return PlanState(**{f: getattr(row, f) for f in _STATE}, version=row.version)


def _row(plan: PreventivePlan, state: PlanState) -> dict[str, Any]:
    return {
        "id": plan.id, "asset": plan.asset, "title": plan.title, "origin": plan.origin,
        "definition": definition(plan), **{f: getattr(state, f) for f in _STATE},
    }  # fmt: skip
