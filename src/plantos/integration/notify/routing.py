"""Whom a fact concerns: the routing rules applied to one notice.

>>> from plantos.integration.notify.config import Rule, Target
>>> router = Router([Rule(kinds=["WorkOrderOpened"], priority_at_most=2,
...                       to=["maintenance", "station"])],
...                 {"maintenance": [Target(channel="mail", to="m@acme.example")]})
>>> notice = Notice(asset="s/a/l/cnc-07", line="s/a/l", site="s", kind="WorkOrderOpened",
...                 priority=1, reference="WO-1", title="t", body={})
>>> [(a.channel, a.recipient, a.station) for a in router.route(notice)]
[('mail', 'm@acme.example', None), ('station', None, 's/a/l')]
>>> router.route(Notice(**{**notice.__dict__, "priority": 3}))
[]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plantos.integration.notify.config import STATION, Rule, Target


@dataclass(frozen=True)
class Notice:
    """One fact to tell people about, before routing."""

    asset: str
    line: str | None
    site: str
    kind: str
    priority: int
    reference: str
    """What it is about (a work order id): consolidation groups by it."""
    title: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Address:
    """Where one notification goes: a channel and recipient, or a line's station."""

    channel: str
    recipient: str | None = None
    station: str | None = None


class Router:
    def __init__(self, rules: Sequence[Rule], roles: Mapping[str, Sequence[Target]]) -> None:
        self.rules = list(rules)
        self.roles = {k: list(v) for k, v in roles.items()}

    def route(self, notice: Notice) -> list[Address]:
        """Every address of every matching rule, each once, in rule order."""
        out: dict[Address, None] = {}
        for rule in self.rules:
            if not _matches(rule, notice):
                continue
            for name in rule.to:
                if name == STATION:
                    if notice.line is not None:
                        out[Address(STATION, station=notice.line)] = None
                    continue
                for target in self.roles.get(name, ()):
                    out[Address(target.channel, recipient=target.to)] = None
        return list(out)


def _matches(rule: Rule, notice: Notice) -> bool:
    return (
        (not rule.kinds or notice.kind in rule.kinds)
        and (not rule.sites or notice.site in rule.sites)
        and (not rule.lines or notice.line in rule.lines)
        and notice.priority <= rule.priority_at_most
    )
