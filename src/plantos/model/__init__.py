"""The plant: ISA-95 hierarchy, assets, tags, units and shift calendars, loaded from YAML."""

from plantos.model.loader import load_plant, load_plant_text
from plantos.model.plant import AssetDef, Node, Plant, TagDef

__all__ = ["AssetDef", "Node", "Plant", "TagDef", "load_plant", "load_plant_text"]
