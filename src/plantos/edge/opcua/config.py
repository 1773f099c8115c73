"""The YAML shape of one OPC UA connection, validated by pydantic.

Secrets never live in YAML: a user's password is named by the environment variable that
holds it (``password_env``), and a ``password`` key is refused outright. Every duration
is written with its unit (``500ms``, ``1s``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plantos.edge.durations import DurationNs

if TYPE_CHECKING:
    from plantos.model import TagDef

SecurityPolicyName = Literal["None", "Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"]
_BROWSE_ELEMENT = re.compile(r"^\d+:[^/]+$")
_NODE_ID = re.compile(r"^(ns=\d+;)?[isgb]=.+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecuritySpec(_Strict):
    """Message security. ``policy: None`` sends everything in clear and needs no files;
    any other policy needs the client's certificate (DER) and private key (PEM), and the
    server's certificate, which is pinned: PlantOS does not trust whatever the server offers."""

    policy: SecurityPolicyName = "None"
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = None
    private_key: Path | None = None
    private_key_password_env: str | None = None
    server_certificate: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SecuritySpec:
        files = ("certificate", "private_key", "server_certificate")
        if self.policy == "None":
            given = [f for f in files if getattr(self, f) is not None]
            given += ["mode"] if "mode" in self.model_fields_set else []
            if given:
                raise ValueError(f"policy None takes no {', '.join(given)}")
            return self
        missing = [f for f in files if getattr(self, f) is None]
        if missing:
            raise ValueError(f"policy {self.policy} needs {', '.join(missing)}")
        return self


class UserSpec(_Strict):
    """A user name and the environment variable holding its password."""

    name: str = Field(min_length=1)
    password_env: str

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "a password does not belong in YAML: name the environment variable "
                "that holds it with password_env"
            )
        return data

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


class OpcUaTagSpec(_Strict):
    """One monitored variable: a NodeId (``ns=2;s=Spindle.Speed``) or a browse path from
    the root (``0:Objects/2:CNC07/2:Spindle/2:Load``), never both. ``deadband`` is an
    absolute deadband in the variable's unit, applied by the server. ``trigger`` says
    which change is reported: ``status-value`` (OPC UA's default) drops a value equal to
    the previous one; ``status-value-timestamp`` reports every new SourceTimestamp, as a
    waveform written sample by sample needs (a flat stretch is still samples).
    ``sample_rate_hz`` says the variable holds a whole waveform snapshot as one array
    value (``Double[]``): sample ``i`` is stored at SourceTimestamp + ``i`` / rate, all
    of them in one batch. It must match the ``waveform`` block of the tag."""

    tag: str = Field(min_length=1)
    node: str | None = None
    browse_path: str | None = None
    deadband: float | None = Field(default=None, ge=0)
    trigger: Literal["status-value", "status-value-timestamp"] = "status-value"
    sample_rate_hz: float | None = Field(default=None, gt=0, le=1_000_000)

    @model_validator(mode="after")
    def _one_address(self) -> OpcUaTagSpec:
        if (self.node is None) == (self.browse_path is None):
            raise ValueError(f"tag {self.tag!r}: give exactly one of node and browse_path")
        return self

    @field_validator("node")
    @classmethod
    def _node_id(cls, value: str | None) -> str | None:
        if value is not None and not _NODE_ID.match(value):
            raise ValueError(f"{value!r} is not a NodeId (write e.g. ns=2;s=Spindle.Speed)")
        return value

    @field_validator("browse_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not all(_BROWSE_ELEMENT.match(p) for p in value.split("/")):
            raise ValueError(
                f"{value!r} is not a browse path (write e.g. 0:Objects/2:CNC07/2:Spindle)"
            )
        return value

    @model_validator(mode="after")
    def _array_without_deadband(self) -> OpcUaTagSpec:
        if self.sample_rate_hz is not None and self.deadband is not None:
            raise ValueError(f"tag {self.tag!r}: a deadband does not apply to a waveform array")
        return self

    def browse_elements(self) -> list[str]:
        return [] if self.browse_path is None else self.browse_path.split("/")


class OpcUaSpec(_Strict):
    """One OPC UA server and the variables PlantOS subscribes to on it."""

    kind: Literal["opcua"]
    name: str = Field(min_length=1)
    endpoint: str = Field(pattern=r"^opc\.tcp://[^/\s]+")
    security: SecuritySpec = SecuritySpec()
    user: UserSpec | None = None
    publishing_interval: DurationNs = 1_000_000_000
    sampling_interval: DurationNs = 500_000_000
    queue_size: int = Field(default=10, ge=1, le=10_000)
    buffer_size: int = Field(default=100_000, ge=1, le=10_000_000)
    """Notifications held between two collects; beyond it they are dropped and counted."""
    request_timeout: DurationNs = 4_000_000_000
    keepalive_interval: DurationNs = 5_000_000_000
    """How often the session is probed; a failed probe ends the session. Probes share the
    session with publish responses: with thousands of items a short interval times out
    while a large notification is being answered."""
    tags: list[OpcUaTagSpec] = Field(min_length=1)

    @field_validator("tags")
    @classmethod
    def _unique(cls, tags: list[OpcUaTagSpec]) -> list[OpcUaTagSpec]:
        counts = Counter(t.tag for t in tags)
        doubles = {name for name, n in counts.items() if n > 1}
        if doubles:
            raise ValueError(f"tags listed twice: {sorted(doubles)}")
        return tags

    @property
    def publishing_interval_s(self) -> float:
        return self.publishing_interval / 1e9

    @property
    def sampling_interval_s(self) -> float:
        return self.sampling_interval / 1e9

    @property
    def request_timeout_s(self) -> float:
        return self.request_timeout / 1e9

    @property
    def keepalive_interval_s(self) -> float:
        return self.keepalive_interval / 1e9


def waveform_problems(spec: OpcUaSpec, tags: Mapping[str, TagDef]) -> list[tuple[int, str]]:
    """Per tag entry (by index) read as an array, why it does not fit the plant's tag: a
    ``sample_rate_hz`` on a tag without a ``waveform`` block, or with another rate, would
    store the snapshot at the wrong times. Unknown tags are reported elsewhere."""
    out: list[tuple[int, str]] = []
    for i, t in enumerate(spec.tags):
        tag = tags.get(t.tag)
        if t.sample_rate_hz is None or tag is None:
            continue
        if tag.waveform is None:
            out.append((i, f"tag {t.tag!r} has no waveform block: it cannot be read as an array"))
        elif tag.waveform.rate_hz != t.sample_rate_hz:
            out.append(
                (
                    i,
                    f"tag {t.tag!r}: sample_rate_hz {t.sample_rate_hz:g} differs from its "
                    f"waveform's rate_hz {tag.waveform.rate_hz:g}",
                )
            )
    return out
