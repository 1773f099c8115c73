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
        "unknown connector kind 'profinet' (known: modbus-tcp, opcua, mtconnect, sparkplug-host,"
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


MQTT_JSON = f"""\
  - kind: mqtt-json
    name: uns
    broker: mqtts://broker.plant:8883
    ca_file: certs/ca.pem
    qos: 0
    subscriptions:
      - topic: acme/site-1/area-1/line-1/pump-1/metrics
        timestamp: $.ts
        fields:
          - {{tag: {FLOW}, value: $.flow}}
      - topic: acme/{{site}}/{{area}}/+/+/{{signal}}
        tag: "{{site}}/{{area}}/line-1/pump-1/{{signal}}"
        value: $.value
        quality: $.q
"""


def test_an_mqtt_json_connector_is_built_with_its_template_tags() -> None:
    [spec] = connector_specs(load_plant_text(with_connectors(MQTT_JSON)))
    running = "site-1/area-1/line-1/pump-1/running"
    conn = build_connector(spec, {FLOW: 3, running: 4, "other/x": 5}, clock=ManualClock(0))
    assert conn.name == "uns" and list(conn.tag_ids) == [3, 4]
    assert (conn.server.host, conn.server.port, conn.server.tls.ca_file.name) == (
        "broker.plant",
        8883,
        "ca.pem",
    )
    assert spec.filters() == ["acme/+/+/+/+/+"]  # the specific topic rides on the pattern


def test_mqtt_json_mistakes_are_named_with_their_lines() -> None:
    text = with_connectors(
        "  - kind: mqtt-json\n"  # 22
        "    name: uns\n"
        "    subscriptions:\n"
        "      - topic: acme/{site}/#/x\n"  # 25
        "        tag: a/{site}\n"
        "        value: $.value\n"
        "      - topic: acme/{site}/{signal}\n"  # 28
        "        tag: site-1/{area}/{signal}\n"  # 29
        "        value: $.value\n"
        "      - topic: acme/s/p\n"
        "        fields:\n"
        "          - tag: site-1/area-1/line-1/pump-1/nothing\n"  # 33
        "            value: $.value[x]\n"  # 34
        "        timestamp_format: epoch_us\n"  # 35
        "      - topic: acme/s/p\n"  # 36
        "        tag: site-1/area-1/line-1/pump-1/flow\n"
        "        value: $\n"
        "        timestamp_format: epoch_s\n"
    )
    found = problems(text)
    by_line = {line: message for line, message in found}
    assert "'#' may only be the last level" in by_line[25]
    assert "tag 'site-1/{area}/{signal}' uses {area}, but topic" in by_line[29]
    assert "captures {site}, {signal}" in by_line[29]
    assert "supported steps are .key, ['key'] and [index]" in by_line[34]
    assert "timestamp_format" in by_line[35] and "epoch_ms" in by_line[35]
    assert "timestamp_format needs a timestamp path" in by_line[36]
    assert sorted(by_line) == [25, 29, 34, 35, 36]


def test_mqtt_json_subscriptions_hidden_or_crossing_are_refused() -> None:
    def entry(first: str, second: str) -> str:
        return with_connectors(
            "  - kind: mqtt-json\n"
            "    name: uns\n"
            "    subscriptions:\n"
            f"      - {{topic: '{first}', tag: {FLOW}, value: $}}\n"
            f"      - {{topic: '{second}', tag: {FLOW}, value: $}}\n"
        )

    [(line, message)] = problems(entry("acme/+/x", "acme/p/x"))
    assert line == 22
    assert "subscriptions[1] ('acme/p/x') is never used: subscriptions[0]" in message
    [(line, message)] = problems(entry("acme/+/x", "acme/p/#"))
    assert "overlap without one containing the other" in message
    assert connector_specs(load_plant_text(entry("acme/p/x", "acme/+/x")))


def test_mqtt_json_unknown_explicit_tags_are_named_with_their_lines() -> None:
    text = with_connectors(
        "  - kind: mqtt-json\n"
        "    name: uns\n"
        "    subscriptions:\n"
        "      - {topic: a/b, tag: site-1/x, value: $.v}\n"  # 25
        "      - topic: a/c\n"
        "        fields:\n"
        f"          - {{tag: {FLOW}, value: $.v}}\n"
        "          - {tag: site-1/y, value: $.w}\n"  # 29
    )
    assert problems(text) == [
        (25, "connector 'uns': unknown tag 'site-1/x'"),
        (29, "connector 'uns': unknown tag 'site-1/y'"),
    ]


def test_a_sparkplug_host_can_map_metrics_by_tag_path_name() -> None:
    text = with_connectors(
        "  - kind: sparkplug-host\n"
        "    name: uns\n"
        "    broker: mqtt://broker.plant:1883\n"
        "    host_id: plantos-core\n"
        "    metric_names_are_tags: true\n"
    )
    [spec] = connector_specs(load_plant_text(text))
    host = build_connector(spec, {FLOW: 9, "site-1/x": 4}, clock=ManualClock(0))
    assert list(host.tag_ids) == [4, 9]  # every tag of the plant may arrive by name


def test_a_sparkplug_host_needs_metrics_or_names_as_tags() -> None:
    text = with_connectors(
        "  - {kind: sparkplug-host, name: uns, broker: 'mqtt://x:1883', host_id: h}\n"
    )
    [(line, message)] = problems(text)
    assert line == 22 and "needs 'metrics' entries, or 'metric_names_are_tags: true'" in message


def test_an_opcua_waveform_array_must_match_the_tags_waveform_block() -> None:
    vib = "site-1/area-1/line-1/pump-1/vib"
    base = BASE.replace(
        "      - {signal: running, type: bool}\n",
        "      - {signal: running, type: bool}\n"
        "      - {signal: vib, unit: g, waveform: {rate_hz: 1000, samples: 64, every: 5m}}\n",
    )

    def plant(*tags: str) -> str:
        return (
            base
            + "connectors:\n  - kind: opcua\n    name: cell\n"
            + "    endpoint: opc.tcp://10.0.0.7:4840\n    tags:\n"
            + "".join(f"      - {t}\n" for t in tags)
        )

    right = f"{{tag: {vib}, node: 'ns=2;s=Vib', sample_rate_hz: 1000}}"
    [spec] = connector_specs(load_plant_text(plant(right), file="plant.yaml"))
    assert spec.tags[0].sample_rate_hz == 1000.0

    no_waveform = f"{{tag: {FLOW}, node: 'ns=2;s=Flow', sample_rate_hz: 1000}}"
    other_rate = f"{{tag: {vib}, node: 'ns=2;s=Vib', sample_rate_hz: 2000}}"
    text = plant(no_waveform, other_rate)
    lines = text.splitlines()
    assert sorted(problems(text)) == [
        (
            lines.index(f"      - {no_waveform}") + 1,
            f"connector 'cell': tag {FLOW!r} has no waveform block: it cannot be read as an array",
        ),
        (
            lines.index(f"      - {other_rate}") + 1,
            f"connector 'cell': tag {vib!r}: sample_rate_hz 2000 differs from its waveform's "
            "rate_hz 1000",
        ),
    ]
