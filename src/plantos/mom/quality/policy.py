"""The ``quality`` section of ``plantos.yaml``: which tags are inspections, which findings
put the running order or its lot on hold, where lot codes come from, and who is told.

```yaml
quality:
  inspections: [inspection_passed]   # bool signals (every asset with one) or tag paths:
                                     # a sample of 0 is a failed inspection
  hold_on: [spc_violation, failed_inspection]   # findings that put a hold
  hold_target: order                 # what they hold: order (it pauses), lot (its current
                                     # lot waits, production goes on) or none
  scrap_releases_hold: true          # a scrap disposition ends the hold (false: keeps it)
  lot_codes: [lot_code]              # text signals or tag paths: a new value closes the
                                     # asset's lot and opens one with that code
  notify: [quality]                  # roles told of every nonconformance
  rules:                             # per characteristic, the first matching rule wins
    - {match: "plant-a/welding/*", hold_on: [failed_inspection], hold_target: lot}
```
Every field has a default (no inspections, no hold, holds on the order, no lot-code tag:
lots follow the orders, the ``quality`` role told when the
notifications define it); a wrong one is a :class:`ConfigError` with file and line, all
of the section's mistakes at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.model.plant import Plant
from plantos.mom.quality.nonconformance import HOLD_TARGETS, TRIGGERS
from plantos.mom.sections import checked_section

QUALITY_ROLE = "quality"
TARGETS = (*HOLD_TARGETS, "none")
"""What ``hold_target`` may say."""
Problem = Callable[[tuple[str | int, ...], str], None]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str = Field(min_length=1)
    """A glob over characteristic tag paths (``plant-a/welding/*``)."""
    hold_on: list[str] | None = None
    hold_target: str | None = None
    scrap_releases_hold: bool | None = None


class QualitySection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inspections: list[str] = Field(default_factory=list)
    hold_on: list[str] = Field(default_factory=list)
    hold_target: str = "order"
    scrap_releases_hold: bool = True
    lot_codes: list[str] = Field(default_factory=list)
    notify: list[str] | None = None
    rules: list[_Rule] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reaction:
    """What the plant's rules say for one characteristic."""

    hold_on: frozenset[str]
    scrap_releases_hold: bool
    hold_target: str = "order"
    """``order``, ``lot`` or ``none``: what a finding of ``hold_on`` puts on hold."""

    def holds(self, trigger: str) -> str | None:
        """What a finding ``trigger`` holds (``order`` or ``lot``), ``None`` for nothing."""
        if trigger not in self.hold_on or self.hold_target == "none":
            return None
        return self.hold_target


@dataclass(frozen=True)
class QualityPolicy:
    inspections: frozenset[str]
    """Tag paths of bool inspection results."""
    hold_on: frozenset[str]
    scrap_releases_hold: bool
    notify: tuple[str, ...]
    rules: tuple[tuple[str, Reaction], ...] = ()
    hold_target: str = "order"
    lot_codes: frozenset[str] = frozenset()
    """Tag paths of text tags whose value is the code of the lot being made."""
    coded: frozenset[str] = frozenset()
    """The assets of those tags: their lots come from the tag, not from order starts."""

    def for_characteristic(self, path: str) -> Reaction:
        """The first rule matching ``path``, its unset fields from the section's defaults."""
        for pattern, reaction in self.rules:
            if fnmatchcase(path, pattern):
                return reaction
        return Reaction(self.hold_on, self.scrap_releases_hold, self.hold_target)


def quality_policy(plant: Plant) -> QualityPolicy:
    """The plant's quality policy; :class:`ConfigError` with file:line when wrong: an
    unknown finding, an inspection that is no bool tag, a rule matching no tag, a role the
    notifications do not define."""
    section, problems = checked_section(QualitySection, plant, "quality")
    if section is None:
        raise ConfigError(problems)

    def problem(loc: tuple[str | int, ...], message: str) -> None:
        where = "quality" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        problems.append(
            ConfigProblem(plant.source, plant.locate(("quality", *loc)), f"{where}: {message}")
        )

    inspections = _tags(section.inspections, "inspections", "bool", plant, problem)
    lot_codes = _tags(section.lot_codes, "lot_codes", "text", plant, problem)
    _check_triggers(section.hold_on, ("hold_on",), problem)
    _check_target(section.hold_target, ("hold_target",), problem)
    rules = []
    for i, rule in enumerate(section.rules):
        if rule.hold_on is not None:
            _check_triggers(rule.hold_on, ("rules", i, "hold_on"), problem)
        if rule.hold_target is not None:
            _check_target(rule.hold_target, ("rules", i, "hold_target"), problem)
        if not any(fnmatchcase(path, rule.match) for path in plant.tags):
            problem(("rules", i, "match"), f"{rule.match!r} matches no tag of the plant")
        hold = section.hold_on if rule.hold_on is None else rule.hold_on
        releases = (
            section.scrap_releases_hold
            if rule.scrap_releases_hold is None
            else rule.scrap_releases_hold
        )
        target = section.hold_target if rule.hold_target is None else rule.hold_target
        rules.append((rule.match, Reaction(frozenset(hold), releases, target)))
    roles = set((plant.spec.notifications or {}).get("roles") or {})
    notify = section.notify
    if notify is None:
        notify = [QUALITY_ROLE] if QUALITY_ROLE in roles else []
    for j, role in enumerate(notify):
        if role not in roles:
            problem(("notify", j), f"{role!r} is not a role of notifications.roles")
    if problems:
        raise ConfigError(problems)
    return QualityPolicy(
        inspections=frozenset(inspections),
        hold_on=frozenset(section.hold_on),
        scrap_releases_hold=section.scrap_releases_hold,
        notify=tuple(notify),
        rules=tuple(rules),
        hold_target=section.hold_target,
        lot_codes=frozenset(lot_codes),
        coded=frozenset(plant.tags[p].asset for p in lot_codes),
    )


def _check_triggers(triggers: list[str], loc: tuple[str | int, ...], problem: Problem) -> None:
    for j, name in enumerate(triggers):
        if name not in TRIGGERS:
            problem((*loc, j), f"unknown finding {name!r}: one of {', '.join(TRIGGERS)}")


def _check_target(target: str, loc: tuple[str | int, ...], problem: Problem) -> None:
    if target not in TARGETS:
        problem(loc, f"unknown hold target {target!r}: one of {', '.join(TARGETS)}")


def _tags(names: list[str], key: str, dtype: str, plant: Plant, problem: Problem) -> set[str]:
    """Each entry a tag path, or a signal name standing for that signal on every asset;
    every tag of type ``dtype`` (inspections are bool, lot codes text)."""
    found: set[str] = set()
    for i, name in enumerate(names):
        paths = (
            [name]
            if "/" in name
            else [p for p, tag in plant.tags.items() if p.endswith(f"/{name}")]
        )
        if not paths or any(p not in plant.tags for p in paths):
            problem((key, i), f"{name!r} is no tag or signal of the plant")
            continue
        wrong = [p for p in paths if plant.tags[p].dtype != dtype]
        if wrong:
            what = "an inspection" if key == "inspections" else "a lot code"
            problem(
                (key, i), f"{wrong[0]} is {plant.tags[wrong[0]].dtype}: {what} is a {dtype} tag"
            )
            continue
        found.update(paths)
    return found
