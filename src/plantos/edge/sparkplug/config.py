"""``kind: sparkplug-host`` in the ``connectors`` section: PlantOS as a Sparkplug B host
application on an MQTT broker, and which edge-node metrics become which tags."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SparkplugMetricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: str
    group: str
    edge_node: str
    device: str | None = None
    metric: str
    """The metric's name as the edge node's birth certificate gives it."""


class SparkplugHostSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern="^sparkplug-host$")
    name: str = Field(min_length=1)
    broker: str = "mqtt://127.0.0.1:1883"
    host_id: str = Field(min_length=1, pattern=r"^[^/+#]+$")
    group: str = Field("+", pattern=r"^[^/#]+$")
    """One group id to subscribe to, or ``+`` for all."""
    metrics: list[SparkplugMetricSpec] = Field(min_length=1)

    @field_validator("broker")
    @classmethod
    def _broker(cls, value: str) -> str:
        url = urlsplit(value)
        if url.scheme != "mqtt" or not url.hostname:
            raise ValueError(f"broker must look like mqtt://host:1883, got {value!r}")
        return value

    @property
    def broker_address(self) -> tuple[str, int]:
        url = urlsplit(self.broker)
        return url.hostname or "127.0.0.1", url.port or 1883
