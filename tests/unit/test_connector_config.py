"""The ``connectors`` section: every problem named with its line, known kinds built."""

from __future__ import annotations

import pytest

from plantos.core.clock import ManualClock
from plantos.core.errors import ConfigError
from plantos.edge.config import build_connector, connector_specs
from plantos.model import load_plant_text
from tests.unit.test_model_loader import BASE

FLOW = "site-1/area-1/line-1/pump-1/flow"


def with_connectors(block: str) -> str:
    return BASE + "connectors:\n" + block


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigError) as info:
        connector_specs(load_plant_text(text, file="plant.yaml"))
    return [(p.line, p.message) for p in info.value.problems]


GOOD = f"""\
  - kind: mtconnect
    name: agent-1
    url: http://10.0.0.9:5000
    items: [{{tag: {FLOW}, data_item: flow1}}]
  - kind: modbus-tcp
    name: plc-1
    host: 10.0.0.5
    poll_groups:
      - interval: 1s
        table: holding
        tags: [{{tag: {FLOW}, address: 100, type: float32}}]
"""


def test_valid_connectors_are_validated_and_built() -> None:
    plant = load_plant_text(with_connectors(GOOD))
    specs = connector_specs(plant)
    assert [type(s).__name__ for s in specs] == ["MTConnectSpec", "ModbusTcpSpec"]
    ids = {FLOW: 7}
    built = [build_connector(s, ids, clock=ManualClock(0)) for s in specs]
    assert [c.name for c in built] == ["agent-1", "plc-1"]
    assert all(list(c.tag_ids) == [7] for c in built)


def test_unknown_kind_unknown_tag_and_bad_values_are_named_with_lines() -> None:
    text = with_connectors(
        "  - {kind: profinet, name: x}\n"
        "  - kind: modbus-tcp\n"
        "    name: plc-1\n"
        "    host: 10.0.0.5\n"
        "    port: 99999\n"
        "    poll_groups: [{interval: 1s, table: holding,"
        " tags: [{tag: nope/x, address: 1, type: int16}]}]\n"
        "  - kind: mtconnect\n"
        "    name: agent\n"
        "    url: http://a\n"
        "    items: [{tag: site-1/area-1/line-1/pump-1/nothing, data_item: d}]\n"
    )
    found = problems(text)
    messages = " | ".join(m for _, m in found)
    assert (
        "unknown connector kind 'profinet' (known: modbus-tcp, opcua, mtconnect, sparkplug-host)"
        in messages
    )
    assert "connectors[1].port" in messages
    assert "connector 'agent': unknown tag 'site-1/area-1/line-1/pump-1/nothing'" in messages
    lines = sorted(line for line, _ in found)
    assert lines == [22, 26, 31]


def test_duplicate_connector_names() -> None:
    text = with_connectors(GOOD + GOOD.replace("plc-1", "plc-2"))
    found = problems(text)
    assert any("duplicate connector name 'agent-1' (first at line 23)" in m for _, m in found)


def test_a_sparkplug_host_is_built_with_its_metric_map() -> None:
    text = with_connectors(
        "  - kind: sparkplug-host\n"
        "    name: uns\n"
        "    broker: mqtt://broker.plant:1884\n"
        "    host_id: plantos-core\n"
        f"    metrics: [{{tag: {FLOW}, group: assembly, edge_node: line-3, metric: Flow}}]\n"
    )
    [spec] = connector_specs(load_plant_text(text))
    host = build_connector(spec, {FLOW: 9}, clock=ManualClock(0))
    assert host.name == "uns" and list(host.tag_ids) == [9]
    assert (host.server.host, host.server.port, host.server.tls) == ("broker.plant", 1884, None)


def test_a_sparkplug_host_needs_an_mqtt_broker_url() -> None:
    text = with_connectors(
        "  - {kind: sparkplug-host, name: uns, broker: 'http://x', host_id: h,"
        f" metrics: [{{tag: {FLOW}, group: g, edge_node: n, metric: m}}]}}\n"
    )
    [(line, message)] = problems(text)
    assert line == 22 and "broker must look like mqtt://host:1883" in message
