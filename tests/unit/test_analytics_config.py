"""The ``analytics`` section of the plant file: every problem named with its line, and the
demo plant's section valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantos.analytics.config import SpindleWatchSpec, analytics_spec
from plantos.core.errors import ConfigError
from plantos.model import load_plant, load_plant_text
from tests.unit.test_model_loader import BASE

FLOW = "site-1/area-1/line-1/pump-1/flow"


def problems(block: str) -> list[tuple[int | None, str]]:
    plant = load_plant_text(BASE + "analytics:\n" + block, file="plant.yaml")
    with pytest.raises(ConfigError) as info:
        analytics_spec(plant)
    return [(p.line, p.message) for p in info.value.problems]


def test_the_demo_plant_watches_its_spindles_and_its_furnace(demo_plant_path: Path) -> None:
    spec, oee = analytics_spec(load_plant(demo_plant_path))
    assert [c.tag.rsplit("/", 1)[-1] for c in spec.spc] == ["zone_2_temperature"]
    assert [w.asset_type for w in spec.spindles] == ["cnc-mill", "cnc-mill-online"]
    assert "cnc-mill" in oee.asset_types


def test_an_spc_characteristic_on_an_unknown_tag_is_named_with_its_line() -> None:
    block = f"""\
  spc:
    - {{tag: {FLOW}, chart: i-mr, subgroup_size: 1, limits: {{rolling: 20}}}}
    - {{tag: site-1/area-1/line-1/pump-1/nothing, chart: i-mr, subgroup_size: 1,
       limits: {{rolling: 20}}}}
"""
    assert problems(block) == [
        (24, "analytics.spc[1]: unknown tag 'site-1/area-1/line-1/pump-1/nothing'")
    ]


def test_bad_values_and_unknown_keys_are_named_with_their_lines() -> None:
    block = f"""\
  spc:
    - {{tag: {FLOW}, chart: x-bar-z, subgroup_size: 1, limits: {{rolling: 20}}}}
  colour: red
"""
    found = problems(block)
    assert (
        23,
        "analytics.spc[0].chart: Input should be 'i-mr', 'xbar-r', 'xbar-s', 'p', 'np', 'c' or 'u'",
    ) in found
    assert any(line == 24 and "unknown key 'colour'" in m for line, m in found)


def test_a_spindle_watch_needs_a_known_type_and_its_signals() -> None:
    block = """\
  spindles:
    - {asset_type: lathe, waveform: w, speed: s, velocity_rms: v}
    - {asset_type: pump, waveform: flow, speed: running, velocity_rms: nope}
"""
    found = problems(block)
    assert (23, "analytics.spindles[0]: unknown asset type 'lathe'") in found
    assert (24, "analytics.spindles[1].waveform: 'flow' has no waveform block") in found
    assert (
        24,
        "analytics.spindles[1].velocity_rms: asset type 'pump' has no signal 'nope'",
    ) in found


def test_spindle_zone_boundaries_must_be_positive_and_increasing() -> None:
    block = """\
  spindles:
    - {asset_type: pump, waveform: w, speed: s, velocity_rms: v,
       velocity_zones_mm_s: {a_b: 2.8, b_c: 1.4, c_d: 4.5}}
    - {asset_type: pump, waveform: w, speed: s, velocity_rms: v,
       velocity_zones_mm_s: {a_b: -1.0}}
"""
    assert problems(block) == [
        (
            24,
            "analytics.spindles[0].velocity_zones_mm_s: zone boundaries must be positive and "
            "increasing (A/B < B/C < C/D), got 2.8, 1.4, 4.5",
        ),
        (26, "analytics.spindles[1].velocity_zones_mm_s.a_b: Input should be greater than 0"),
    ]


def test_spindle_zones_default_to_iso_group_2_rigid(demo_plant_path: Path) -> None:
    demo, _ = analytics_spec(load_plant(demo_plant_path))
    omitted = SpindleWatchSpec(asset_type="t", waveform="w", speed="s", velocity_rms="v")
    for spec in (demo.spindles[0], omitted):
        zones = spec.velocity_zones_mm_s.zones()
        assert (zones.a_b, zones.b_c, zones.c_d) == (1.4, 2.8, 4.5)
