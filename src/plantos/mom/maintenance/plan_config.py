"""Preventive plans as the plant file (``maintenance.plans``) and the API write them.

```yaml
maintenance:
  plans:
    - {id: cnc-07-lube, asset: plant-a/machining/line-1/cnc-07, title: Lubricate ways,
       every: 2w, lead: 2d}                                  # calendar, floating
    - {id: cnc-07-spindle, asset: ..., meter: hours, every: 500, lead: 20}
    - {id: pump-3-seals, asset: ..., meter: integral, tag: flow, per: 1h, every: 5000}
```
A calendar plan's ``every``/``lead`` are durations, a meter plan's are numbers in the
meter's unit. Every problem names its place (file and line for the plant file).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.core.timeparse import parse_duration_ns
from plantos.model.plant import Plant
from plantos.mom.maintenance.errors import InvalidPlanError
from plantos.mom.maintenance.plans import Meter, PreventivePlan
from plantos.mom.sections import checked

StatesOf = Callable[[str], tuple[str, ...] | None]
"""The machine states an asset has (None: it has none, so no hours or parts meter)."""
Problem = tuple[str, str]
"""(field, what is wrong)."""


class PlanSection(BaseModel):
    """One plan as written; the API takes the same fields as its body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    asset: str = Field(min_length=1, max_length=300)
    title: str | None = Field(None, max_length=300)
    every: str | float
    lead: str | float | None = None
    interval: Literal["floating", "fixed"] = "floating"
    start: str | None = Field(None, description="ISO 8601: counting begins here")
    meter: Literal["hours", "parts", "integral", "sum"] | None = None
    tag: str | None = None
    states: list[str] | None = None
    per: str | None = None
    priority: int = Field(4, ge=1, le=4)


def build_plan(
    section: PlanSection, plant: Plant, states_of: StatesOf, *, origin: str
) -> tuple[PreventivePlan | None, list[Problem]]:
    """The plan, or the problems that stop it (each with its field)."""
    problems: list[Problem] = []
    s = section
    if s.asset not in plant.assets:
        problems.append(("asset", f"no asset {s.asset!r} in the plant model"))
    start_ns = _start(s.start, problems)
    if s.meter is None:
        every, lead = (
            _duration(s.every, "every", problems),
            _duration(s.lead or "0s", "lead", problems),
        )
        for name in ("tag", "states", "per"):
            if getattr(s, name) is not None:
                problems.append((name, "only a meter plan takes it"))
        meter = None
    else:
        every, lead = _number(s.every, "every", problems), _number(s.lead or 0, "lead", problems)
        meter = _meter(s, plant, states_of, problems)
    if problems:
        return None, problems
    try:
        plan = PreventivePlan(
            id=s.id, asset=s.asset, title=s.title or f"Preventive: {s.id}", every=every,
            lead=lead, interval=s.interval, meter=meter, start_ns=start_ns,
            priority=s.priority, origin=origin,
        )  # fmt: skip
    except InvalidPlanError as exc:
        return None, [("lead" if "lead" in str(exc) else "every", str(exc))]
    return plan, []


