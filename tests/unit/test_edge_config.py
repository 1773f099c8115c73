"""``edge.yaml``: a valid gateway file loads with its plant, and every problem in it is
named with the edge file's name and line, including connector entries checked against
the plant's tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantos.core.errors import ConfigError
from plantos.edge.gateway.config import load_edge_config
from tests.unit.test_model_loader import BASE

FLOW = "site-1/area-1/line-1/pump-1/flow"

GOOD = f"""\
plantos-edge: 1
plant: plant.yaml
upstream:
  broker: mqtts://core.plant:8883
  ca_file: ca.pem
  group: site-1
  edge_node: pumps
  primary_host: plantos-core
spool:
  path: spool/pumps.sqlite
  max_size: 64MB
connectors:
  - kind: modbus-tcp
    name: plc-1
    host: 127.0.0.1
    poll_groups:
      - interval: 1s
        table: holding
        tags: [{{tag: {FLOW}, address: 100, type: float32}}]
"""


def write(tmp_path: Path, edge: str) -> Path:
    (tmp_path / "plant.yaml").write_text(BASE)
    path = tmp_path / "edge.yaml"
    path.write_text(edge)
    return path


def problems(tmp_path: Path, edge: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as info:
        load_edge_config(write(tmp_path, edge))
    return [(Path(p.file).name, p.line, p.message) for p in info.value.problems]


def test_a_valid_edge_file_loads_with_its_plant(tmp_path: Path) -> None:
    config = load_edge_config(write(tmp_path, GOOD))
    up = config.spec.upstream
    assert (up.group, up.edge_node, up.primary_host, up.data_qos) == (
        "site-1",
        "pumps",
        "plantos-core",
        1,
    )
    server = up.mqtt_server()
    assert (server.host, server.port, server.tls is not None) == ("core.plant", 8883, True)
    assert config.spool_path == tmp_path / "spool" / "pumps.sqlite"
    assert int(config.spec.spool.max_size) == 64_000_000
    assert [type(c).__name__ for c in config.connectors] == ["ModbusTcpSpec"]
    assert FLOW in config.plant.tags


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("  edge_node: pumps\n", "  edge_node: pumps\n  colour: red\n", 8, "unknown key 'colour'"),
        ("mqtts://core.plant:8883", "http://core", 4, "broker must look like"),
        ("  edge_node: pumps\n", "  edge_node: a/b\n", 7, "upstream.edge_node"),
        ("  max_size: 64MB\n", "  max_size: lots\n", 11, "spool.max_size"),
        ("  ca_file: ca.pem\n", "  cert_file: c.pem\n", 3, "cert_file and key_file go together"),
        (f"tag: {FLOW}", "tag: site-1/nowhere", 19, "unknown tag 'site-1/nowhere'"),
        ("plantos-edge: 1\n", "plantos-edge: 2\n", 1, "plantos-edge"),
    ],
)
def test_problems_name_the_edge_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in GOOD
    [(file, at, text)] = problems(tmp_path, GOOD.replace(old, new))
    assert file == "edge.yaml" and at == line and message in text, (at, text)


def test_broken_yaml_and_a_missing_plant_are_reported(tmp_path: Path) -> None:
    [(file, line, text)] = problems(tmp_path, GOOD.replace("  group: site-1\n", "  group: [\n"))
    assert (file, line) == ("edge.yaml", 8) and "YAML syntax error" in text
    write(tmp_path, GOOD)
    (tmp_path / "plant.yaml").unlink()
    with pytest.raises(ConfigError) as info:
        load_edge_config(tmp_path / "edge.yaml")
    [problem] = info.value.problems
    assert problem.file.endswith("plant.yaml") and "cannot read file" in problem.message
