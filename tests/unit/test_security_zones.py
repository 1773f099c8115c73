"""Zones and conduits from the plant file: the demo plant's one writable setpoint, the
conduit a write needs, and every mistake named with its file and line."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.core.errors import ConfigError
from plantos.model import load_plant, load_plant_text
from plantos.security.zones import zoning
from tests.conftest import DEMO_PLANT

SETPOINT = "plant-a/heat-treat/furnace-line/furnace-1/setpoint"

PLANT = """\
plantos: 1
enterprise: {id: acme}
asset_types:
  furnace:
    tags:
      - {signal: setpoint, unit: degC}
      - {signal: temperature, unit: degC}
sites:
  - id: a
    areas:
      - id: heat
        lines:
          - id: l1
            assets:
              - {id: f1, type: furnace}
"""
GOOD = """\
security:
  zones:
    cell: {members: [a/heat]}
    dmz: {}
  conduits:
    - {id: in, from: dmz, to: cell, writes: [a/heat/l1/f1/setpoint]}
  writable:
    - {tag: a/heat/l1/f1/setpoint, connector: c, address: 0, min: 0, max: 10}
"""


def test_the_demo_plant_declares_one_setpoint_behind_an_approval() -> None:
    zones = zoning(load_plant(DEMO_PLANT))
    [writable] = zones.spec.writable
    assert writable.tag == SETPOINT and writable.approval
    assert zones.zone_of(SETPOINT) == "ot-supervisory"
    assert zones.zone_of("plant-a/machining/line-1/cnc-07/spindle_speed") == "ot-cell"
    conduit = zones.conduit_for_write(SETPOINT)
    assert conduit is not None and conduit.id == "setpoints-in"
    assert zones.conduit_for_write("plant-a/heat-treat/furnace-line/furnace-1/gas_flow") is None


def test_a_plant_without_a_security_section_writes_nothing() -> None:
    zones = zoning(load_plant_text(PLANT))
    assert zones.writable("a/heat/l1/f1/setpoint") is None
    assert zones.conduit_for_write("a/heat/l1/f1/setpoint") is None


def test_a_good_section_is_accepted() -> None:
    zones = zoning(load_plant_text(PLANT + GOOD))
    assert zones.conduit_for_write("a/heat/l1/f1/setpoint") is not None
    assert zones.conduit_for_write("a/heat/l1/f1/temperature") is None


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("from: dmz, to: cell", "from: dmx, to: cell", 21, "no zone 'dmx'"),
        ("members: [a/heat]", "members: [a/hot]", 18, "unknown plant path 'a/hot'"),
        ("tag: a/heat/l1/f1/setpoint,", "tag: a/heat/l1/f1/temperature,", 23,
         "no conduit from 'dmz' writes"),
        ("min: 0, max: 10", "min: 10, max: 0", 23, "must be finite, min at most max"),
        ("address: 0", 'address: 0, node: "ns=2;s=X"', 23, "give node (OPC UA) or address"),
    ],
)  # fmt: skip
def test_mistakes_are_named_with_their_line(old: str, new: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        zoning(load_plant_text(PLANT + GOOD.replace(old, new), file="plant.yaml"))
    found = [p for p in caught.value.problems if message in p.message]
    assert found, caught.value.problems
    assert found[0].file == "plant.yaml" and found[0].line == line


names = st.sampled_from(["cell", "dmz", "x", "a/heat", "a/heat/l1/f1/setpoint", "", 3, None])
values: Any = st.recursive(
    names | st.floats(allow_nan=True) | st.booleans(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names.map(str), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["zones", "conduits", "writable", "core_zone", "oidc", "other"]), values,
        max_size=4,
    )
)  # fmt: skip
def test_any_security_section_is_accepted_or_named_as_a_config_error(raw: dict[str, Any]) -> None:
    plant = load_plant_text(PLANT, file="plant.yaml")
    try:
        zoning(plant, raw)
    except ConfigError as exc:
        assert exc.problems and all(p.file == "plant.yaml" for p in exc.problems)
