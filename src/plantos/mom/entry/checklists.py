"""Digital checklists: what a person confirms before a shift or a job, item by item.

A checklist is defined in the plant file (see :mod:`plantos.mom.entry.config`) and filled
in once per *instance*: the start-of-shift checklist once per line and shift, the
lock-out/tag-out checklist once per work order. Answers are checked here, all at once,
so a refusal names every item that is missing or wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plantos.model.plant import TagDef
from plantos.mom.entry.errors import InvalidEntryError
from plantos.mom.entry.readings import Value, reading_value

WHEN = ("shift-start", "work-order-start")
"""``shift-start``: once per line and shift; ``work-order-start``: once per maintenance
work order, before it may move to ``in_progress``."""
KINDS = ("yes_no", "value", "text")


@dataclass(frozen=True, slots=True)
class ItemDef:
    id: str
    text: str
    kind: str
    required: bool = True
    expect: bool | None = None
    """For a yes/no item: the only answer that lets the checklist be submitted."""
    unit: str | None = None
    range: tuple[float, float] | None = None
    max_length: int = 500

    def answer(self, raw: object, *, unit: str | None = None) -> Value:
        """The stored answer for ``raw``; :class:`InvalidEntryError` when it is wrong."""
        dtype = {"yes_no": "bool", "value": "float", "text": "text"}[self.kind]
        as_tag = TagDef(
            self.id, "", self.id, dtype, self.unit, self.range, 0, max_length=self.max_length
        )
        value = reading_value(as_tag, raw, unit=unit)
        if self.expect is not None and value is not self.expect:
            wanted = "yes" if self.expect else "no"
            raise InvalidEntryError(f"{self.id}: must be {wanted} before going on ({self.text})")
        return value


@dataclass(frozen=True, slots=True)
class ChecklistDef:
    id: str
    title: str
    when: str
    items: tuple[ItemDef, ...]
    lines: tuple[str, ...] = ()
    """The lines it is for; empty: every line."""
    asset_types: tuple[str, ...] = ()
    """For ``work-order-start``: the asset types whose work orders need it; empty: all."""

    def for_line(self, line: str) -> bool:
        return not self.lines or line in self.lines

    def for_asset(self, asset: str, asset_type: str | None) -> bool:
        line = asset.rsplit("/", 1)[0]
        return self.for_line(line) and (not self.asset_types or asset_type in self.asset_types)

    def answers(self, raw: Mapping[str, object]) -> dict[str, Value]:
        """Every answer checked: :class:`InvalidEntryError` naming each missing required
        item, each unknown item and each wrong answer, or the answers to store."""
        known = {item.id: item for item in self.items}
        problems = [f"{key}: no such item in {self.id}" for key in raw if key not in known]
        out: dict[str, Value] = {}
        for item in self.items:
            given = raw.get(item.id)
            if given is None or (isinstance(given, str) and not given.strip()):
                if item.required:
                    problems.append(f"{item.id}: an answer is required ({item.text})")
                continue
            try:
                out[item.id] = item.answer(given)
            except InvalidEntryError as exc:
                problems.append(str(exc))
        if problems:
            raise InvalidEntryError(f"checklist {self.id}: " + "; ".join(problems))
        return out
