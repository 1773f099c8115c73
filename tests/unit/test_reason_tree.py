"""Stop reasons come from a tree the plant file may set; a note carries the operator's own
words and survives a restart beside the code; a store from before notes still opens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plantos.analytics.config import AnalyticsSpec
from plantos.analytics.oee.reason_store import ReasonStore, read_reasons
from plantos.analytics.oee.reason_tree import DEFAULT_TREE, ReasonTree
from plantos.core.clock import ManualClock

NS = 1_000_000_000


def test_the_plant_file_tree_replaces_the_default() -> None:
    spec = AnalyticsSpec.model_validate({"stop_reasons": {"Mould": ["Flash", "Short shot"]}})
    tree = ReasonTree.of(spec.stop_reasons)
    assert tree.codes() == ["Mould / Flash", "Mould / Short shot"]
    assert ReasonTree.of(None).groups[0][0] == next(iter(DEFAULT_TREE))


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({}, "at least one group"),
        ({"Mould": []}, "has no reasons"),
        ({"Mould": ["Flash", "Flash"]}, "twice"),
        ({"Mould/Die": ["Flash"]}, "without '/'"),
    ],
)
def test_a_bad_tree_is_refused(tree: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AnalyticsSpec.model_validate({"stop_reasons": tree})


def test_a_code_outside_the_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="not a stop reason"):
        ReasonTree.of(None).check("pump")


def test_the_note_is_kept_beside_the_code_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "reasons.sqlite"
    book = ReasonStore(path).book(clock=ManualClock(5 * NS))
    book.assign_reason("s/a/l/m1", 100, "Breakdown / Electrical", by="ana", note=" fuse F3 ")
    again = read_reasons(path).given("s/a/l/m1", 100)
    assert again is not None
    assert (again.code, again.note, again.by) == ("Breakdown / Electrical", "fuse F3", "ana")


def test_a_store_from_before_notes_opens_and_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "reasons.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE reason_assignments (id INTEGER PRIMARY KEY AUTOINCREMENT, asset TEXT "
        "NOT NULL, start_ns INTEGER NOT NULL, reason TEXT NOT NULL, given_by TEXT NOT NULL, "
        "given_ns INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO reason_assignments VALUES (1, 'm1', 100, 'pump', 'bo', 7)")
    db.commit()
    db.close()
    old = read_reasons(path).given("m1", 100)
    assert old is not None and (old.code, old.note) == ("pump", "")
    store = ReasonStore(path)
    store.book(clock=ManualClock(9 * NS)).assign_reason("m1", 100, "Tooling / Fixture", note="x")
    assert [r.note for r in store.history("m1", 100)] == ["x", ""]
