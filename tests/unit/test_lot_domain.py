"""The lot aggregate's lifecycle (who moved it, when, why; the events it records; the
moves it refuses) and the ``quality`` section's hold target and lot-code tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from plantos.core.errors import ConfigError
from plantos.model import load_plant_text
from plantos.mom.domain.lot import IllegalLotTransitionError, InvalidLotError, Lot
from plantos.mom.quality.policy import quality_policy
from tests.unit.test_model_loader import BASE

PUMP = "site-1/area-1/line-1/pump-1"


def lot(**fields: object) -> Lot:
    return Lot.open(id="PO-1-1", asset=PUMP, order="PO-1", opened_ns=10, by="loop",
                    good_from=5, scrap_from=1, **fields)  # fmt: skip


def test_a_held_lot_is_released_with_who_when_and_why_and_its_events() -> None:
    held = lot()
    held.count(good_total=12, scrap_total=2)
    assert (held.good, held.scrap) == (7, 1), "the parts booked since it opened"
    held.hold(by="loop:quality", at_ns=20, reason="NC-1 opened", nonconformance="NC-1")
    held.release(by="qa-anna", at_ns=30, reason="use as is")
    assert held.state == "released" and held.filling
    assert held.history == [
        {"to": "open", "by": "loop", "at_ns": 10},
        {"to": "on_hold", "by": "loop:quality", "at_ns": 20, "reason": "NC-1 opened",
         "nonconformance": "NC-1"},
        {"to": "released", "by": "qa-anna", "at_ns": 30, "reason": "use as is"},
    ]  # fmt: skip
    events = held.take_events()
    assert [(e.kind, e.subject, e.by) for e in events] == [  # type: ignore[attr-defined]
        ("LotHeld", "PO-1-1", "loop:quality"), ("LotReleased", "PO-1-1", "qa-anna"),
    ]  # fmt: skip
    assert held.take_events() == []


def test_the_end_of_production_closes_an_open_lot_but_keeps_a_held_one_held() -> None:
    done = lot()
    done.count(good_total=9, scrap_total=1)
    done.end(by="loop", at_ns=50)
    assert (done.state, done.closed_ns, done.filling, done.good) == ("closed", 50, False, 4)
    done.count(good_total=100, scrap_total=1)
    assert done.good == 4, "a lot no longer filling keeps its parts"
    held = lot()
    held.hold(by="qa", at_ns=20, reason="burr")
    held.end(by="loop", at_ns=50)
    assert (held.state, held.closed_ns) == ("on_hold", 50)
    held.release(by="qa", at_ns=60, reason="deburred")
    assert held.state == "released" and not held.filling
    late = lot()
    late.end(by="loop", at_ns=50)
    late.hold(by="qa", at_ns=70, reason="customer complaint")
    assert late.state == "on_hold", "a finished lot can still be held"


def test_scrapping_turns_its_good_parts_into_scrap_and_is_final() -> None:
    bad = lot()
    bad.count(good_total=8, scrap_total=1)
    bad.hold(by="qa", at_ns=20, reason="porosity")
    parts = bad.scrap_all(by="qa", at_ns=30, reason="scrap", booked=True, nonconformance="NC-2")
    assert (parts, bad.good, bad.scrap, bad.state, bad.closed_ns) == (3, 0, 3, "scrapped", 30)
    scrapped = bad.take_events()[-1]
    assert (scrapped.kind, scrapped.quantity, scrapped.booked) == (  # type: ignore[attr-defined]
        "LotScrapped", 3, True,
    )  # fmt: skip
    with pytest.raises(IllegalLotTransitionError, match="scrapped; it can go to nothing"):
        bad.hold(by="qa", at_ns=40, reason="again")


def test_refused_moves_name_the_reason_and_change_nothing() -> None:
    fresh = lot()
    with pytest.raises(IllegalLotTransitionError, match=r"not on hold \(it is open\)"):
        fresh.release(by="qa", at_ns=20, reason="why not")
    with pytest.raises(
        IllegalLotTransitionError, match="is open; it can go to closed, on_hold, not scrapped"
    ):
        fresh.scrap_all(by="qa", at_ns=20, reason="x", booked=False)
    fresh.hold(by="qa", at_ns=20, reason="burr")
    with pytest.raises(IllegalLotTransitionError, match=r"is on hold already \(burr\)"):
        fresh.hold(by="qa", at_ns=21, reason="burr again")
    assert (fresh.state, len(fresh.history), len(fresh.take_events())) == ("on_hold", 2, 1)
    with pytest.raises(InvalidLotError, match="1 to 80 characters"):
        Lot(id="", asset=PUMP, opened_ns=1, opened_by="x")
    with pytest.raises(InvalidLotError, match="unknown state 'lost'"):
        Lot(id="L", asset=PUMP, opened_ns=1, opened_by="x", state="lost")


def test_the_hold_target_defaults_to_the_order_and_a_rule_may_hold_the_lot_or_nothing() -> None:
    plant = load_plant_text(
        BASE + "quality:\n  hold_on: [spc_violation]\n  rules:\n"
        "    - {match: '*/running', hold_target: lot}\n"
        "    - {match: '*/flow', hold_target: none}\n"
    )  # fmt: skip
    policy = quality_policy(plant)
    assert policy.for_characteristic(f"{PUMP}/running").holds("spc_violation") == "lot"
    assert policy.for_characteristic(f"{PUMP}/flow").holds("spc_violation") is None
    default = quality_policy(load_plant_text(BASE + "quality:\n  hold_on: [spc_violation]\n"))
    assert default.for_characteristic(f"{PUMP}/flow").holds("spc_violation") == "order"
    assert default.for_characteristic(f"{PUMP}/flow").holds("failed_inspection") is None


def test_an_unknown_hold_target_or_a_lot_code_no_text_tag_is_named_with_its_line() -> None:
    start = BASE.count("\n") + 2
    text = (
        BASE + "quality:\n  hold_target: batch\n  lot_codes: [flow]\n"
        "  rules:\n    - {match: '*/flow', hold_target: pallet}\n"
    )  # fmt: skip
    with pytest.raises(ConfigError) as info:
        quality_policy(load_plant_text(text, file="plant.yaml"))
    assert [(p.file, p.line, p.message) for p in info.value.problems] == [
        ("plant.yaml", start + 1, f"quality.lot_codes[0]: {PUMP}/flow is float: "
                                  "a lot code is a text tag"),
        ("plant.yaml", start, "quality.hold_target: unknown hold target 'batch': "
                              "one of order, lot, none"),
        ("plant.yaml", start + 3, "quality.rules[0].hold_target: unknown hold target "
                                  "'pallet': one of order, lot, none"),
    ]  # fmt: skip


def test_plantos_check_names_an_unknown_hold_target_with_file_and_line(tmp_path: Path) -> None:
    plant = tmp_path / "plantos.yaml"
    plant.write_text(
        BASE + "quality:\n  hold_on: [spc_violation]\n  rules:\n"
        "    - {match: '*/flow', hold_target: pallet}\n"
    )  # fmt: skip
    result = CliRunner().invoke(app, ["check", str(plant)], env={"COLUMNS": "400"})
    errors = [line for line in result.output.splitlines() if line.startswith("error ")]
    line = BASE.count("\n") + 4
    assert result.exit_code == 1
    assert errors == [
        f"error {plant}:{line}: quality.rules[0].hold_target: unknown hold target 'pallet': "
        "one of order, lot, none"
    ]
