"""The ``connectors`` section of ``plantos.yaml``: each entry validated for its ``kind``, with
file and line for every problem, and built into a running :class:`Connector`.

The plant model keeps the entries as plain data, because the model layer knows nothing
of protocols; this module is where the edge layer gives them their shape.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from plantos.core.clock import Clock
from plantos.core.errors import ConfigError, ConfigProblem
from plantos.edge.connector import Connector
from plantos.edge.modbus.config import ModbusTcpSpec, modbus_source_type
from plantos.edge.mqtt.json_config import MqttJsonSpec
from plantos.edge.mtconnect.connector import MTConnectSpec
from plantos.edge.opcua.config import OpcUaSpec, waveform_problems
from plantos.edge.sparkplug.config import SparkplugHostSpec
from plantos.model.loader import validation_problems
from plantos.model.plant import Plant
from plantos.model.valuetypes import SourceType, fit_problem

Loc = tuple[Any, ...]

KINDS: dict[str, type[BaseModel]] = {
    "modbus-tcp": ModbusTcpSpec,
    "opcua": OpcUaSpec,
    "mtconnect": MTConnectSpec,
    "sparkplug-host": SparkplugHostSpec,
    "mqtt-json": MqttJsonSpec,
}


def _tag_places(spec: BaseModel) -> list[tuple[Loc, str]]:
    """Every tag path a connector spec names, with where it stands in the entry."""
    if isinstance(spec, ModbusTcpSpec):
        return [
            (("poll_groups", g, "tags", t, "tag"), tag.tag)
            for g, group in enumerate(spec.poll_groups)
            for t, tag in enumerate(group.tags)
        ]
    if isinstance(spec, OpcUaSpec):
        return [(("tags", t, "tag"), tag.tag) for t, tag in enumerate(spec.tags)]
    if isinstance(spec, MTConnectSpec):
        return [(("items", t, "tag"), item.tag) for t, item in enumerate(spec.items)]
    if isinstance(spec, SparkplugHostSpec):
        return [(("metrics", t, "tag"), m.tag) for t, m in enumerate(spec.metrics)]
    if isinstance(spec, MqttJsonSpec):  # tag templates are filled from topics at run time
        return [
            (("subscriptions", s, "tag"), sub.tag.text)
            for s, sub in enumerate(spec.subscriptions)
            if sub.tag is not None and sub.tag.explicit
        ] + [
            (("subscriptions", s, "fields", f, "tag"), fld.tag.text)
            for s, sub in enumerate(spec.subscriptions)
            for f, fld in enumerate(sub.fields or [])
            if fld.tag.explicit
        ]
    raise TypeError(f"no tag places known for {type(spec).__name__}")


def _source_types(spec: BaseModel) -> list[tuple[Loc, str, SourceType]]:
    """Every mapping whose source type the connector spec states, with where it stands.
    Sources whose type only the device tells (an OPC UA node, a Sparkplug birth) are
    checked by the ingest gate when their values arrive."""
    if isinstance(spec, ModbusTcpSpec):
        return [
            (("poll_groups", g, "tags", t, "type"), tag.tag, modbus_source_type(tag, group.table))
            for g, group in enumerate(spec.poll_groups)
            for t, tag in enumerate(group.tags)
        ]
    if isinstance(spec, MTConnectSpec):
        return [
            (("items", t, "value_type"), item.tag, "text")
            for t, item in enumerate(spec.items)
            if item.value_type == "text" and not item.enum
        ]
    return []


def type_warnings(plant: Plant, specs: Sequence[BaseModel]) -> list[ConfigProblem]:
    """Where a connector mapping's source type cannot always fit its tag's type: values
    that would arrive as Bad samples. Warnings, not errors: the plant may know its data
    (a uint64 counter that never passes 2**63), and the gate marks what does not fit."""
    warnings = []
    for i, spec in enumerate(specs):
        for place, path, source_type in _source_types(spec):
            tag = plant.tags.get(path)
            why = fit_problem(source_type, tag) if tag else None
            if why:
                line = plant.locate(("connectors", i, *place))
                warnings.append(ConfigProblem(plant.source, line, why))
    return warnings


def connector_specs(plant: Plant) -> list[BaseModel]:
    """The validated connector specs of a plant; :class:`ConfigError` lists every problem."""
    return validate_connectors(
        plant.spec.connectors, plant, source=plant.source, locate=plant.locate
    )


def validate_connectors(
    entries: Sequence[Mapping[str, Any]],
    plant: Plant,
    *,
    source: str,
    locate: Callable[[Loc], int | None],
) -> list[BaseModel]:
    """Validate connector entries written in ``source`` (the plant file, or an edge
    gateway's file) against the plant's tags; :class:`ConfigError` lists every problem."""
    problems: list[ConfigProblem] = []
    specs: list[BaseModel] = []
    names: dict[str, int] = {}
    for i, raw in enumerate(entries):
        where: Loc = ("connectors", i)
        kind = raw.get("kind")
        model = KINDS.get(kind) if isinstance(kind, str) else None
        if model is None:
            known = ", ".join(KINDS)
            problems.append(
                ConfigProblem(
                    source,
                    locate((*where, "kind")),
                    f"connectors[{i}]: unknown connector kind {kind!r} (known: {known})",
                )
            )
            continue
        try:
            spec = model.model_validate(raw)
        except ValidationError as exc:
            problems += validation_problems(exc, locate, source, where)
            continue
        name = str(getattr(spec, "name", ""))
        if name in names:
            problems.append(
                ConfigProblem(
                    source,
                    locate((*where, "name")),
                    f"duplicate connector name {name!r} (first at line {names[name]})",
                )
            )
        names.setdefault(name, locate((*where, "name")) or 0)
        for place, path in _tag_places(spec):
            if path not in plant.tags:
                problems.append(
                    ConfigProblem(
                        source,
                        locate((*where, *place)),
                        f"connector {name!r}: unknown tag {path!r}",
                    )
                )
        if isinstance(spec, OpcUaSpec):
            problems += [
                ConfigProblem(
                    source,
                    locate((*where, "tags", t, "sample_rate_hz")),
                    f"connector {name!r}: {why}",
                )
                for t, why in waveform_problems(spec, plant.tags)
            ]
        specs.append(spec)
    if problems:
        raise ConfigError(problems)
    return specs


def build_connector(
    spec: BaseModel,
    tag_ids: Mapping[str, int],
    *,
    clock: Clock,
    text_tags: Collection[int] = frozenset(),
) -> Connector:
    """The running connector for a validated spec (protocol stacks are imported here).
    ``text_tags`` are the ids of ``text`` tags, for connectors whose source does not say
    whether a string is text or a quoted number (MQTT JSON)."""
    builders: dict[type[BaseModel], Callable[[], Connector]] = {
        ModbusTcpSpec: lambda: _modbus(spec, tag_ids, clock),
        OpcUaSpec: lambda: _opcua(spec, tag_ids, clock),
        MTConnectSpec: lambda: _mtconnect(spec, tag_ids),
        SparkplugHostSpec: lambda: _sparkplug_host(spec, tag_ids, clock),
        MqttJsonSpec: lambda: _mqtt_json(spec, tag_ids, clock, text_tags),
    }
    return builders[type(spec)]()


def _modbus(spec: Any, tag_ids: Mapping[str, int], clock: Clock) -> Connector:
    from plantos.edge.modbus.connector import ModbusTcpConnector

    return ModbusTcpConnector(spec, tag_ids, clock=clock)


def _opcua(spec: Any, tag_ids: Mapping[str, int], clock: Clock) -> Connector:
    from plantos.edge.opcua.connector import OpcUaConnector

    return OpcUaConnector(spec, tag_ids, clock=clock)


def _mtconnect(spec: Any, tag_ids: Mapping[str, int]) -> Connector:
    from plantos.edge.mtconnect.connector import MTConnectConnector

    return MTConnectConnector(spec, tag_ids)


def _sparkplug_host(spec: Any, tag_ids: Mapping[str, int], clock: Clock) -> Connector:
    from plantos.edge.sparkplug.host import SparkplugHost

    tag_map = {(m.group, m.edge_node, m.device, m.metric): tag_ids[m.tag] for m in spec.metrics}
    return SparkplugHost(
        server=spec.mqtt_server(),
        host_id=spec.host_id,
        tag_map=tag_map,
        metric_names=dict(tag_ids) if spec.metric_names_are_tags else None,
        group_filter=spec.group,
        clock=clock,
        name=spec.name,
    )


def _mqtt_json(
    spec: Any, tag_ids: Mapping[str, int], clock: Clock, text_tags: Collection[int]
) -> Connector:
    from plantos.edge.mqtt.json_connector import MqttJsonConnector

    return MqttJsonConnector(spec, tag_ids, clock=clock, text_tags=text_tags)


def text_tag_ids(plant: Plant, tag_ids: Mapping[str, int]) -> frozenset[int]:
    """The ids of the plant's ``text`` tags (see :func:`build_connector`)."""
    return frozenset(i for path, i in tag_ids.items() if plant.tags[path].dtype == "text")
