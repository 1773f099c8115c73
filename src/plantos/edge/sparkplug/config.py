"""``kind: sparkplug-host`` in the ``connectors`` section: PlantOS as a Sparkplug B host
application on an MQTT broker, and which edge-node metrics become which tags."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from plantos.edge.mqtt.server import MqttServerFields


class SparkplugMetricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: str
    group: str
    edge_node: str
    device: str | None = None
    metric: str
    """The metric's name as the edge node's birth certificate gives it."""


class SparkplugHostSpec(MqttServerFields):
    """The broker fields (``broker``, ``username``, ``password_env``, TLS files) come from
    :class:`MqttServerFields`."""

    kind: str = Field(pattern="^sparkplug-host$")
    name: str = Field(min_length=1)
    host_id: str = Field(min_length=1, pattern=r"^[^/+#]+$")
    group: str = Field("+", pattern=r"^[^/#]+$")
    """One group id to subscribe to, or ``+`` for all."""
    metrics: list[SparkplugMetricSpec] = Field(min_length=1)
