"""A default OEE configuration derived from the plant model, until plantos.yaml carries one.

The rules follow the conventions of the demo plant's asset types: an enum tag
called ``state`` names the states; a weld cell without one is running while its
arc burns (held across the handling between welds); ``part_counter`` and
``weld_count`` count all parts, ``good_count``/``scrap_count`` split them, and
``inspection_passed`` turns failed inspections into scrap. The ideal cycle time
is the simulator's nominal one, overridden per asset where an asset differs
from its type. Asset types without a state or a counter (a furnace) get none.
"""

from __future__ import annotations

from typing import Any

from plantos.analytics.oee.config import OeeSpec
from plantos.core.timeparse import format_duration, parse_duration_ns
from plantos.core.timeunits import NS_PER_S as _NS
from plantos.model.plant import Plant
from plantos.model.schema import TagSpec

_WELD_HANDLING_S = 20.0
"""The weld cell's part handling between welds when its simulator does not say."""


def default_oee_config(plant: Plant) -> OeeSpec:
    """Specs for every asset type whose tags show a state and a part count."""
    types: dict[str, dict[str, Any]] = {}
    for name, atype in plant.spec.asset_types.items():
        spec = _type_spec(atype.tags, atype.simulator or {})
        if spec is not None:
            types[name] = spec
    assets: dict[str, dict[str, Any]] = {}
    for path, asset in plant.assets.items():
        if asset.type not in types:
            continue
        ideal = _ideal_cycle(asset.simulator)
        if ideal is not None and ideal != types[asset.type].get("ideal_cycle_time"):
            assets[path] = {"ideal_cycle_time": ideal}
    return OeeSpec.model_validate({"asset_types": types, "assets": assets})


def _type_spec(tags: list[TagSpec], simulator: dict[str, Any]) -> dict[str, Any] | None:
    signals = {t.signal: t for t in tags}
    counters: dict[str, str] = {}
    if "good_count" in signals:
        counters["good"] = "good_count"
        if "scrap_count" in signals:
            counters["scrap"] = "scrap_count"
    for total in ("part_counter", "weld_count"):
        if total in signals:
            counters["total"] = total
    if "inspection_passed" in signals:
        counters["inspection"] = "inspection_passed"
    spec: dict[str, Any] = {"counters": counters}
    state = signals.get("state")
    if state is not None and state.type == "enum":
        spec["from_enum"] = "state"
    elif "weld_current" in signals:
        handling_s = _seconds(simulator.get("handling_time"), _WELD_HANDLING_S)
        hold = format_duration(int((handling_s + 5.0) * _NS))
        spec["rules"] = [{"state": "running", "when": "weld_current > 20", "hold": hold}]
    else:
        return None
    if not counters:
        return None
    ideal = _ideal_cycle(simulator)
    if ideal is not None:
        spec["ideal_cycle_time"] = ideal
    return spec


def _ideal_cycle(simulator: dict[str, Any]) -> str | None:
    """The nominal cycle the simulator runs at: ``cycle_time``, or weld plus handling time."""
    if "cycle_time" in simulator:
        return format_duration(int(_seconds(simulator["cycle_time"], 0.0) * _NS))
    if "weld_time" in simulator:
        weld = _seconds(simulator["weld_time"], 0.0)
        handling = _seconds(simulator.get("handling_time"), _WELD_HANDLING_S)
        return format_duration(int((weld + handling) * _NS))
    return None


def _seconds(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    return parse_duration_ns(str(value)) / _NS
