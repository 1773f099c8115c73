"""The checklist store's contract on SQLite and on a fresh PostgreSQL database: a
checklist is stored once per instance with its outbox row, a second submission is refused
with nothing written, and a work order cannot start before its lock-out/tag-out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from plantos.core.clock import ManualClock
from plantos.model.loader import load_plant_text
from plantos.mom.entry.config import entry_config
from plantos.mom.entry.errors import DuplicateSubmissionError, InvalidEntryError
from plantos.mom.entry.service import EntryService
from plantos.mom.entry.tables import checklist_submissions
from plantos.mom.maintenance.catalogue import DEFAULT_CATALOGUE
from plantos.mom.maintenance.errors import IllegalWorkOrderTransitionError
from plantos.mom.maintenance.service import MaintenanceService
from plantos.mom.maintenance.workorder import Window
from plantos.mom.store import open_engine, resolve_url, upgrade
from plantos.mom.store import tables as t
from plantos.mom.store.migrate import _config, current_revision
from tests.support.entry_plant import CNC1, LINE, PLANT
from tests.support.mom_db import mom_database

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
SHIFT_OK = {"guards": True, "air": "6.5", "remarks": ""}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with mom_database(request.param, tmp_path) as url:
        engine = open_engine(resolve_url(url, data_dir=tmp_path))
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def services(engine: sa.Engine) -> tuple[EntryService, MaintenanceService]:
    plant = load_plant_text(PLANT)
    clock = ManualClock(T0)
    entry = EntryService(engine, clock=clock, plant=plant, config=entry_config(plant))
    maintenance = MaintenanceService(
        engine, clock=clock, catalogue=DEFAULT_CATALOGUE,
        asset_types={p: a.type for p, a in plant.assets.items()},
        before_start=entry.before_start,
    )  # fmt: skip
    return entry, maintenance


def rows(engine: sa.Engine) -> tuple[int, list[str]]:
    with engine.connect() as c:
        count = c.execute(sa.select(sa.func.count()).select_from(checklist_submissions)).scalar()
        kinds = c.execute(sa.select(t.outbox.c.kind)).scalars().all()
    return int(count or 0), sorted(kinds)


def test_a_checklist_is_stored_once_with_its_outbox_event(
    services: tuple[EntryService, MaintenanceService], engine: sa.Engine
) -> None:
    entry, _ = services
    done, events = entry.submit("start-of-shift", line=LINE, answers=SHIFT_OK, by="olga")
    assert [e.kind for e in events] == ["ChecklistSubmitted"]
    assert done.answers == {"guards": True, "air": 6.5}
    assert entry.submissions(LINE) == [done]
    with pytest.raises(DuplicateSubmissionError, match="submitted already by olga"):
        entry.submit("start-of-shift", line=LINE, answers=SHIFT_OK, by="piet")
    assert rows(engine) == (1, ["ChecklistSubmitted"])


def test_wrong_answers_write_nothing(
    services: tuple[EntryService, MaintenanceService], engine: sa.Engine
) -> None:
    entry, _ = services
    with pytest.raises(InvalidEntryError) as refused:
        entry.submit("start-of-shift", line=LINE, answers={"air": 9, "extra": 1}, by="olga")
    for reason in ("guards: an answer is required", "outside the range 5 to 7 bar", "extra: no"):
        assert reason in str(refused.value)
    assert rows(engine) == (0, [])


def test_each_shift_has_its_own_instance(
    services: tuple[EntryService, MaintenanceService],
) -> None:
    entry, _ = services
    clock = entry.clock
    assert isinstance(clock, ManualClock)
    clock.advance_to(T0 + 7 * 3600 * NS)  # 07:00, the early shift
    entry.submit("start-of-shift", line=LINE, answers=SHIFT_OK, by="olga")
    clock.advance_to(T0 + 13 * 3600 * NS)  # same shift: refused
    with pytest.raises(DuplicateSubmissionError, match="early 2026-01-01T06:00:00"):
        entry.submit("start-of-shift", line=LINE, answers=SHIFT_OK, by="piet")
    clock.advance_to(T0 + 15 * 3600 * NS)  # the late shift
    late, _ = entry.submit("start-of-shift", line=LINE, answers=SHIFT_OK, by="piet")
    assert late.instance == f"{LINE} late 2026-01-01T14:00:00+00:00"
    assert len(entry.submissions(LINE)) == 2


def test_lockout_tagout_gates_the_start_of_a_work_order(
    services: tuple[EntryService, MaintenanceService], engine: sa.Engine
) -> None:
    entry, maintenance = services
    wo, _ = maintenance.request(asset=CNC1, kind="corrective", title="Noise", by="mia")
    maintenance.transition(wo.id, "approved", by="mia")

    def window(uow: object) -> None:
        order = uow.work_orders.get(wo.id)  # type: ignore[attr-defined]
        order.propose_window(Window(T0 + 3600 * NS, T0 + 7200 * NS), by="mia", at_ns=T0)

    maintenance.change(window)
    maintenance.transition(wo.id, "scheduled", by="mia")
    with pytest.raises(IllegalWorkOrderTransitionError, match="Lock-out/tag-out"):
        maintenance.transition(wo.id, "in_progress", by="mia")
    assert maintenance.get(wo.id).state == "scheduled"
    with pytest.raises(InvalidEntryError, match="isolated: must be yes"):
        entry.submit("loto", line=LINE, answers={"isolated": False, "tagged": True},
                     by="mia", work_order=wo.id)  # fmt: skip
    entry.submit("loto", line=LINE, answers={"isolated": True, "tagged": True},
                 by="mia", work_order=wo.id)  # fmt: skip
    assert maintenance.transition(wo.id, "in_progress", by="mia")[0].state == "in_progress"
    with pytest.raises(InvalidEntryError, match="in progress"):
        entry.submit("loto", line=LINE, answers={"isolated": True, "tagged": True},
                     by="mia", work_order=f"{wo.id}")  # fmt: skip


def test_the_revision_goes_down_and_up_again(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(_config(connection), "0004")
    assert current_revision(engine) == "0004"
    assert not sa.inspect(engine).has_table("mom_checklist_submissions")
    upgrade(engine)
    assert sa.inspect(engine).has_table("mom_checklist_submissions")


def test_stations_submitting_at_once_store_one(
    services: tuple[EntryService, MaintenanceService], engine: sa.Engine
) -> None:
    entry, _ = services
    start = threading.Barrier(4)

    def submit(person: str) -> str:
        start.wait()
        try:
            entry.submit("start-of-shift", line=LINE, answers=SHIFT_OK, by=person)
        except DuplicateSubmissionError:
            return "refused"
        return "stored"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(submit, ["ann", "bob", "cem", "dia"]))
    assert outcomes == ["refused", "refused", "refused", "stored"]
    assert rows(engine) == (1, ["ChecklistSubmitted"])
