"""The OEE configuration: validation with clear errors, and the default for the demo plant."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from plantos.analytics.oee import OeeSpec, default_oee_config
from plantos.model import load_plant

CNC = {"from_enum": "state", "counters": {"total": "part_counter"}, "ideal_cycle_time": "95s"}


def test_a_valid_spec_round_trips() -> None:
    spec = OeeSpec.model_validate({"asset_types": {"cnc-mill": CNC}})
    assert spec.asset_types["cnc-mill"].ideal_cycle_time == "95s"
    assert spec.asset_types["cnc-mill"].categories["changeover"] == "setup"


@pytest.mark.parametrize(
    ("type_spec", "message"),
    [
        ({**CNC, "colour": "red"}, "Extra inputs are not permitted"),
        ({**CNC, "rules": [{"state": "down", "when": "alarm == 1"}]}, "either 'from_enum"),
        ({"rules": [{"state": "down", "when": "alarm = 1"}]}, "'alarm = 1' .*not valid syntax"),
        ({"rules": [{"state": "down", "when": "alarm(1)"}]}, "Call is not allowed"),
        ({"rules": []}, "either 'from_enum"),
        ({**CNC, "micro_stop": "two minutes"}, "not a duration"),
        ({**CNC, "ideal_cycle_time": {"program": {1001: "fast"}}}, "not a duration"),
        ({**CNC, "ideal_cycle_time": {"a": {1: "1s"}, "b": {2: "1s"}}}, "ideal_cycle_time is"),
        ({**CNC, "counters": {"total": "a", "good": "b"}}, "either 'total' or 'good'"),
        ({**CNC, "counters": {"scrap": "b"}}, "'scrap' needs 'good'"),
        ({**CNC, "counters": {"total": "a", "rollover": 0}}, "greater than 0"),
        ({**CNC, "categories": {"unknown": "producing"}}, "reserved"),
        ({**CNC, "categories": {"running": "fast"}}, "Input should be 'producing'"),
    ],
)
def test_invalid_specs_say_what_is_wrong(type_spec: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OeeSpec.model_validate({"asset_types": {"cnc-mill": type_spec}})


def test_asset_overrides_apply_over_the_type_and_unknown_fields_are_refused() -> None:
    spec = OeeSpec.model_validate(
        {"asset_types": {"cnc-mill": CNC}, "assets": {"p/a/l/cnc-05": {"ideal_cycle_time": "4m"}}}
    )
    slow = spec.for_asset("p/a/l/cnc-05", "cnc-mill")
    assert slow is not None and slow.ideal_cycle_time == "4m" and slow.from_enum == "state"
    assert spec.for_asset("p/a/l/cnc-01", "cnc-mill") == spec.asset_types["cnc-mill"]
    assert spec.for_asset("p/a/l/furnace", "furnace") is None
    with pytest.raises(ValidationError, match="unknown fields"):
        OeeSpec.model_validate({"assets": {"x": {"ideal": "4m"}}})


def test_the_spec_is_frozen() -> None:
    spec = OeeSpec.model_validate({"asset_types": {"cnc-mill": CNC}})
    with pytest.raises(ValidationError):
        spec.asset_types["cnc-mill"].micro_stop = "5m"  # type: ignore[misc]


def test_default_config_for_the_demo_plant(demo_plant_path: Path) -> None:
    plant = load_plant(demo_plant_path)
    spec = default_oee_config(plant)
    assert set(spec.asset_types) == {"cnc-mill", "cnc-mill-online", "weld-cell", "assembly-station"}
    assert spec.asset_types["cnc-mill-online"] == spec.asset_types["cnc-mill"]
    cnc, weld, st = (spec.asset_types[k] for k in ("cnc-mill", "weld-cell", "assembly-station"))
    assert (cnc.from_enum, cnc.counters.total, cnc.ideal_cycle_time) == (
        "state",
        "part_counter",
        "95s",
    )
    assert weld.rules[0].when == "weld_current > 20" and weld.ideal_cycle_time == "1m"
    assert (weld.counters.total, weld.counters.inspection) == ("weld_count", "inspection_passed")
    assert (st.counters.good, st.counters.scrap) == ("good_count", "scrap_count")
    assert spec.assets == {
        "plant-a/machining/line-1/cnc-05": {"ideal_cycle_time": "4m"},
        "plant-a/assembly/line-3/st-20": {"ideal_cycle_time": "50s"},
    }
