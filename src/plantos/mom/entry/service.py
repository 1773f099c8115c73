"""The manual-entry service: checklists submitted once per instance, and the gate that
keeps a maintenance job from starting before its lock-out/tag-out checklist is in.

Readings and scrap need no service of their own: a reading becomes a sample on the
platform's ingest path, scrap a count through the operations service. Blocking: call
it from the event loop with ``asyncio.to_thread``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.model.plant import Plant
from plantos.mom.entry import submissions
from plantos.mom.entry.checklists import ChecklistDef
from plantos.mom.entry.config import EntryConfig
from plantos.mom.entry.errors import InvalidEntryError, UnknownEntryError
from plantos.mom.entry.submissions import Submission
from plantos.mom.maintenance.errors import IllegalWorkOrderTransitionError
from plantos.mom.maintenance.uow import MaintenanceUnitOfWork
from plantos.mom.maintenance.workorder import OPEN_STATES, WorkOrder


class EntryService:
    def __init__(
        self, engine: sa.Engine, *, clock: Clock, plant: Plant, config: EntryConfig
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.plant = plant
        self.config = config

    def checklist(self, checklist_id: str, *, line: str) -> ChecklistDef:
        found = self.config.checklists.get(checklist_id)
        if found is None or not found.for_line(line):
            raise UnknownEntryError(f"no checklist {checklist_id!r} on line {line}")
        return found

    def shift_instance(self, line: str, at_ns: int) -> str:
        """The instance of a start-of-shift checklist at ``at_ns``: the line and the shift
        on then (its name and start), or the line and the UTC day without a shift."""
        calendar = next(
            (self.plant.calendar_for(a) for a in self.plant.assets if a.startswith(f"{line}/")),
            None,
        )
        shift = calendar.shift_at(at_ns) if calendar else None
        if shift is None:
            day = datetime.fromtimestamp(at_ns / 1e9, tz=UTC).date().isoformat()
            return f"{line} {day}"
        start = datetime.fromtimestamp(shift.start_ns / 1e9, tz=UTC).isoformat()
        return f"{line} {shift.name} {start}"

    def submit(
        self,
        checklist_id: str,
        *,
        line: str,
        answers: dict[str, Any],
        by: str,
        work_order: str | None = None,
    ) -> tuple[Submission, list[Event]]:
        """Check every answer, then store the submission and its event in one
        transaction: :class:`InvalidEntryError` for wrong answers,
        :class:`DuplicateSubmissionError` for an instance submitted already,
        :class:`UnknownEntryError` for a checklist or work order not of this line."""
        checklist = self.checklist(checklist_id, line=line)
        checked = checklist.answers(answers)
        now = self.clock.now_ns()
        with MaintenanceUnitOfWork(self.engine, clock=self.clock) as uow:
            if checklist.when == "work-order-start":
                order = self._work_order(uow, checklist, work_order, line=line)
                instance = order.id
            elif work_order:
                raise InvalidEntryError(f"checklist {checklist.id} is not for a work order")
            else:
                instance = self.shift_instance(line, now)
            submission = Submission(
                uuid.uuid4(), checklist.id, instance, line, work_order, by, now, checked
            )
            submissions.store(uow, uow.connection, submission)
            uow.commit()
            return submission, uow.published

    def _work_order(
        self, uow: MaintenanceUnitOfWork, checklist: ChecklistDef, key: str | None, *, line: str
    ) -> WorkOrder:
        if not key:
            raise InvalidEntryError(f"checklist {checklist.id} needs the work order it is for")
        order = uow.work_orders.get(key)
        mine = order.asset.startswith(f"{line}/")
        if not mine or not checklist.for_asset(order.asset, self._type_of(order.asset)):
            raise UnknownEntryError(
                f"checklist {checklist.id} is not for work order {key} on {line}"
            )
        if order.state not in OPEN_STATES or order.state == "in_progress":
            raise InvalidEntryError(
                f"work order {key} is {order.state.replace('_', ' ')}: "
                "its lock-out/tag-out is taken before it starts"
            )
        return order

    def submissions(self, line: str) -> list[Submission]:
        with self.engine.connect() as connection:
            return submissions.listing(connection, line=line)

    def done(self, checklist_id: str, instance: str) -> Submission | None:
        with self.engine.connect() as connection:
            return submissions.find(connection, checklist_id, instance)

    def waiting(self, checklist: ChecklistDef, orders: list[WorkOrder]) -> list[WorkOrder]:
        """The not yet started ``orders`` that still need ``checklist`` before they start."""
        candidates = [
            o for o in orders
            if o.state in OPEN_STATES and o.state != "in_progress"
            and checklist.for_asset(o.asset, self._type_of(o.asset))
        ]  # fmt: skip
        with self.engine.connect() as connection:
            done = submissions.work_orders_done(
                connection, checklist.id, [o.id for o in candidates]
            )
        return [o for o in candidates if o.id not in done]

    def _type_of(self, asset: str) -> str | None:
        found = self.plant.assets.get(asset)
        return found.type if found else None

    def before_start(self, connection: sa.Connection, order: WorkOrder) -> None:
        """The work-order gate: refuse to start ``order`` while a checklist its asset needs
        (``work-order-start``) is not submitted for it. Runs in the transition's own
        transaction: the check and the move are one change."""
        needed = self.config.for_work_orders(order.asset, self._type_of(order.asset))
        done = submissions.for_work_order(connection, order.id) if needed else set()
        missing = [c for c in needed if c.id not in done]
        if missing:
            names = ", ".join(f"{c.title} ({c.id})" for c in missing)
            raise IllegalWorkOrderTransitionError(
                f"work order {order.id} cannot start before this checklist is submitted: {names}"
            )
