"""The ``maintenance`` section of ``plantos.yaml``: how the maintenance loop decides.

```yaml
maintenance:
  auto_approve: 2          # block windows of priority 1-2 without waiting; false: never
  window: 2h               # how long a predictive job takes the machine
  notice: 30m              # a window starts no sooner than this after the anomaly
  margin: 1h               # and ends at least this long before the estimated failure
  horizon: 24h             # how far ahead affected orders are looked for
  repeat_within: 30d       # a closed job this recent for the same problem: a repeat
  asset_classes: {cnc-mill: rotating}          # asset type -> equipment class
  catalogue:                                   # extra classes or failure modes
    spindle: {modes: {VIB: vibration, BRD: breakdown}, anomaly_mode: VIB}
  plans: [...]             # preventive plans (see plan_config)
  plans_every: 15m         # how often due plans are looked for
```
Every field has a default; a wrong one is a :class:`ConfigError` with file and line.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from plantos.core.errors import ConfigError, ConfigProblem
from plantos.core.timeparse import parse_duration_ns
from plantos.model.plant import Plant
from plantos.mom.maintenance.catalogue import DEFAULT_CATALOGUE, Catalogue, EquipmentClass
from plantos.mom.maintenance.plan_config import PlanSection, plan_sections
from plantos.mom.sections import checked


class _ClassSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modes: dict[str, str] = Field(default_factory=dict)
    anomaly_mode: str | None = None
    anomaly_mechanism: str = "2.4"
    anomaly_cause: str = "3.4"


class MaintenanceSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_approve: bool | int = 2
    window: str = "2h"
    notice: str = "30m"
    margin: str = "1h"
    horizon: str = "24h"
    repeat_within: str = "30d"
    asset_classes: dict[str, str] = Field(default_factory=dict)
    catalogue: dict[str, _ClassSection] = Field(default_factory=dict)
    plans: list[PlanSection] = Field(default_factory=list)
    plans_every: str = "15m"

    @field_validator("window", "notice", "margin", "horizon", "repeat_within", "plans_every")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration_ns(value) <= 0:
            raise ValueError(f"a duration longer than zero is needed, not {value!r}")
        return value

    @field_validator("auto_approve")
    @classmethod
    def _priority(cls, value: bool | int) -> bool | int:
        if not isinstance(value, bool) and value not in (1, 2, 3, 4):
            raise ValueError(f"true, false or a priority 1-4, not {value!r}")
        return value


@dataclass(frozen=True, slots=True)
class MaintenancePolicy:
    auto_approve_up_to: int
    """Windows of work orders with a priority number at most this are blocked at once
    (0: never; a planner approves them)."""
    window_ns: int
    notice_ns: int
    margin_ns: int
    horizon_ns: int
    repeat_within_ns: int
    catalogue: Catalogue
    plans: tuple[PlanSection, ...] = ()
    """The preventive plans as written (checked against the plant by
    :func:`~plantos.mom.maintenance.plan_config.file_plans`)."""
    plans_every_ns: int = 15 * 60 * 1_000_000_000
    """How often (plant time) due plans are looked for."""


def maintenance_policy(plant: Plant) -> MaintenancePolicy:
    """The plant's maintenance policy; :class:`ConfigError` with file:line when wrong."""
    policy, problems = read_maintenance(plant)
    if policy is None or problems:
        raise ConfigError(problems)
    return policy


def read_maintenance(plant: Plant) -> tuple[MaintenancePolicy | None, list[ConfigProblem]]:
    """The policy and every problem of the section at once (``plantos check`` reports them
    all): with problems, the policy holds what was well formed; None when not even that
    could be read. The plans' own checks (assets, meters) are
    :func:`~plantos.mom.maintenance.plan_config.checked_plans`'."""
    raw = plant.spec.maintenance
    plans = raw.get("plans")
    if isinstance(plans, list):  # read plan by plan, so one wrong plan hides no other
        raw = {key: value for key, value in raw.items() if key != "plans"}
    section, problems = checked(MaintenanceSection, raw, plant, ("maintenance",))
    if section is None:
        return None, problems
    sections, found = plan_sections(plant)
    problems += found
    catalogue, found = _catalogue(section, plant)
    auto = section.auto_approve
    return MaintenancePolicy(
        auto_approve_up_to=(4 if auto else 0) if isinstance(auto, bool) else auto,
        window_ns=parse_duration_ns(section.window),
        notice_ns=parse_duration_ns(section.notice),
        margin_ns=parse_duration_ns(section.margin),
        horizon_ns=parse_duration_ns(section.horizon),
        repeat_within_ns=parse_duration_ns(section.repeat_within),
        catalogue=catalogue,
        plans=tuple(s for _, s in sections),
        plans_every_ns=parse_duration_ns(section.plans_every),
    ), problems + found


def _catalogue(section: MaintenanceSection, plant: Plant) -> tuple[Catalogue, list[ConfigProblem]]:
    """The catalogue with the section's classes, and what is wrong in them: an anomaly
    code the catalogue lacks, a class or asset type that does not exist."""
    problems: list[ConfigProblem] = []

    def problem(loc: tuple[str, ...], message: str) -> None:
        line = plant.locate(("maintenance", *loc))
        problems.append(
            ConfigProblem(plant.source, line, f"maintenance.{'.'.join(loc)}: {message}")
        )

    classes = dict(DEFAULT_CATALOGUE.classes)
    for name, extra in section.catalogue.items():
        base = classes.get(name)
        modes = {**(base.modes if base else {}), **extra.modes}
        mode = extra.anomaly_mode or (base.anomaly_mode if base else None)
        wrong = False
        if mode is None or mode not in modes:
            problem(("catalogue", name), f"anomaly_mode {mode!r} must be one of {sorted(modes)}")
            wrong = True
        for field, code, known in (
            ("anomaly_mechanism", extra.anomaly_mechanism, DEFAULT_CATALOGUE.mechanisms),
            ("anomaly_cause", extra.anomaly_cause, DEFAULT_CATALOGUE.causes),
        ):
            if code not in known:
                problem(
                    ("catalogue", name, field),
                    f"unknown ISO 14224 code {code!r}: one of {', '.join(sorted(known))}",
                )
                wrong = True
        if wrong or mode is None:
            continue
        classes[name] = EquipmentClass(
            name, modes, mode, extra.anomaly_mechanism, extra.anomaly_cause
        )
    types = plant.spec.asset_types
    for asset_type, name in section.asset_classes.items():
        if name not in classes and name not in section.catalogue:
            problem(("asset_classes", asset_type), f"unknown class {name!r} ({sorted(classes)})")
        if asset_type not in types:
            problem(("asset_classes", asset_type), f"no asset type {asset_type!r} in the plant")
    return Catalogue(classes, {**DEFAULT_CATALOGUE.asset_types, **section.asset_classes}), problems
