"""``kind: sparkplug-host`` in the ``connectors`` section: PlantOS as a Sparkplug B host
application on an MQTT broker, and which edge-node metrics become which tags."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    metrics: list[SparkplugMetricSpec] = Field(default_factory=list)
    """Explicit metric-to-tag entries; they win over ``metric_names_are_tags``."""
    metric_names_are_tags: bool = False
    """Any metric whose name is a tag path of the plant feeds that tag, whatever group,
    edge node or device sends it: how a PlantOS edge gateway publishes."""

    @model_validator(mode="after")
    def _maps_something(self) -> Self:
        if not self.metrics and not self.metric_names_are_tags:
            raise ValueError("needs 'metrics' entries, or 'metric_names_are_tags: true'")
        return self
