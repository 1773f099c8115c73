"""Manual entry without a server: a reading checked against its tag's type, unit and
range; the ``entry`` section of the plant file refused with file and line when wrong."""

from __future__ import annotations

import pytest

from plantos.core.errors import ConfigError
from plantos.model.loader import load_plant_text
from plantos.model.plant import TagDef
from plantos.mom.entry.config import entry_config, manual_tags
from plantos.mom.entry.errors import InvalidEntryError
from plantos.mom.entry.readings import reading_value
from tests.support.entry_plant import CNC1, LINE, OTHER_LINE, PLANT


def tag(dtype: str, **kw: object) -> TagDef:
    fields: dict = {"unit": None, "range": None, **kw}
    return TagDef("a/x", "a", "x", dtype, fields.pop("unit"), fields.pop("range"), 0, **fields)


@pytest.mark.parametrize(
    ("t", "raw", "unit", "expected"),
    [
        (tag("float", unit="bar", range=(0.0, 10.0)), "6,5", None, 6.5),
        (tag("float", unit="bar", range=(0.0, 10.0)), 500, "kPa", 5.0),
        (tag("float", unit="mm"), "1.5", "in", 38.1),
        (tag("int"), "-12", None, -12),
        (tag("int", unit="s"), 2, "min", 120),
        (tag("uint"), str(2**64 - 1), None, 2**64 - 1),
        (tag("bool"), "off", None, False),
        (tag("bool"), True, "", True),
        (tag("enum", states={0: "off", 3: "run"}), 3, None, 3),
        (tag("enum", states={0: "off", 3: "run"}), "run", None, 3),
        (tag("text", max_length=5), "L-42", None, "L-42"),
    ],
)
def test_a_good_entry_becomes_the_value_its_tag_stores(
    t: TagDef, raw: object, unit: str | None, expected: object
) -> None:
    got = reading_value(t, raw, unit=unit)
    assert got == pytest.approx(expected) if isinstance(expected, float) else got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("t", "raw", "unit", "reason"),
    [
        (tag("float", unit="bar"), "nan", None, "takes a finite number"),
        (tag("float", unit="bar"), "1e999", None, "takes a finite number"),
        (tag("float", unit="bar"), None, None, "takes a number, not None"),
        (tag("float", unit="bar"), True, None, "takes a number, not True"),
        (tag("float", unit="bar", range=(0.0, 10.0)), 2, "MPa", "20 bar is outside"),
        (tag("float", unit="bar"), 2, "kg", "bar: mass is not pressure"),
        (tag("int"), 2, "bar", "has no unit: enter a plain number"),
        (tag("int", unit="s"), 0.01, "min", "takes a whole number, not 0.6"),
        (tag("int"), str(2**63), None, "does not fit a int tag"),
        (tag("uint"), "-1", None, "does not fit a uint tag"),
        (tag("int"), "12.5", None, "takes a whole number, not 12.5"),
        (tag("bool"), 2, None, "takes yes or no"),
        (tag("enum", states={0: "off"}), 1, None, "takes one of off"),
        (tag("text", max_length=5), "L-4242", None, "at most 5 characters, not 6"),
        (tag("text", max_length=5), "  ", None, "takes a text"),
        (tag("text", max_length=5), 5, None, "takes a text"),
    ],
)
def test_a_bad_entry_is_refused_with_its_reason(
    t: TagDef, raw: object, unit: str | None, reason: str
) -> None:
    with pytest.raises(InvalidEntryError) as refused:
        reading_value(t, raw, unit=unit)
    assert reason in str(refused.value)


def test_the_plant_file_marks_manual_tags_per_line() -> None:
    plant = load_plant_text(PLANT)
    paths = [t.path for t in manual_tags(plant, LINE)]
    assert f"{CNC1}/oil_temperature" in paths and f"{CNC1}/spindle_vibration" not in paths
    assert all(p.startswith(f"{LINE}/") for p in paths) and manual_tags(plant, OTHER_LINE)
    assert plant.tags[f"{CNC1}/guard_ok"].to_dict()["entry"] == "manual"
    config = entry_config(plant)
    assert [c.id for c in config.for_work_orders(CNC1, "cnc-mill")] == ["loto"]


BAD_ENTRY = """\
entry:
  scrap_reasons: {dimension: Dimension}
  checklists:
    shift:
      title: Shift
      when: shift-start
      lines: [site-1/machining/line-9]
      asset_types: [cnc-mill]
      items:
        - {id: a, text: A, kind: value, unit: furlongz}
        - {id: a, text: A again, expect: true}
        - {id: b, text: B, kind: text, expect: false, range: [2, 1]}
"""


def test_a_wrong_entry_section_names_every_problem_with_its_line() -> None:
    base = PLANT.split("entry:\n")[0]
    plant = load_plant_text(base + BAD_ENTRY, file="plantos.yaml")
    with pytest.raises(ConfigError) as refused:
        entry_config(plant)
    text = str(refused.value)
    for reason in (
        "entry.checklists.shift.lines.0: no line 'site-1/machining/line-9' in the plant",
        "asset_types: only for work-order-start checklists",
        "unknown unit 'furlongz'",
        "item 'a' is given twice",
        "item 'b': 'expect' is for yes_no items",
        "item 'b': 'unit' and 'range' are for value items",
        "item 'b': range is inverted",
    ):
        assert reason in text
    assert "plantos.yaml:" in text
    with pytest.raises(ConfigError, match="when"):
        entry_config(load_plant_text(base + "entry:\n  checklists: {x: {title: X, items: []}}\n"))


def test_a_waveform_cannot_be_entered_by_hand() -> None:
    text = PLANT.replace(
        "entry: manual,\n         description: Refractometer reading}",
        "entry: manual, waveform: {rate_hz: 10, samples: 8, every: 1m}}",
    )
    with pytest.raises(ConfigError, match="a waveform cannot be entered by hand"):
        load_plant_text(text)
