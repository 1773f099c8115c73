"""The inbound entries of ``erp.yaml``: tables in the ERP's database that PlantOS polls
for production orders (and, with ``products_table``, products), each checked with file
and line like the outbound connectors.

.. code-block:: yaml

    inbound:
      - name: erp-orders
        kind: interface-table
        url: postgresql://plantos@erp-db.example.com:5432/erp
        password_env: ERP_DB_PASSWORD
        table: plantos_inbound
        products_table: plantos_inbound_products
        create_table: true
        interval_s: 10
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from plantos.core.clock import Clock, WallClock
from plantos.core.errors import ConfigError, ConfigProblem
from plantos.integration.channels.config import NAME
from plantos.integration.channels.retry import RetryPolicy
from plantos.integration.erp.inbound.poller import Emit, InboundTablePoller
from plantos.integration.erp.interface_table import interface_url
from plantos.integration.erp.outbox.config import RetrySpec, erp_file
from plantos.model import yamlsource
from plantos.model.loader import read_config_text, validation_problems
from plantos.mom.service import MomService


class InboundTableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["interface-table"]
    name: str = Field(pattern=NAME)
    url: str
    table: str = Field("plantos_inbound", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
    products_table: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
    """The ERP's products (master data), taken before the orders; none: orders only."""
    password_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    create_table: bool = False
    """Create the table when missing; off by default: the ERP's DBA usually owns it."""
    interval_s: float = Field(10.0, gt=0, le=86400)
    batch_size: int = Field(100, ge=1, le=10_000)
    retry: RetrySpec = RetrySpec(initial_s=1.0, max_s=60.0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if interface_url(value).password is not None:
            raise ValueError("put the password in the environment (password_env), not the url")
        return value

    @model_validator(mode="after")
    def _two_tables(self) -> InboundTableSpec:
        if self.products_table == self.table:
            raise ValueError(f"products_table must differ from table ({self.table!r})")
        return self


def load_inbound_specs(path: Path) -> list[InboundTableSpec]:
    """The ``inbound`` entries of ``path`` (none when it has none)."""
    file = str(path)
    data, problems = yamlsource.parse(read_config_text(path), file)
    if problems:
        raise ConfigError(problems)
    entries = data.get("inbound", []) if isinstance(data, dict) else []
    if not isinstance(entries, list):
        line = yamlsource.line_of(data, ("inbound",))
        raise ConfigError([ConfigProblem(file, line, "inbound must be a list")])
    specs: list[InboundTableSpec] = []
    for i, raw in enumerate(entries):

        def locate(loc: tuple[Any, ...]) -> int | None:
            return yamlsource.line_of(data, loc)

        try:
            spec = InboundTableSpec.model_validate(raw)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, locate, file, ("inbound", i)))
            continue
        if spec.name in {s.name for s in specs}:
            line = locate(("inbound", i, "name"))
            problems.append(ConfigProblem(file, line, f"duplicate inbound name {spec.name!r}"))
        specs.append(spec)
    if problems:
        raise ConfigError(problems)
    return specs


def build_pollers(
    specs: list[InboundTableSpec], *, service: MomService, clock: Clock, emit: Emit | None,
    environ: Mapping[str, str] = os.environ,
) -> list[InboundTablePoller]:  # fmt: skip
    pollers = []
    for spec in specs:
        password = environ.get(spec.password_env) if spec.password_env else None
        if spec.password_env and password is None:
            reason = f"inbound {spec.name!r}: the variable {spec.password_env} is not set"
            raise ConfigError([ConfigProblem("environment", None, reason)])
        pollers.append(InboundTablePoller(
            interface_url(spec.url, password=password), service=service, clock=clock,
            name=spec.name, table=spec.table, products_table=spec.products_table,
            create_table=spec.create_table,
            interval_s=spec.interval_s, batch_size=spec.batch_size,
            retry=RetryPolicy(**spec.retry.model_dump()), emit=emit,
        ))  # fmt: skip
    return pollers


def open_inbound(
    plant_file: Path, *, service: MomService, emit: Emit | None
) -> list[InboundTablePoller]:
    """The pollers of ``erp.yaml`` beside ``plant_file`` (none without the file). Row
    times follow the wall clock: the ERP's database lives in real time."""
    path = erp_file(plant_file)
    if not path.exists():
        return []
    return build_pollers(load_inbound_specs(path), service=service, clock=WallClock(), emit=emit)
