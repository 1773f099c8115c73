"""Stop reasons in their SQLite file: the current reason per stop, the earlier ones kept as
its history, the same reasons after reopening the file, read-only for the offline CLI."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from plantos.analytics.oee import LiveOee, OeeSpec, Reason
from plantos.analytics.oee.reason_store import REASONS_FILE, ReasonStore, read_reasons
from plantos.core.clock import ManualClock
from plantos.core.errors import PlantOSError
from plantos.model import load_plant
from tests.support.server import SMALL_PLANT

S = 1_000_000_000
MIXER = "site-1/mixing/line-1/mixer-1"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / REASONS_FILE


def test_a_reason_is_kept_with_who_gave_it_and_when(path: Path) -> None:
    book = ReasonStore(path).book(clock=ManualClock(1_000 * S))
    given = book.assign_reason(MIXER, 700 * S, "  seal leak ", by="anna")
    assert given == Reason("seal leak", "anna", 1_000 * S)
    assert book.reason_of(MIXER, 700 * S) == "seal leak"
    assert book.given(MIXER, 700 * S) == given
    assert book.reason_of(MIXER, 701 * S) is None and book.given(MIXER, 701 * S) is None


def test_reassigning_replaces_the_reason_and_keeps_the_earlier_one_as_history(
    path: Path,
) -> None:
    clock = ManualClock(1_000 * S)
    store = ReasonStore(path)
    book = store.book(clock=clock)
    book.assign_reason(MIXER, 700 * S, "seal leak", by="anna")
    clock.advance_to(2_000 * S)
    book.assign_reason(MIXER, 700 * S, "pump failure", by="ben")
    assert book.reason_of(MIXER, 700 * S) == "pump failure"
    assert store.history(MIXER, 700 * S) == [
        Reason("pump failure", "ben", 2_000 * S),
        Reason("seal leak", "anna", 1_000 * S),
    ]
    assert store.history(MIXER, 600 * S) == []


def test_reopening_the_file_gives_the_current_reasons(path: Path) -> None:
    clock = ManualClock(1_000 * S)
    book = ReasonStore(path).book(clock=clock)
    book.assign_reason(MIXER, 700 * S, "seal leak", by="anna")
    book.assign_reason(MIXER, 700 * S, "pump failure", by="ben")
    book.assign_reason("site-1/mixing/line-1/mixer-2", 700 * S, "no material", by="anna")
    reopened = ReasonStore(path).book(clock=clock)
    assert reopened.reasons == book.reasons and len(reopened.reasons) == 2
    offline = read_reasons(path)
    assert offline.reasons == book.reasons
    assert read_reasons(path.parent / "elsewhere.sqlite").reasons == {}


def test_the_offline_reader_reads_without_the_shared_memory_file(path: Path) -> None:
    """A reader that cannot use the WAL's shared-memory file (in a directory it may not
    write, with no server running) still reads the reasons, as the file holds them."""
    ReasonStore(path).book(clock=ManualClock(0)).assign_reason(MIXER, 0, "seal leak", by="a")
    Path(f"{path}-wal").write_bytes(b"\0" * 64)  # a WAL left behind, nothing committed in it
    Path(f"{path}-shm").mkdir()  # and a shared-memory file nobody can map
    assert read_reasons(path).reason_of(MIXER, 0) == "seal leak"


def test_an_unreadable_reason_file_is_a_clear_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database, " * 100)
    with pytest.raises(PlantOSError, match="cannot read the stop reasons"):
        read_reasons(path)


def test_concurrent_assignments_leave_the_book_and_the_file_agreeing(path: Path) -> None:
    """The form (a worker thread) and the API (the event loop) may give one stop a reason at
    once. The first one's write returns late; the second must not slip in between its
    write and its update of the book, or the book shows one reason and a restart another."""
    store = ReasonStore(path)
    book = store.book(clock=ManualClock(0))
    keep = book.journal
    assert keep is not None
    second_done = threading.Event()

    def slow_disk(asset: str, start_ns: int, reason: Reason) -> None:
        keep(asset, start_ns, reason)
        if reason.by == "first":
            second_done.wait(0.5)  # the other assignment, if it may, finishes meanwhile

    book.journal = slow_disk
    first = threading.Thread(target=book.assign_reason, args=(MIXER, 0, "seal leak"),
                             kwargs={"by": "first"})  # fmt: skip
    first.start()
    time.sleep(0.05)
    book.assign_reason(MIXER, 0, "pump failure", by="second")
    second_done.set()
    first.join()
    assert store.book(clock=ManualClock(0)).reasons == book.reasons
    assert [r.by for r in store.history(MIXER, 0)] == ["second", "first"]


def test_a_reason_longer_than_a_code_is_refused(path: Path) -> None:
    book = ReasonStore(path).book(clock=ManualClock(0))
    with pytest.raises(ValueError, match="at most 200 characters"):
        book.assign_reason(MIXER, 0, "x" * 201, by="a")
    assert book.assign_reason(MIXER, 0, "x" * 200, by="a").code == "x" * 200


def test_an_empty_reason_is_refused_and_not_kept(path: Path) -> None:
    store = ReasonStore(path)
    book = store.book(clock=ManualClock(0))
    for empty in ("", "   "):
        with pytest.raises(ValueError, match="must not be empty"):
            book.assign_reason(MIXER, 700 * S, empty, by="anna")
    assert book.reasons == {} and store.history(MIXER, 700 * S) == []
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO reason_assignments (asset, start_ns, reason, given_by, given_ns) "
            "VALUES ('x', 0, ' ', 'a', 0)"
        )


def test_a_reason_the_file_cannot_keep_is_not_shown(path: Path) -> None:
    store = ReasonStore(path)
    book = store.book(clock=ManualClock(0))
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE reason_assignments")
    with pytest.raises(sqlite3.OperationalError):
        book.assign_reason(MIXER, 700 * S, "seal leak", by="anna")
    assert book.reason_of(MIXER, 700 * S) is None


def test_live_oee_refuses_an_asset_it_does_not_track(path: Path, tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    plant = load_plant(config)
    spec = OeeSpec.model_validate({"asset_types": {"mixer": {"from_enum": "state"}}})
    store = ReasonStore(path)
    live = LiveOee(
        plant,
        spec,
        {p: i for i, p in enumerate(plant.tags)},
        reasons=store.book(clock=ManualClock(5 * S)),
    )
    with pytest.raises(ValueError, match="no OEE tracking"):
        live.assign_reason("site-1/nowhere", 0, "seal leak", by="anna")
    given = live.assign_reason(MIXER, 0, "seal leak", by="anna")
    assert given == Reason("seal leak", "anna", 5 * S)
    assert store.history(MIXER, 0) == [given] and store.history("site-1/nowhere", 0) == []
