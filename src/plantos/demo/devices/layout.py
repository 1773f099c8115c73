"""Which simulated asset speaks which protocol, and under which name.

A real plant is a mix: machine tools with an OPC UA server on the controller, furnaces
run by a PLC that answers Modbus TCP, assembly and weld cells reporting through an edge
gateway as Sparkplug B. The demo splits its simulated assets the same way, by the
asset's ``simulator.model``, so a plant file needs no protocol section to be demoed.

>>> PROTOCOL_OF_MODEL["furnace"]
'modbus'
>>> sparkplug_ids("plant-a/assembly/line-3/st-10")
('plant-a', 'assembly-line-3', 'st-10')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from plantos.model import Plant, TagDef

Protocol = Literal["opcua", "modbus", "sparkplug"]
PROTOCOLS: tuple[Protocol, ...] = ("opcua", "modbus", "sparkplug")

PROTOCOL_OF_MODEL: dict[str, Protocol] = {
    "cnc-mill": "opcua",
    "furnace": "modbus",
    "assembly-station": "sparkplug",
    "weld-cell": "sparkplug",
}
"""Assets of other models (or without one) are not simulated, so no device stands for them."""

OPCUA_NAMESPACE = "urn:plantos:demo"
OPCUA_NS_INDEX = 2
"""The first namespace a fresh server registers gets index 2 (0 is OPC UA's, 1 the server's);
the connector specs are written before the server runs, so the server checks it got 2."""


@dataclass(frozen=True)
class DeviceLayout:
    """The simulated tags of one plant, split by the protocol that carries them (every tag
    of a simulated asset but those operators enter by hand)."""

    opcua: tuple[TagDef, ...]
    modbus: tuple[TagDef, ...]
    sparkplug: tuple[TagDef, ...]

    @classmethod
    def of(cls, plant: Plant) -> DeviceLayout:
        split: dict[Protocol, list[TagDef]] = {"opcua": [], "modbus": [], "sparkplug": []}
        for asset in plant.assets.values():
            protocol = PROTOCOL_OF_MODEL.get(str(asset.simulator.get("model")))
            if protocol is not None:  # a manual tag is entered on the station, not simulated
                split[protocol] += [t for t in asset.tags if t.entry == "machine"]
        return cls(tuple(split["opcua"]), tuple(split["modbus"]), tuple(split["sparkplug"]))

    def protocols(self) -> list[Protocol]:
        """The protocols with tags: one connector each reads them in the live demo."""
        return [p for p, tags in zip(PROTOCOLS, self._split(), strict=True) if tags]

    def _split(self) -> tuple[tuple[TagDef, ...], ...]:
        return self.opcua, self.modbus, self.sparkplug

    def edge_nodes(self) -> dict[tuple[str, str], tuple[TagDef, ...]]:
        """Sparkplug tags per ``(group_id, edge_node_id)``: one edge node per line."""
        nodes: dict[tuple[str, str], list[TagDef]] = {}
        for tag in self.sparkplug:
            group, node, _device = sparkplug_ids(tag.asset)
            nodes.setdefault((group, node), []).append(tag)
        return {key: tuple(tags) for key, tags in nodes.items()}


def opcua_node_id(tag: TagDef) -> str:
    """The variable's NodeId: the tag path as a string identifier in the demo namespace."""
    return f"ns={OPCUA_NS_INDEX};s={tag.path}"


def sparkplug_ids(asset_path: str) -> tuple[str, str, str]:
    """``(group_id, edge_node_id, device_id)`` of an asset ``site/area/line/asset``: a site is
    a Sparkplug group, a line an edge node (named ``area-line``, unique in its site) and an
    asset a device. Sparkplug ids may not hold ``/``, ``+`` or ``#``; plant ids never do."""
    site, area, line, asset = asset_path.split("/")
    return site, f"{area}-{line}", asset
