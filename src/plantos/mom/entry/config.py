"""The ``entry`` section of ``plantos.yaml``: checklists and scrap reasons.

```yaml
entry:
  scrap_reasons: {dimension: Dimension out of tolerance, surface: Surface defect}
  checklists:
    start-of-shift:
      title: Start of shift
      when: shift-start              # once per line and shift
      lines: [plant-a/machining/line-1]          # optional: every line
      items:
        - {id: guards, text: Guards in place, kind: yes_no, expect: true}
        - {id: air, text: Air pressure, kind: value, unit: bar, range: [5, 7]}
        - {id: remarks, text: Remarks, kind: text, required: false}
    loto:
      title: Lock-out/tag-out
      when: work-order-start         # before a maintenance job may start
      items:
        - {id: isolated, text: Energy isolated and locked, kind: yes_no, expect: true}
```

Readings are marked on their tag (``entry: manual``), not here. A wrong value is a
:class:`ConfigError` with file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.model.plant import Plant, TagDef
from plantos.model.units import unit_problem
from plantos.mom.entry.checklists import ChecklistDef, ItemDef
from plantos.mom.sections import checked_section


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Item(_Strict):
    id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=300)
    kind: Literal["yes_no", "value", "text"] = "yes_no"
    required: bool = True
    expect: bool | None = None
    unit: str | None = None
    range: tuple[float, float] | None = None


class _Checklist(_Strict):
    title: str = Field(min_length=1, max_length=200)
    when: Literal["shift-start", "work-order-start"]
    lines: list[str] = Field(default_factory=list)
    asset_types: list[str] = Field(default_factory=list)
    items: list[_Item] = Field(min_length=1)


class EntrySection(_Strict):
    scrap_reasons: dict[str, str] = Field(default_factory=dict)
    checklists: dict[str, _Checklist] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntryConfig:
    checklists: dict[str, ChecklistDef] = field(default_factory=dict)
    scrap_reasons: dict[str, str] = field(default_factory=dict)
    """Reason code to what the operator reads."""

    def for_work_orders(self, asset: str, asset_type: str | None) -> list[ChecklistDef]:
        """The checklists a work order on ``asset`` needs before it starts."""
        return [
            c
            for c in self.checklists.values()
            if c.when == "work-order-start" and c.for_asset(asset, asset_type)
        ]


def entry_config(plant: Plant) -> EntryConfig:
    """The plant's checklists and scrap reasons; :class:`ConfigError` with file:line."""
    section, problems = checked_section(EntrySection, plant, "entry")
    if section is None:
        raise ConfigError(problems)

    def problem(loc: tuple[object, ...], message: str) -> None:
        where = ".".join(str(p) for p in ("entry", *loc))
        line = plant.locate(("entry", *loc))
        problems.append(ConfigProblem(plant.source, line, f"{where}: {message}"))

    lines = {n.path for n in plant.iter_nodes() if n.level == "line"}
    types = {a.type for a in plant.assets.values()}
    checklists = {}
    for name, spec in section.checklists.items():
        for i, line in enumerate(spec.lines):
            if line not in lines:
                problem(("checklists", name, "lines", i), f"no line {line!r} in the plant")
        for i, asset_type in enumerate(spec.asset_types):
            if asset_type not in types:
                problem(("checklists", name, "asset_types", i), f"no asset of type {asset_type!r}")
        if spec.asset_types and spec.when != "work-order-start":
            problem(("checklists", name, "asset_types"), "only for work-order-start checklists")
        items = []
        seen: set[str] = set()
        for i, item in enumerate(spec.items):
            for why in _item_problems(item, seen):
                problem(("checklists", name, "items", i), why)
            seen.add(item.id)
            items.append(
                ItemDef(item.id, item.text, item.kind, item.required, item.expect, item.unit,
                        item.range)
            )  # fmt: skip
        checklists[name] = ChecklistDef(
            name, spec.title, spec.when, tuple(items), tuple(spec.lines), tuple(spec.asset_types)
        )
    if problems:
        raise ConfigError(problems)
    return EntryConfig(checklists, dict(section.scrap_reasons))


def _item_problems(item: _Item, seen: set[str]) -> list[str]:
    out = [f"item {item.id!r} is given twice"] if item.id in seen else []
    if item.expect is not None and item.kind != "yes_no":
        out.append(f"item {item.id!r}: 'expect' is for yes_no items")
    if (item.unit or item.range) and item.kind != "value":
        out.append(f"item {item.id!r}: 'unit' and 'range' are for value items")
    if item.unit and (why := unit_problem(item.unit)):
        out.append(f"item {item.id!r}: {why}")
    if item.range and item.range[0] > item.range[1]:
        out.append(f"item {item.id!r}: range is inverted")
    return out


def manual_tags(plant: Plant, line: str) -> list[TagDef]:
    """The tags operators enter on ``line``, in plant-file order."""
    prefix = f"{line.strip('/')}/"
    return [t for t in plant.tags.values() if t.entry == "manual" and t.asset.startswith(prefix)]
