"""Loading plantos.yaml: the demo plant is valid, and every kind of mistake is reported
with its file, its line and a plain sentence."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plantos.core.errors import ConfigError
from plantos.model import load_plant, load_plant_text

BASE = """\
plantos: 1
enterprise: {id: acme}
calendars:
  day:
    timezone: Europe/Berlin
    shifts: [{name: day, start: "06:00", end: "14:00"}]
asset_types:
  pump:
    tags:
      - {signal: flow, unit: l/min, range: [0, 100]}
      - {signal: running, type: bool}
sites:
  - id: site-1
    calendar: day
    areas:
      - id: area-1
        lines:
          - id: line-1
            assets:
              - {id: pump-1, type: pump}
"""


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigError) as info:
        load_plant_text(textwrap.dedent(text), file="plant.yaml")
    assert all(p.file == "plant.yaml" for p in info.value.problems)
    return [(p.line, p.message) for p in info.value.problems]


def test_demo_plant_has_two_sites_and_every_asset_kind(demo_plant_path: Path) -> None:
    plant = load_plant(demo_plant_path)
    assert [s.id for s in plant.root.children] == ["plant-a", "plant-b"]
    assert "plant-a/machining/line-1/cnc-07/spindle_vibration" in plant.tags
    assert {a.type for a in plant.assets.values()} == {
        "cnc-mill",
        "cnc-mill-online",
        "heat-treat-furnace",
        "weld-cell",
        "assembly-station",
    }
    wave = plant.tags["plant-a/machining/line-1/cnc-07/spindle_vibration_waveform"].waveform
    assert wave is not None and wave.samples == 4096 and wave.rate_hz == 10_000
    assert plant.assets["plant-a/machining/line-1/cnc-05"].simulator["nominal_rpm"] == 3000
    # plant B's mills: the same tags (YAML aliases), a snapshot every 2 min instead of 5
    b_wave = plant.tags["plant-b/machining/line-1/cnc-01/spindle_vibration_waveform"].waveform
    assert b_wave is not None and (b_wave.every_ns, wave.every_ns) == (120 * 10**9, 300 * 10**9)
    b_tags = {
        t.path.rsplit("/", 1)[-1] for t in plant.assets["plant-b/machining/line-1/cnc-01"].tags
    }
    assert b_tags == {
        t.path.rsplit("/", 1)[-1] for t in plant.assets["plant-a/machining/line-1/cnc-07"].tags
    }


def test_base_example_is_valid() -> None:
    plant = load_plant_text(BASE)
    assert list(plant.tags) == [
        "site-1/area-1/line-1/pump-1/flow",
        "site-1/area-1/line-1/pump-1/running",
    ]


def test_broken_yaml_names_the_line() -> None:
    found = problems("plantos: 1\nenterprise: {id: acme\nsites: []\n")
    assert len(found) == 1
    line, message = found[0]
    assert line == 3 and "YAML syntax error" in message


def test_unknown_parent_is_reported_with_known_lines() -> None:
    text = BASE + "assets:\n  - {id: pump-2, type: pump, parent: site-1/area-1/line-9}\n"
    [(line, message)] = problems(text)
    assert line == 22
    assert "unknown parent 'site-1/area-1/line-9'" in message
    assert "site-1/area-1/line-1" in message


def test_flat_asset_with_known_parent_joins_the_line() -> None:
    plant = load_plant_text(
        BASE + "assets:\n  - {id: pump-2, type: pump, parent: site-1/area-1/line-1}\n"
    )
    assert "site-1/area-1/line-1/pump-2/flow" in plant.tags
    assert plant.assets["site-1/area-1/line-1/pump-2"].calendar == "day"


def test_duplicate_tag_path_names_both_lines() -> None:
    text = BASE.replace(
        "- {id: pump-1, type: pump}",
        "- {id: pump-1, type: pump, tags: [{signal: flow, unit: l/min}]}",
    )
    [(line, message)] = problems(text)
    assert line == 20
    assert "duplicate tag path 'site-1/area-1/line-1/pump-1/flow' (first at line 10)" in message


def test_missing_unit_inverted_range_and_unknown_unit_all_reported_at_once() -> None:
    text = BASE.replace(
        "      - {signal: running, type: bool}",
        "      - {signal: running, type: bool}\n"
        "      - {signal: pressure}\n"
        "      - {signal: speed, unit: rpm, range: [100, 0]}\n"
        "      - {signal: temp, unit: degreez}",
    )
    found = problems(text)
    messages = " | ".join(m for _, m in found)
    assert "tag 'pressure' is a float and needs a 'unit'" in messages
    assert "range is inverted: low 100.0 is above high 0.0" in messages
    assert "unknown unit 'degreez'" in messages
    assert sorted(line for line, _ in found) == [12, 13, 14]


def test_illegal_characters_in_a_name() -> None:
    [(line, message)] = problems(
        BASE.replace("- {id: pump-1, type: pump}", "- {id: 'pump 1/#', type: pump}")
    )
    assert line == 20
    assert "'pump 1/#' is not a valid name" in message


def test_duplicate_mapping_key_is_not_silently_overwritten() -> None:
    found = problems(
        BASE.replace("enterprise: {id: acme}", "enterprise: {id: acme}\nenterprise: {id: other}")
    )
    assert (3, "duplicate key 'enterprise' (first at line 2)") in found


def test_a_mapping_or_list_as_a_key_is_a_problem_with_its_line() -> None:
    found = problems(BASE.replace("enterprise: {id: acme}", "enterprise: {id: acme}\n[a, b]: 1"))
    assert (3, "a key must be a value, not a list") in found
    found = problems(BASE.replace("enterprise: {id: acme}", "enterprise: {id: acme}\n{a: 1}: 1"))
    assert (3, "a key must be a value, not a mapping") in found


def test_unknown_asset_type_and_calendar() -> None:
    text = BASE.replace(
        "- {id: pump-1, type: pump}", "- {id: pump-1, type: pumpp, calendar: night}"
    )
    messages = [m for _, m in problems(text)]
    assert any("unknown asset type 'pumpp' (known: pump)" in m for m in messages)
    assert any("unknown calendar 'night' (known: day)" in m for m in messages)


def test_unknown_key_and_wrong_type() -> None:
    text = BASE.replace(
        "      - {signal: flow, unit: l/min, range: [0, 100]}",
        "      - {signal: flow, unit: l/min, range: [zero, 100], colour: red}",
    )
    messages = [m for _, m in problems(text)]
    assert any("unknown key 'colour'" in m for m in messages)
    assert any("range" in m and "valid number" in m for m in messages)


def test_duplicate_asset_and_unknown_time_zone() -> None:
    text = BASE.replace("timezone: Europe/Berlin", "timezone: Mars/Olympus").replace(
        "- {id: pump-1, type: pump}", "- {id: pump-1, type: pump}\n              - {id: pump-1}"
    )
    messages = [m for _, m in problems(text)]
    assert any("unknown time zone 'Mars/Olympus'" in m for m in messages)
    assert any("duplicate asset 'site-1/area-1/line-1/pump-1'" in m for m in messages)


def test_a_file_that_is_not_a_mapping() -> None:
    [(line, message)] = problems("- just\n- a list\n")
    assert line == 1 and "must be a mapping" in message


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_plant(tmp_path / "absent.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_plant(binary)


def test_a_control_character_is_a_syntax_error_with_its_line() -> None:
    [(line, message)] = problems("plantos: 1\nenterprise: {id: acme}\nsites: [\x0c]\n")
    assert line == 3 and "special characters are not allowed" in message
