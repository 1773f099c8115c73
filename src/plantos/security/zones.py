"""Zones and conduits (IEC 62443) of a plant, and the setpoints that may be written.

The ``security`` section of ``plantos.yaml`` names zones (each owning parts of the plant
by path), the conduits between them with their direction and what may cross, the zone
PlantOS itself runs in (``core_zone``), and the tags that may be written into OT. Data
flows out of OT by default: a write needs a conduit from the core's zone into the tag's
zone that lists the tag (or a path above it) under ``writes``, and a ``writable`` entry
that says through which connector, at which address, within which limits, and whether a
second person must approve. Nothing else in PlantOS writes to a device.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.model.loader import validation_problems
from plantos.model.plant import Plant
from plantos.security.oidc import OidcSettings
from plantos.security.scope import covers

_ID = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
_NODE_ID = re.compile(r"^(ns=\d+;)?[isgb]=.+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneSpec(_Strict):
    description: str = ""
    members: list[str] = Field(default_factory=list)
    """Plant paths (site, area, line, asset) that lie in this zone."""


class ConduitSpec(_Strict):
    id: str = Field(pattern=_ID)
    from_zone: str = Field(alias="from")
    to_zone: str = Field(alias="to")
    carries: list[str] = Field(default_factory=list)
    """What crosses, for people and audits: samples, events, setpoints, recipes."""
    writes: list[str] = Field(default_factory=list)
    """Plant paths whose tags may be written through this conduit (only towards OT)."""


class WritableSpec(_Strict):
    tag: str
    connector: str
    """A connector of the plant file, or one the platform runs (the demo's devices); it is
    looked up when a write happens, so a missing one fails that write, audited."""
    min: float
    max: float
    approval: bool = False
    """A second person (another user with ``ot:approve``) must approve each write."""
    node: str | None = None
    """OPC UA: the variable's NodeId."""
    address: int | None = Field(default=None, ge=0, le=65535)
    """Modbus TCP: the first holding register."""
    type: Literal["int16", "uint16", "int32", "uint32", "float32", "float64"] = "float32"

    @model_validator(mode="after")
    def _consistent(self) -> WritableSpec:
        if not (math.isfinite(self.min) and math.isfinite(self.max) and self.min <= self.max):
            raise ValueError(f"tag {self.tag!r}: min {self.min} and max {self.max} must be finite,"
                             " min at most max")  # fmt: skip
        if (self.node is None) == (self.address is None):
            raise ValueError(f"tag {self.tag!r}: give node (OPC UA) or address (Modbus TCP)")
        if self.node is not None and not _NODE_ID.match(self.node):
            raise ValueError(f"{self.node!r} is not a NodeId (write e.g. ns=2;s=Furnace.Setpoint)")
        return self


class OidcSpec(_Strict):
    """An OpenID Connect provider for signing in (see :mod:`plantos.security.oidc`)."""

    issuer: str = Field(pattern=r"^https?://[^\s]+$")
    client_id: str = Field(min_length=1)
    redirect_url: str = Field(pattern=r"^https?://[^\s]+/signin/oidc/callback$")
    client_secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    role_claim: str = "plantos_role"
    scope_claim: str = "plantos_scope"
    label: str = "Sign in with your company account"

    def settings(self) -> OidcSettings:
        return OidcSettings(**self.model_dump())


class SecuritySpec(_Strict):
    oidc: OidcSpec | None = None
    core_zone: str = "dmz"
    zones: dict[str, ZoneSpec] = Field(default_factory=dict)
    conduits: list[ConduitSpec] = Field(default_factory=list)
    writable: list[WritableSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Zoning:
    """The validated section with the lookups the write path needs."""

    spec: SecuritySpec

    def zone_of(self, path: str) -> str | None:
        """The zone whose most specific member covers ``path``."""
        best: tuple[int, str] | None = None
        for name, zone in self.spec.zones.items():
            for member in zone.members:
                if covers(member, path) and (best is None or len(member) > best[0]):
                    best = (len(member), name)
        return best[1] if best else None

    def writable(self, tag: str) -> WritableSpec | None:
        return next((w for w in self.spec.writable if w.tag == tag), None)

    def conduit_for_write(self, tag: str) -> ConduitSpec | None:
        """The conduit from the core's zone into the tag's zone that lets it be written."""
        zone = self.zone_of(tag)
        for conduit in self.spec.conduits:
            if (conduit.from_zone, conduit.to_zone) == (self.spec.core_zone, zone) and any(
                covers(p, tag) for p in conduit.writes
            ):
                return conduit
        return None


def zoning(plant: Plant, raw: dict[str, Any] | None = None) -> Zoning:
    """The plant's ``security`` section validated against the plant and its connectors;
    :class:`ConfigError` names every problem with its line."""
    data = raw if raw is not None else plant.spec.security
    try:
        spec = SecuritySpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            validation_problems(exc, plant.locate, plant.source, ("security",))
        ) from None
    problems = _cross_checks(spec, plant)
    if problems:
        raise ConfigError(
            [
                ConfigProblem(plant.source, plant.locate(("security", *loc)), m)
                for loc, m in problems
            ]
        )
    return Zoning(spec)


def _cross_checks(spec: SecuritySpec, plant: Plant) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    nodes = {n.path for n in plant.iter_nodes()} | set(plant.tags)
    zones = set(spec.zones)
    if spec.zones and spec.core_zone not in zones:
        problems.append((("core_zone",), f"core_zone {spec.core_zone!r} is not a zone"))
    for name, zone in spec.zones.items():
        for i, member in enumerate(zone.members):
            if member not in nodes:
                problems.append(((("zones", name, "members", i)), f"unknown plant path {member!r}"))
    for i, conduit in enumerate(spec.conduits):
        for end, named in (("from", conduit.from_zone), ("to", conduit.to_zone)):
            if named not in zones:
                problems.append(
                    (("conduits", i, end), f"conduit {conduit.id!r}: no zone {named!r}")
                )
        for j, path in enumerate(conduit.writes):
            if path not in nodes:
                problems.append((("conduits", i, "writes", j), f"unknown plant path {path!r}"))
    connectors = {str(c.get("name")): c.get("kind") for c in plant.spec.connectors}
    for i, w in enumerate(spec.writable):
        if w.tag not in plant.tags:
            problems.append((("writable", i, "tag"), f"unknown tag {w.tag!r}"))
        kind = connectors.get(w.connector)
        wanted = "opcua" if w.node is not None else "modbus-tcp"
        if w.connector in connectors and kind != wanted:
            problems.append(
                (("writable", i, "connector"), f"connector {w.connector!r} is not {wanted}")
            )
    zoning_ = Zoning(spec)
    for i, w in enumerate(spec.writable):
        if w.tag in plant.tags and zoning_.conduit_for_write(w.tag) is None:
            problems.append(
                (("writable", i, "tag"), f"no conduit from {spec.core_zone!r} writes {w.tag!r}")
            )
    return problems