def _meter(
    s: PlanSection, plant: Plant, states_of: StatesOf, problems: list[Problem]
) -> Meter | None:
    known = states_of(s.asset) if s.asset in plant.assets else ()
    tag = None
    if s.meter in ("hours", "parts"):
        if known is None:
            problems.append(
                ("meter", f"asset {s.asset} has no machine states: give its type an OEE spec")
            )
        for name in ("tag", "per"):
            if getattr(s, name) is not None:
                problems.append((name, f"a {s.meter} meter takes no {name}"))
        if s.states is not None and s.meter == "parts":
            problems.append(("states", "a parts meter takes no states"))
        unknown = [x for x in s.states or [] if known is not None and x not in known]
        if unknown or s.states == []:
            problems.append(
                ("states", f"unknown state(s) {unknown or s.states}: use {list(known or ())}")
            )
    else:
        if s.tag is None:
            problems.append(("tag", f"a {s.meter} meter needs the tag it reads"))
        else:
            tag = s.tag if s.tag in plant.tags else f"{s.asset}/{s.tag}"
            if tag not in plant.tags:
                problems.append(("tag", f"no tag {s.tag!r} on {s.asset} or in the plant"))
            elif plant.tags[tag].dtype == "text":
                problems.append(("tag", f"tag {tag} holds text: it cannot be added up"))
        if s.states is not None:
            problems.append(("states", f"a {s.meter} meter takes no states"))
        if s.per is not None and s.meter == "sum":
            problems.append(("per", "only an integral meter takes per"))
    per_ns = _duration(s.per or "1s", "per", problems)
    if problems:
        return None
    return Meter(
        s.meter or "hours", tag=tag, states=tuple(s.states or ("running",)), per_ns=int(per_ns)
    )


def _duration(value: str | float, name: str, problems: list[Problem]) -> float:
    if not isinstance(value, str):
        problems.append((name, f"a calendar plan needs a duration like 2w or 500h, not {value!r}"))
        return 0.0
    try:
        ns = float(parse_duration_ns(value))
    except ValueError as exc:
        problems.append((name, str(exc)))
        return 0.0
    if ns <= 0 and name != "lead":
        problems.append((name, f"a duration longer than zero is needed, not {value!r}"))
    return ns


def _number(value: str | float, name: str, problems: list[Problem]) -> float:
    if isinstance(value, str):
        problems.append((name, f"a meter plan needs a number in the meter's unit, not {value!r}"))
        return 0.0
    return float(value)


def _start(text: str | None, problems: list[Problem]) -> int | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(("start", f"not an ISO 8601 time: {text!r}"))
        return None
    if moment.tzinfo is None:
        problems.append(("start", f"give the time zone (Z or +01:00): {text!r}"))
        return None
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def plan_sections(plant: Plant) -> tuple[list[tuple[int, PlanSection]], list[ConfigProblem]]:
    """The plant file's plans as written, each with its position in
    ``maintenance.plans``, and the problems of those that are not even well typed (each
    plan read on its own, so one wrong plan hides nothing of the others)."""
    raw = plant.spec.maintenance.get("plans")
    if not isinstance(raw, list):
        return [], []  # no plans, or no list: the maintenance section reports that
    sections: list[tuple[int, PlanSection]] = []
    problems: list[ConfigProblem] = []
    for i, item in enumerate(raw):
        section, found = checked(PlanSection, item, plant, ("maintenance", "plans", i))
        problems += found
        if section is not None:
            sections.append((i, section))
    return sections, problems


def file_plans(
    sections: list[PlanSection], plant: Plant, states_of: StatesOf
) -> list[PreventivePlan]:
    """The plant file's plans; :class:`ConfigError` with file and line for each problem."""
    plans, problems = checked_plans(list(enumerate(sections)), plant, states_of)
    if problems:
        raise ConfigError(problems)
    return plans


def checked_plans(
    sections: Sequence[tuple[int, PlanSection]], plant: Plant, states_of: StatesOf
) -> tuple[list[PreventivePlan], list[ConfigProblem]]:
    """The plans that are right and the problems of the others, with file and line
    (each section with its position in ``maintenance.plans``)."""
    problems: list[ConfigProblem] = []
    plans: list[PreventivePlan] = []
    seen: set[str] = set()
    for i, section in sections:
        plan, found = build_plan(section, plant, states_of, origin="file")
        if section.id in seen:
            found.append(("id", f"another plan has the id {section.id!r}"))
        seen.add(section.id)
        for field, message in found:
            line = plant.locate(("maintenance", "plans", i, field)) or plant.locate(
                ("maintenance", "plans", i)
            )
            problems.append(
                ConfigProblem(plant.source, line, f"maintenance.plans[{i}].{field}: {message}")
            )
        if plan is not None and not found:
            plans.append(plan)
    return plans, problems
