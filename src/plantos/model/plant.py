"""The resolved plant: every asset and tag with its full unified-namespace path.

:func:`build_plant` turns a validated :class:`~plantos.model.schema.PlantSpec`
into a :class:`Plant`, checking what only the whole file can tell: that names
refer to things that exist, that tag paths are unique, and that units are real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.core.timeparse import parse_duration_ns
from plantos.model.calendar import ShiftCalendar
from plantos.model.schema import AssetSpec, PlantSpec, TagSpec
from plantos.model.units import unit_problem

DEFAULT_TEXT_LENGTH = 256
"""A text tag's ``max_length`` when the plant file gives none: room for any program name,
batch, lot or product code without letting one device fill the historian with prose."""

Level = Literal["enterprise", "site", "area", "line", "asset"]
Loc = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Waveform:
    rate_hz: float
    samples: int
    every_ns: int


@dataclass(frozen=True, slots=True)
class TagDef:
    """A tag: one signal of one asset, named by its path ``site/area/line/asset/signal``."""

    path: str
    asset: str
    signal: str
    dtype: str
    unit: str | None
    range: tuple[float, float] | None
    sampling_ns: int
    states: dict[int, str] | None = None
    waveform: Waveform | None = None
    description: str = ""
    max_length: int | None = None
    """A text tag's longest value in characters; longer text is kept cut and marked Bad."""
    entry: str = "machine"
    """``manual`` when operators enter the value (a reading no sensor gives)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "asset": self.asset,
            "signal": self.signal,
            "type": self.dtype,
            "unit": self.unit,
            "range": list(self.range) if self.range else None,
            "sampling_ms": self.sampling_ns / 1e6,
            "states": {str(k): v for k, v in self.states.items()} if self.states else None,
            "waveform": (
                {"rate_hz": self.waveform.rate_hz, "samples": self.waveform.samples}
                if self.waveform
                else None
            ),
            "description": self.description,
            "max_length": self.max_length,
            "entry": self.entry,
        }


@dataclass(frozen=True, slots=True)
class AssetDef:
    path: str
    id: str
    name: str
    type: str | None
    criticality: str
    calendar: str | None
    simulator: dict[str, Any]
    tags: tuple[TagDef, ...]


@dataclass(slots=True)
class Node:
    """One level of the ISA-95 hierarchy; assets are the leaves."""

    level: Level
    id: str
    name: str
    path: str
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass(slots=True)
class Plant:
    """The whole enterprise as configured: hierarchy, assets, tags, calendars, historian."""

    root: Node
    assets: dict[str, AssetDef]
    tags: dict[str, TagDef]
    calendars: dict[str, ShiftCalendar]
    spec: PlantSpec
    source: str
    locate: Callable[[Loc], int | None] = lambda loc: None
    """The line in ``source`` of a location such as ``("connectors", 0, "host")``."""

    def iter_nodes(self) -> Iterator[Node]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def calendar_for(self, asset_path: str) -> ShiftCalendar | None:
        name = self.assets[asset_path].calendar
        return self.calendars[name] if name else None


class _Builder:
    def __init__(self, spec: PlantSpec, line_of: Callable[[Loc], int | None], file: str) -> None:
        self.spec = spec
        self.line_of = line_of
        self.file = file
        self.problems: list[ConfigProblem] = []
        self.assets: dict[str, AssetDef] = {}
        self.tags: dict[str, TagDef] = {}
        self.tag_locs: dict[str, Loc] = {}
        self.lines: dict[str, Node] = {}
        self.line_calendars: dict[str, str | None] = {}
        self.calendars: dict[str, ShiftCalendar] = {}

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(ConfigProblem(self.file, self.line_of(loc), message))

    def build(self) -> Plant:
        spec = self.spec
        for name, cal in spec.calendars.items():
            try:
                self.calendars[name] = ShiftCalendar(cal, ZoneInfo(cal.timezone))
            except (ZoneInfoNotFoundError, ValueError):
                self.problem(("calendars", name, "timezone"), f"unknown time zone {cal.timezone!r}")
        for name, atype in spec.asset_types.items():
            for i, tag in enumerate(atype.tags):
                self.check_tag(tag, ("asset_types", name, "tags", i))
        root = Node(
            "enterprise",
            spec.enterprise.id,
            spec.enterprise.name or spec.enterprise.id,
            spec.enterprise.id,
        )
        self.walk_sites(root)
        for i, asset in enumerate(spec.assets):
            self.add_flat_asset(asset, ("assets", i))
        if self.problems:
            raise ConfigError(self.problems)
        return Plant(root, self.assets, self.tags, self.calendars, spec, self.file, self.line_of)

    def walk_sites(self, root: Node) -> None:
        seen: dict[str, Loc] = {}
        for si, site in enumerate(self.spec.sites):
            sloc: Loc = ("sites", si)
            if not self.unique(seen, site.id, sloc, "site"):
                continue
            self.check_calendar(site.calendar, (*sloc, "calendar"))
            snode = Node("site", site.id, site.name or site.id, site.id)
            root.children.append(snode)
            areas: dict[str, Loc] = {}
            for ai, area in enumerate(site.areas):
                aloc: Loc = (*sloc, "areas", ai)
                if not self.unique(areas, area.id, aloc, f"area in site {site.id!r}"):
                    continue
                anode = Node("area", area.id, area.name or area.id, f"{snode.path}/{area.id}")
                snode.children.append(anode)
                lines: dict[str, Loc] = {}
                for li, line in enumerate(area.lines):
                    lloc: Loc = (*aloc, "lines", li)
                    if not self.unique(lines, line.id, lloc, f"line in area {anode.path!r}"):
                        continue
                    self.check_calendar(line.calendar, (*lloc, "calendar"))
                    lnode = Node("line", line.id, line.name or line.id, f"{anode.path}/{line.id}")
                    anode.children.append(lnode)
                    self.lines[lnode.path] = lnode
                    calendar = line.calendar or site.calendar
                    self.line_calendars[lnode.path] = calendar
                    for xi, asset in enumerate(line.assets):
                        xloc: Loc = (*lloc, "assets", xi)
                        if asset.parent is not None:
                            self.problem(
                                (*xloc, "parent"),
                                "'parent' is only for assets listed under the top-level 'assets'",
                            )
                        self.add_asset(lnode, asset, xloc, calendar)

    def add_flat_asset(self, asset: AssetSpec, loc: Loc) -> None:
        if asset.parent is None:
            self.problem(loc, f"asset {asset.id!r} at top level needs 'parent: site/area/line'")
            return
        line = self.lines.get(asset.parent)
        if line is None:
            known = ", ".join(sorted(self.lines)) or "none"
            self.problem(
                (*loc, "parent"),
                f"unknown parent {asset.parent!r}: no such line (lines are: {known})",
            )
            return
        self.add_asset(line, asset, loc, self.line_calendars[line.path])

    def add_asset(self, line: Node, asset: AssetSpec, loc: Loc, calendar: str | None) -> None:
        path = f"{line.path}/{asset.id}"
        if path in self.assets:
            self.problem((*loc, "id"), f"duplicate asset {path!r}")
            return
        self.check_calendar(asset.calendar, (*loc, "calendar"))
        tag_specs: list[tuple[TagSpec, Loc]] = []
        simulator: dict[str, Any] = {}
        if asset.type is not None:
            atype = self.spec.asset_types.get(asset.type)
            if atype is None:
                known = ", ".join(sorted(self.spec.asset_types)) or "none"
                self.problem((*loc, "type"), f"unknown asset type {asset.type!r} (known: {known})")
            else:
                simulator.update(atype.simulator or {})
                tag_specs += [
                    (t, ("asset_types", asset.type, "tags", i)) for i, t in enumerate(atype.tags)
                ]
        simulator.update(asset.simulator or {})
        for i, tag in enumerate(asset.tags):
            tloc = (*loc, "tags", i)
            self.check_tag(tag, tloc)
            tag_specs.append((tag, tloc))
        tags = []
        for tag, tloc in tag_specs:
            tdef = self.make_tag(path, tag)
            if tdef.path in self.tags:
                first = self.line_of(self.tag_locs[tdef.path])
                self.problem(tloc, f"duplicate tag path {tdef.path!r} (first at line {first})")
                continue
            self.tags[tdef.path] = tdef
            self.tag_locs[tdef.path] = tloc
            tags.append(tdef)
        line.children.append(Node("asset", asset.id, asset.name or asset.id, path))
        self.assets[path] = AssetDef(
            path=path,
            id=asset.id,
            name=asset.name or asset.id,
            type=asset.type,
            criticality=asset.criticality,
            calendar=asset.calendar or calendar,
            simulator=simulator,
            tags=tuple(tags),
        )

    @staticmethod
    def make_tag(asset_path: str, tag: TagSpec) -> TagDef:
        wf = tag.waveform
        return TagDef(
            path=f"{asset_path}/{tag.signal}",
            asset=asset_path,
            signal=tag.signal,
            dtype=tag.type,
            unit=tag.unit,
            range=tag.range,
            sampling_ns=parse_duration_ns(tag.sampling),
            states=dict(tag.states) if tag.states else None,
            waveform=Waveform(wf.rate_hz, wf.samples, parse_duration_ns(wf.every)) if wf else None,
            description=tag.description,
            max_length=(tag.max_length or DEFAULT_TEXT_LENGTH) if tag.type == "text" else None,
            entry=tag.entry,
        )

    def check_tag(self, tag: TagSpec, loc: Loc) -> None:
        if tag.range is not None and tag.range[0] > tag.range[1]:
            self.problem(
                (*loc, "range"),
                f"tag {tag.signal!r}: range is inverted: "
                f"low {tag.range[0]} is above high {tag.range[1]}",
            )
        if tag.type == "enum" and not tag.states:
            self.problem(loc, f"tag {tag.signal!r} is an enum and needs 'states' (code: name)")
        if tag.type != "enum" and tag.states:
            self.problem(
                (*loc, "states"), f"tag {tag.signal!r}: 'states' only applies to enum tags"
            )
        if tag.type == "float" and not tag.unit:
            self.problem(loc, f"tag {tag.signal!r} is a float and needs a 'unit'")
        if tag.unit:
            why = unit_problem(tag.unit)
            if why:
                self.problem((*loc, "unit"), f"tag {tag.signal!r}: {why}")
        if tag.max_length is not None and tag.type != "text":
            self.problem(
                (*loc, "max_length"), f"tag {tag.signal!r}: 'max_length' only applies to text tags"
            )
        if tag.unit and tag.type in ("text", "bool", "enum"):
            self.problem((*loc, "unit"), f"tag {tag.signal!r}: a {tag.type} tag has no unit")
        if tag.entry == "manual" and tag.waveform is not None:
            self.problem(
                (*loc, "entry"), f"tag {tag.signal!r}: a waveform cannot be entered by hand"
            )
        if tag.waveform is not None and tag.type != "float":
            self.problem((*loc, "waveform"), f"tag {tag.signal!r}: a waveform must be a float")

    def check_calendar(self, name: str | None, loc: Loc) -> None:
        if name is not None and name not in self.spec.calendars:
            known = ", ".join(sorted(self.spec.calendars)) or "none"
            self.problem(loc, f"unknown calendar {name!r} (known: {known})")

    def unique(self, seen: dict[str, Loc], ident: str, loc: Loc, what: str) -> bool:
        if ident in seen:
            first = self.line_of(seen[ident])
            self.problem((*loc, "id"), f"duplicate {what} {ident!r} (first at line {first})")
            return False
        seen[ident] = loc
        return True


def build_plant(spec: PlantSpec, *, line_of: Callable[[Loc], int | None], file: str) -> Plant:
    """Resolve a validated spec into a :class:`Plant`, or raise :class:`ConfigError`."""
    return _Builder(spec, line_of, file).build()
