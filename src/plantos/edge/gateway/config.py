"""``edge.yaml``: what an edge gateway collects, where it sends it and how much it may hold.

```yaml
plantos-edge: 1
plant: plantos.yaml            # the plant model the tags come from (relative to this file)
upstream:
  kind: sparkplug
  broker: mqtts://core.plant:8883
  ca_file: certs/ca.pem        # TLS; cert_file + key_file for mutual TLS
  group: plant-a               # Sparkplug group id and edge node id of this gateway
  edge_node: cnc-line-1
  primary_host: plantos-core   # hold data while this host's STATE is offline, and keep
                               # it until this core's historian committed it
spool:
  path: spool/cnc-line-1.sqlite
  max_size: 2GB
connectors:                    # exactly as in plantos.yaml
  - kind: modbus-tcp
    ...
```

The gateway reads the plant model so connector entries are checked against the same tags
as in the core, and so each metric gets the Sparkplug datatype of its tag. Problems are
reported with this file's name and line, like the plant file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ByteSize, ConfigDict, Field, ValidationError

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.edge.config import validate_connectors
from plantos.edge.mqtt.server import MqttServerFields
from plantos.model import Plant, load_plant, yamlsource
from plantos.model.loader import read_config_text, validation_problems

_ID = r"^[^/+#]+$"


class SparkplugUpstreamSpec(MqttServerFields):
    """The broker fields (``broker``, ``username``, ``password_env``, TLS files) come from
    :class:`MqttServerFields`."""

    kind: Literal["sparkplug"] = "sparkplug"
    group: str = Field(min_length=1, pattern=_ID)
    edge_node: str = Field(min_length=1, pattern=_ID)
    primary_host: str | None = Field(None, min_length=1, pattern=_ID)
    """While this Sparkplug host application is offline, data stays in the spool."""
    commit_ack: bool = True
    """With a ``primary_host``: a batch leaves the spool only once that PlantOS core says its
    historian committed it (end-to-end). False: once the broker has it (the core must not
    be killed while it holds data it has not committed)."""
    data_qos: Literal[0, 1] = 1
    """1: every batch leaves the spool only once the broker acknowledged it. Sparkplug
    asks for QoS 0 on data; 0 trades the guarantee for that conformance."""
    report_by_exception: bool = True


class SpoolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("spool.sqlite")
    """Relative paths are taken from the edge file's directory."""
    max_size: ByteSize = Field(ByteSize(1 << 30), gt=0)
    durable: bool = True
    """True: each stored batch survives a power cut (an fsync per batch); False: only a
    killed process, faster on slow disks."""


class EdgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: Literal[1] = Field(alias="plantos-edge")
    plant: Path
    upstream: SparkplugUpstreamSpec
    spool: SpoolSpec = SpoolSpec()
    connectors: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class EdgeConfig:
    """A validated edge file: its spec, the plant it refers to and its connector specs."""

    spec: EdgeSpec
    plant: Plant
    connectors: list[BaseModel]
    spool_path: Path


def load_edge_config(path: str | Path) -> EdgeConfig:
    """Read and validate an edge file and the plant file it names; :class:`ConfigError`
    lists every problem with its file and line."""
    file = str(path)
    data, problems = yamlsource.parse(read_config_text(path), file)
    if problems and data is None:
        raise ConfigError(problems)
    if not isinstance(data, dict):
        raise ConfigError(
            [*problems, ConfigProblem(file, 1, "the file must be a mapping with 'plantos-edge: 1'")]
        )
    locate = partial(yamlsource.line_of, data)
    try:
        spec = EdgeSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + validation_problems(exc, locate, file)) from None
    if problems:
        raise ConfigError(problems)
    base = Path(path).parent
    plant = load_plant(base / spec.plant)
    connectors = validate_connectors(spec.connectors, plant, source=file, locate=locate)
    spool_path = spec.spool.path if spec.spool.path.is_absolute() else base / spec.spool.path
    return EdgeConfig(spec, plant, connectors, spool_path)
