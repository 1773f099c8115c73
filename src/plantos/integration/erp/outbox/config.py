"""ERP connectors described in ``erp.yaml`` next to the plant file: each entry is a
delivery channel (webhook, file drop, e-mail, MQTT, as in the channels' configuration)
or an SQL interface table, plus which message kinds it takes and its retry policy.
Every problem is reported with file and line; secrets come from the environment.

.. code-block:: yaml

    connectors:
      - name: erp-webhook
        kind: webhook
        url: https://erp.example.com/plantos/inbound
        secret_env: ERP_WEBHOOK_SECRET
        kinds: [order_status, production_performance]
        retry: {initial_s: 1, max_s: 300}
      - name: erp-table
        kind: interface-table
        url: mariadb://plantos@erp-db.example.com:3306/erp
        password_env: ERP_DB_PASSWORD
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from plantos.core.clock import Clock
from plantos.core.errors import ConfigError, ConfigProblem
from plantos.integration.channels.base import Channel
from plantos.integration.channels.config import KINDS, NAME, ChannelSpec, build_channel
from plantos.integration.channels.retry import RetryPolicy
from plantos.integration.erp.interface_table import InterfaceTableChannel, interface_url
from plantos.integration.erp.outbox.dispatcher import Connector
from plantos.model import yamlsource
from plantos.model.loader import read_config_text, validation_problems

ERP_FILE = "erp.yaml"
OPTIONS = ("kinds", "retry")


class InterfaceTableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["interface-table"]
    name: str = Field(pattern=NAME)
    url: str
    table: str = Field("plantos_outbound", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
    password_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if interface_url(value).password is not None:
            raise ValueError("put the password in the environment (password_env), not the url")
        return value


class RetrySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_s: float = Field(1.0, gt=0, le=3600)
    max_s: float = Field(300.0, gt=0, le=86400)
    max_attempts: int | None = Field(None, ge=1)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[str] | None = Field(None, min_length=1)
    retry: RetrySpec = RetrySpec()

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str] | None) -> list[str] | None:
        for kind in value or []:
            if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", kind) is None:
                raise ValueError(f"a message kind is letters, digits, '_' or '-', got {kind!r}")
        return value


ConnectorSpec = tuple[ChannelSpec | InterfaceTableSpec, Options]


def erp_file(plant_file: Path) -> Path:
    return plant_file.parent / ERP_FILE


def load_connector_specs(path: Path) -> list[ConnectorSpec]:
    """The connectors of ``path``; :class:`ConfigError` lists every problem with its line."""
    file = str(path)
    data, problems = yamlsource.parse(read_config_text(path), file)
    if problems:
        raise ConfigError(problems)
    if not isinstance(data, dict) or not data or not set(data) <= {"connectors", "inbound"}:
        message = "the file holds 'connectors' (outbound) and/or 'inbound', nothing else"
        raise ConfigError([ConfigProblem(file, 1, message)])
    entries = data.get("connectors", [])
    if not isinstance(entries, list):
        line = yamlsource.line_of(data, ("connectors",))
        raise ConfigError([ConfigProblem(file, line, "connectors must be a list")])
    specs: list[ConnectorSpec] = []
    first: dict[str, int] = {}
    for i, raw in enumerate(entries):
        spec = _entry(data, i, raw, file, problems)
        if spec is None:
            continue
        line = yamlsource.line_of(data, ("connectors", i, "name")) or 0
        if spec[0].name in first:
            message = (
                f"duplicate connector name {spec[0].name!r} (first at line {first[spec[0].name]})"
            )
            problems.append(ConfigProblem(file, line, message))
        first.setdefault(spec[0].name, line)
        specs.append(spec)
    if problems:
        raise ConfigError(problems)
    return specs


def _entry(
    data: Any, i: int, raw: Any, file: str, problems: list[ConfigProblem]
) -> ConnectorSpec | None:
    def locate(loc: tuple[Any, ...]) -> int | None:
        return yamlsource.line_of(data, loc)

    where = ("connectors", i)
    kind = raw.get("kind") if isinstance(raw, Mapping) else None
    models: dict[str, Any] = {**KINDS, "interface-table": InterfaceTableSpec}
    if not isinstance(raw, Mapping) or not isinstance(kind, str) or kind not in models:
        problems.append(ConfigProblem(
            file, locate((*where, "kind")),
            f"connectors[{i}]: unknown connector kind {kind!r} (known: {', '.join(models)})",
        ))  # fmt: skip
        return None
    try:
        options = Options.model_validate({k: raw[k] for k in OPTIONS if k in raw})
        spec = models[kind].model_validate({k: v for k, v in raw.items() if k not in OPTIONS})
    except ValidationError as exc:
        problems.extend(validation_problems(exc, locate, file, where))
        return None
    return spec, options


def build_connectors(
    specs: list[ConnectorSpec], *, clock: Clock, environ: Mapping[str, str] = os.environ
) -> list[Connector]:
    """The running connectors; ``clock`` is the wall clock (signatures, row times)."""
    connectors = []
    for spec, options in specs:
        if isinstance(spec, InterfaceTableSpec):
            password = environ.get(spec.password_env) if spec.password_env else None
            if spec.password_env and password is None:
                reason = f"connector {spec.name!r}: the variable {spec.password_env} is not set"
                raise ConfigError([ConfigProblem("environment", None, reason)])
            url = interface_url(spec.url, password=password)
            channel: Channel = InterfaceTableChannel(
                url, clock=clock, table=spec.table, name=spec.name
            )
        else:
            channel = build_channel(spec, clock=clock, environ=environ)
        retry = RetryPolicy(**options.retry.model_dump())
        kinds = frozenset(options.kinds) if options.kinds else None
        connectors.append(Connector(spec.name, channel, kinds=kinds, retry=retry))
    return connectors
