"""Delivery channels described in YAML: one entry per channel, validated for its
``kind`` with file and line for every problem, and built into a running :class:`Channel`.

Secrets never stand in the file: a webhook names the environment variable holding its
shared secret (``secret_env``), e-mail and MQTT the one holding the password
(``password_env``).

>>> spec = WebhookSpec(kind="webhook", name="erp", url="https://erp.example/in",
...                    secret_env="ERP_WEBHOOK_SECRET")
>>> spec.batch_size, spec.timeout_s
(1, 10.0)
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plantos.core.clock import Clock
from plantos.core.errors import ConfigError, ConfigProblem
from plantos.edge.mqtt.server import MqttServerFields
from plantos.integration.channels.base import Channel
from plantos.integration.channels.filedrop import FileDropChannel
from plantos.integration.channels.mqtt import MqttChannel
from plantos.integration.channels.renderers import (
    B2mmlRenderer,
    CsvRenderer,
    JsonLinesRenderer,
    Renderer,
)
from plantos.integration.channels.smtp import SmtpChannel
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.channels.webhook_batch import WebhookBatchChannel
from plantos.integration.erp.b2mml import Version
from plantos.model.loader import validation_problems

Loc = tuple[Any, ...]
NAME = r"^[A-Za-z0-9_-]{1,64}$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME)


class WebhookSpec(_Spec):
    kind: Literal["webhook"]
    url: str
    secret_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    batch_size: int = Field(1, ge=1, le=1000)
    """1 sends one message per request; more sends batches (see the integrator's guide)."""
    max_in_flight: int = Field(8, ge=1, le=64)
    timeout_s: float = Field(10.0, gt=0, le=300)
    ca_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if re.match(r"^https?://[^/\s]+", value) is None:
            raise ValueError(f"url must start with http:// or https:// and a host, got {value!r}")
        return value

    @model_validator(mode="after")
    def _tls(self) -> WebhookSpec:
        if self.ca_file is not None and not self.url.startswith("https://"):
            raise ValueError("ca_file needs an https:// url")
        return self


class FileDropSpec(_Spec):
    kind: Literal["file-drop"]
    folder: Path
    format: Literal["jsonl", "csv", "b2mml"]
    columns: list[str] | None = None
    """The payload fields of each CSV row (CSV only)."""
    b2mml_version: str = "V0600"
    sender: str = "plantos"
    """The B2MML sender's logical ID (B2MML only)."""

    @model_validator(mode="after")
    def _format_options(self) -> FileDropSpec:
        if (self.format == "csv") != bool(self.columns):
            raise ValueError("columns is required for format csv, and only for it")
        Version.parse(self.b2mml_version)
        return self


class EmailSpec(_Spec):
    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[str] = Field(default_factory=list)
    starttls: bool = True
    ca_file: Path | None = None
    username: str | None = None
    password_env: str | None = None
    timeout_s: float = Field(10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _login(self) -> EmailSpec:
        if self.password_env is not None and self.username is None:
            raise ValueError("password_env needs a username")
        if self.username is not None and not self.starttls:
            raise ValueError("a login needs starttls: true (passwords never go in clear)")
        return self


class MqttSpec(MqttServerFields):
    kind: Literal["mqtt"]
    name: str = Field(pattern=NAME)
    topic: str = "plantos/notify/{kind}"
    client_id: str | None = None
    qos: Literal[0, 1, 2] = 1
    timeout_s: float = Field(5.0, gt=0, le=300)


ChannelSpec = WebhookSpec | FileDropSpec | EmailSpec | MqttSpec
KINDS: dict[str, type[ChannelSpec]] = {
    "webhook": WebhookSpec, "file-drop": FileDropSpec, "email": EmailSpec, "mqtt": MqttSpec,
}  # fmt: skip


def validate_channels(
    entries: Sequence[Mapping[str, Any]],
    *,
    source: str,
    locate: Callable[[Loc], int | None],
    section: str = "channels",
) -> list[ChannelSpec]:
    """The specs of ``entries`` (the list under ``section`` in ``source``);
    :class:`ConfigError` lists every problem with its line."""
    problems: list[ConfigProblem] = []
    specs: list[ChannelSpec] = []
    first_line: dict[str, int] = {}
    for i, raw in enumerate(entries):
        where: Loc = (section, i)
        kind = raw.get("kind") if isinstance(raw, Mapping) else None
        model = KINDS.get(kind) if isinstance(kind, str) else None
        if model is None:
            problems.append(ConfigProblem(
                source, locate((*where, "kind")),
                f"{section}[{i}]: unknown channel kind {kind!r} (known: {', '.join(KINDS)})",
            ))  # fmt: skip
            continue
        try:
            spec = model.model_validate(raw)
        except ValidationError as exc:
            problems += validation_problems(exc, locate, source, where)
            continue
        line = locate((*where, "name")) or 0
        if spec.name in first_line:
            problems.append(ConfigProblem(
                source, line,
                f"duplicate channel name {spec.name!r} (first at line {first_line[spec.name]})",
            ))  # fmt: skip
        first_line.setdefault(spec.name, line)
        specs.append(spec)
    if problems:
        raise ConfigError(problems)
    return specs


def build_channel(
    spec: ChannelSpec, *, clock: Clock, environ: Mapping[str, str] = os.environ
) -> Channel:
    """The running channel for a validated spec. ``clock`` stamps webhook signatures and
    must be the wall clock (receivers check the stamp against theirs)."""
    if isinstance(spec, WebhookSpec):
        return _webhook(spec, clock, environ)
    if isinstance(spec, FileDropSpec):
        return FileDropChannel(spec.folder, renderer=_renderer(spec), name=spec.name)
    if isinstance(spec, EmailSpec):
        return SmtpChannel(
            spec.host, spec.port, sender=spec.sender, recipients=spec.recipients,
            starttls=spec.starttls, ca_file=spec.ca_file, username=spec.username,
            password_env=spec.password_env, timeout_s=spec.timeout_s, name=spec.name,
        )  # fmt: skip
    return MqttChannel(
        spec.mqtt_server(), client_id=spec.client_id or f"plantos-{spec.name}",
        topic=spec.topic, qos=spec.qos, timeout_s=spec.timeout_s, name=spec.name,
    )  # fmt: skip


def _webhook(spec: WebhookSpec, clock: Clock, environ: Mapping[str, str]) -> Channel:
    secret = environ.get(spec.secret_env, "")
    if len(secret.encode()) < 16:
        state = "is shorter than 16 bytes" if secret else "is not set"
        raise ConfigError([ConfigProblem(
            "environment", None,
            f"channel {spec.name!r}: the variable {spec.secret_env} holding the webhook "
            f"secret {state}",
        )])  # fmt: skip
    verify: ssl.SSLContext | bool = True
    if spec.ca_file is not None:
        verify = ssl.create_default_context(cafile=str(spec.ca_file))
    webhook = WebhookChannel(
        spec.url, secret=secret.encode(), clock=clock, name=spec.name,
        timeout_s=spec.timeout_s, max_in_flight=spec.max_in_flight, verify=verify,
    )  # fmt: skip
    if spec.batch_size == 1:
        return webhook
    return WebhookBatchChannel(webhook, batch_size=spec.batch_size)


def _renderer(spec: FileDropSpec) -> Renderer:
    if spec.format == "jsonl":
        return JsonLinesRenderer()
    if spec.format == "csv":
        return CsvRenderer(spec.columns or [])
    return B2mmlRenderer(version=Version.parse(spec.b2mml_version), sender=spec.sender)
