"""The connector specs PlantOS uses to read the demo's devices, generated from the plant.

They are the same specs a user writes in the ``connectors`` section of ``plantos.yaml``
(``opcua``, ``modbus-tcp``, ``sparkplug-host``), validated the same way, so the demo
exercises exactly the connectors a real plant would.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from plantos.demo.devices.layout import DeviceLayout, opcua_node_id, sparkplug_ids
from plantos.demo.devices.modbus_device import UNIT, register_map
from plantos.edge.modbus.config import ModbusTcpSpec
from plantos.edge.opcua.config import OpcUaSpec
from plantos.edge.sparkplug.config import SparkplugHostSpec
from plantos.model import TagDef

SCAN_S = 0.25
"""How often (wall time) the devices take new values and the OPC UA server publishes."""
QUEUED_VALUES = 64
"""Values each OPC UA monitored item queues between two publishes: at ``--speed 600`` a
CNC with a snapshot every 2 minutes sends one every 0.2 s of wall time, a scalar tag one
per scan, so this covers over 12 s of a client that does not keep up, longer than its
session outlives silence (keep-alive plus request timeout, 7 s). 64 snapshots of 4,096
doubles are 2 MiB per mill at most."""
HOST_ID = "plantos-demo"


def connector_specs(
    layout: DeviceLayout,
    *,
    opcua_endpoint: str,
    modbus_port: int,
    broker_url: str,
    speed: float,
) -> list[BaseModel]:
    """One spec per protocol that has tags in ``layout``."""
    specs: list[BaseModel] = []
    if layout.opcua:
        specs.append(opcua_spec(layout.opcua, opcua_endpoint))
    if layout.modbus:
        specs.append(modbus_spec(layout.modbus, modbus_port, speed))
    if layout.sparkplug:
        specs.append(sparkplug_spec(layout.sparkplug, broker_url))
    return specs


def opcua_spec(tags: Sequence[TagDef], endpoint: str) -> OpcUaSpec:
    """Subscribe to every variable by NodeId. A waveform snapshot is one array value
    (``sample_rate_hz``, see :mod:`~plantos.demo.devices.opcua_device`), reported on
    every new SourceTimestamp; each monitored item's queue holds :data:`QUEUED_VALUES`
    values, so a client starved for a few seconds still gets every snapshot (beyond it
    the server drops the oldest). Other tags report by exception."""
    return OpcUaSpec.model_validate(
        {
            "kind": "opcua",
            "name": "demo-cnc-opcua",
            "endpoint": endpoint,
            "publishing_interval": _ms(SCAN_S),
            "sampling_interval": _ms(SCAN_S),
            "queue_size": QUEUED_VALUES,
            "request_timeout": "2s",
            "tags": [
                {"tag": t.path, "node": opcua_node_id(t)}
                | (
                    {"trigger": "status-value-timestamp", "sample_rate_hz": t.waveform.rate_hz}
                    if t.waveform is not None
                    else {}
                )
                for t in tags
            ],
        }
    )


def modbus_spec(tags: Sequence[TagDef], port: int, speed: float) -> ModbusTcpSpec:
    """Poll at the tags' sampling interval in simulated time, but no faster than the
    device takes new values: at high speed every poll sees a new value."""
    sampling_s = min(t.sampling_ns for t in tags) / 1e9
    fields = register_map(tags)
    return ModbusTcpSpec.model_validate(
        {
            "kind": "modbus-tcp",
            "name": "demo-furnace-modbus",
            "host": "127.0.0.1",
            "port": port,
            "unit": UNIT,
            "timeout": "3s",
            "poll_groups": [
                {
                    "interval": _ms(max(sampling_s / speed, SCAN_S)),
                    "table": "holding",
                    "tags": [
                        {"tag": path, "address": f.address, "type": f.dtype}
                        for path, f in fields.items()
                    ],
                }
            ],
        }
    )


def sparkplug_spec(tags: Sequence[TagDef], broker_url: str) -> SparkplugHostSpec:
    """PlantOS as the Sparkplug host application of every group on the broker."""
    metrics = []
    for tag in tags:
        group, node, device = sparkplug_ids(tag.asset)
        metrics.append(
            {
                "tag": tag.path,
                "group": group,
                "edge_node": node,
                "device": device,
                "metric": tag.signal,
            }
        )
    return SparkplugHostSpec.model_validate(
        {
            "kind": "sparkplug-host",
            "name": "demo-sparkplug",
            "broker": broker_url,
            "host_id": HOST_ID,
            "group": "+",
            "metrics": metrics,
        }
    )


def _ms(seconds: float) -> str:
    return f"{max(round(seconds * 1000), 1)}ms"
