"""The ``notifications`` section of ``plantos.yaml``: channels, roles and routing rules.

```yaml
notifications:
  channels:                      # as for the ERP: email, webhook, mqtt, file-drop
    - {kind: email, name: maintenance-mail, host: smtp.acme.example, sender: plantos@acme.example}
  roles:                         # who a role reaches, on which channel
    maintenance:
      - {channel: maintenance-mail, to: maintenance@acme.example}
  rules:                         # every matching rule adds its targets
    - {kinds: [WorkOrderOpened], priority_at_most: 2, to: [maintenance, station]}
    - {kinds: [WorkOrderOpened], lines: [plant-a/machining/line-1], to: [station]}
  retry: {initial: 2s, max: 5m}
  escalation: {after: 15m, to: [maintenance-lead], reminders: 2}   # optional
```
``to`` names roles or ``station`` (the operator station of the asset's line). A rule
without ``kinds``, ``sites`` or ``lines`` matches all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.core.timeparse import parse_duration_ns
from plantos.core.timeunits import NS_PER_S as NS
from plantos.integration.channels.config import ChannelSpec, validate_channels
from plantos.integration.channels.retry import RetryPolicy
from plantos.model.plant import Plant
from plantos.mom.sections import checked_section

STATION = "station"


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    to: str | None = None
    """The address on that channel (an e-mail address); none for webhook and MQTT."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[str] = Field(default_factory=list)
    sites: list[str] = Field(default_factory=list)
    lines: list[str] = Field(default_factory=list)
    """Line paths (``site/area/line``)."""
    priority_at_most: int = Field(4, ge=1, le=4)
    to: list[str] = Field(min_length=1)


class _Retry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    initial: str = "2s"
    max: str = "5m"

    @field_validator("initial", "max")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration_ns(value) <= 0:
            raise ValueError(f"a duration longer than zero is needed, not {value!r}")
        return value


class _Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after: str = "15m"
    to: list[str] = Field(min_length=1)
    """Roles told when a station notification waits unacknowledged for ``after``."""
    reminders: int = Field(2, ge=1, le=20)
    """How often they are told in all, ``after`` apart, while nobody acknowledges."""

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration_ns(value) <= 0:
            raise ValueError(f"a duration longer than zero is needed, not {value!r}")
        return value


class NotificationsSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: list[dict[str, Any]] = Field(default_factory=list)
    roles: dict[str, list[Target]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    retry: _Retry = Field(default_factory=_Retry)
    escalation: _Escalation | None = None


@dataclass(frozen=True)
class Escalation:
    after_ns: int
    to: list[str]
    reminders: int


@dataclass(frozen=True)
class NotificationConfig:
    channels: list[ChannelSpec]
    roles: dict[str, list[Target]]
    rules: list[Rule]
    retry: RetryPolicy
    escalation: Escalation | None = None


def notification_config(plant: Plant) -> NotificationConfig:
    """The plant's notification settings; :class:`ConfigError` with file:line when wrong
    (an unknown channel in a role, an unknown role, site or line in a rule, a bad
    channel), every mistake at once."""
    locate: Callable[[tuple[Any, ...]], int | None] = plant.locate
    section, problems = checked_section(NotificationsSection, plant, "notifications")
    if section is None:
        raise ConfigError(problems)
    try:
        channels = validate_channels(
            section.channels,
            source=plant.source,
            locate=lambda loc: locate(("notifications", *loc)),
        )
    except ConfigError as exc:  # the roles are still checked against the names written
        problems += exc.problems
        channels = []
    names = {c.name for c in channels} or {str(c.get("name")) for c in section.channels}
    nodes = {level: {n.path for n in plant.iter_nodes() if n.level == level}
             for level in ("site", "line")}  # fmt: skip
    for role, targets in section.roles.items():
        for i, target in enumerate(targets):
            if target.channel not in names:
                problems.append(ConfigProblem(
                    plant.source, locate(("notifications", "roles", role, i, "channel")),
                    f"notifications.roles.{role}[{i}]: unknown channel {target.channel!r}",
                ))  # fmt: skip
    for i, rule in enumerate(section.rules):
        for level, paths in (("site", rule.sites), ("line", rule.lines)):
            for j, path in enumerate(paths):
                if path not in nodes[level]:
                    problems.append(ConfigProblem(
                        plant.source, locate(("notifications", "rules", i, f"{level}s", j)),
                        f"notifications.rules[{i}].{level}s: no {level} {path!r} in the plant",
                    ))  # fmt: skip
        for j, name in enumerate(rule.to):
            if name != STATION and name not in section.roles:
                problems.append(ConfigProblem(
                    plant.source, locate(("notifications", "rules", i, "to", j)),
                    f"notifications.rules[{i}].to: {name!r} is neither a role nor 'station'",
                ))  # fmt: skip
    escalation = section.escalation
    for j, name in enumerate(escalation.to if escalation else []):
        if name not in section.roles:
            problems.append(ConfigProblem(
                plant.source, locate(("notifications", "escalation", "to", j)),
                f"notifications.escalation.to: {name!r} is not a role",
            ))  # fmt: skip
    if problems:
        raise ConfigError(problems)
    return NotificationConfig(
        channels=channels,
        roles=dict(section.roles),
        rules=list(section.rules),
        retry=RetryPolicy(
            initial_s=parse_duration_ns(section.retry.initial) / NS,
            max_s=parse_duration_ns(section.retry.max) / NS,
        ),
        escalation=Escalation(
            parse_duration_ns(escalation.after), escalation.to, escalation.reminders
        )
        if escalation
        else None,
    )
