"""The plant file shown in docs/plant-model.md is a valid plant file: a newcomer copies it."""

from __future__ import annotations

import re
from pathlib import Path

from plantos.edge.config import connector_specs, type_warnings
from plantos.model import load_plant
from tests.conftest import REPO


def test_the_documented_plant_file_loads_with_its_connectors(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "plant-model.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    path = tmp_path / "plantos.yaml"
    path.write_text(example.group(1))
    plant = load_plant(path)
    assert plant.tags["plant-a/machining/line-1/cnc-01/program"].dtype == "text"
    specs = connector_specs(plant)
    assert [s.kind for s in specs] == ["opcua", "modbus-tcp"]
    assert type_warnings(plant, specs) == []
