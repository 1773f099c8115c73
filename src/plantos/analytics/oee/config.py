"""How machine states and OEE are derived from an asset's tags: the YAML shape, validated.

One :class:`AssetOeeSpec` per asset type says how to tell the machine's state
(an enum tag's names, or ordered rules over signals), which ISO 22400 category
each state belongs to, the ideal cycle time, and which tags count parts.
Single assets override fields of their type (a slower machine, another cycle
time) under ``assets``. Rule expressions are compiled while validating, so a
typo fails when the file loads, not on the first sample.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plantos.analytics.oee.expr import compile_rule
from plantos.core.timeparse import parse_duration_ns

Category = Literal[
    "producing", "setup", "unplanned_downtime", "delay", "planned_downtime", "unknown"
]
UNKNOWN = "unknown"
"""The state of an asset whose signals are missing, stale or of bad quality."""

DEFAULT_CATEGORIES: dict[str, Category] = {
    "running": "producing",
    "producing": "producing",
    "changeover": "setup",
    "setup": "setup",
    "down": "unplanned_downtime",
    "alarm": "unplanned_downtime",
    "off": "unplanned_downtime",
    "idle": "delay",
    "starved": "delay",
    "blocked": "delay",
    "planned_stop": "planned_downtime",
}


def _duration(value: str) -> str:
    parse_duration_ns(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateRule(_Strict):
    """``state`` holds while ``when`` is true; ``hold`` bridges short gaps after it was true.

    ``hold`` is for signals that pulse within a cycle (a weld arc off while the
    robot moves the part): the state stays for ``hold`` after ``when`` last held.
    """

    state: str
    when: str
    hold: str | None = None

    @field_validator("when")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compile_rule(value)
        return value

    _hold = field_validator("hold")(lambda v: v if v is None else _duration(v))


class Counters(_Strict):
    """Tags that count parts: ``good`` and ``scrap`` counters, or a ``total`` counter.

    Counters only increase, except when reset (back to zero) or when they wrap
    at ``rollover``. ``inspection`` is a bool tag with one sample per inspected
    part (1 pass, 0 fail): each fail turns one counted part into scrap.
    """

    good: str | None = None
    scrap: str | None = None
    total: str | None = None
    inspection: str | None = None
    rollover: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> Counters:
        if self.total is not None and self.good is not None:
            raise ValueError("give either 'total' or 'good' (plus 'scrap'), not both")
        if self.scrap is not None and self.good is None:
            raise ValueError("'scrap' needs 'good' beside it (or use 'total' and 'inspection')")
        return self

    def signals(self) -> list[str]:
        return [s for s in (self.good, self.scrap, self.total, self.inspection) if s]


IdealCycle = str | dict[str, dict[int, str] | str]


class AssetOeeSpec(_Strict):
    """How one kind of asset is judged; see docs/oee.md for every field."""

    from_enum: str | None = None
    rules: list[StateRule] = Field(default_factory=list)
    default_state: str = "idle"
    categories: dict[str, Category] = Field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    ideal_cycle_time: IdealCycle | None = None
    counters: Counters = Field(default_factory=Counters)
    micro_stop: str = "2m"
    startup_window: str = "10m"
    stale_after: str | None = None
    """Silence after which the state is ``unknown``: for sources that must report
    periodically. Report-by-exception sources (Sparkplug, OPC UA subscriptions, MQTT) stay
    silent while nothing changes, and a lost link arrives as a Bad quality from the
    connector's supervisor, so by default silence alone changes nothing."""

    _durations = field_validator("micro_stop", "startup_window")(_duration)

    @field_validator("stale_after")
    @classmethod
    def _stale(cls, value: str | None) -> str | None:
        return None if value is None else _duration(value)

    @field_validator("ideal_cycle_time")
    @classmethod
    def _ideal(cls, value: IdealCycle | None) -> IdealCycle | None:
        if value is None or isinstance(value, str):
            return value if value is None else _duration(value)
        by_signal = [k for k, v in value.items() if isinstance(v, dict)]
        extra = [k for k, v in value.items() if not isinstance(v, dict) and k != "otherwise"]
        if len(by_signal) != 1 or extra:
            raise ValueError(
                "ideal_cycle_time is a duration or {signal: {code: duration}, otherwise: duration}"
            )
        for v in value.values():
            for d in v.values() if isinstance(v, dict) else [v]:
                _duration(d)
        return value

    @model_validator(mode="after")
    def _states(self) -> AssetOeeSpec:
        if (self.from_enum is None) == (not self.rules):
            raise ValueError("give either 'from_enum: <enum signal>' or a list of 'rules'")
        if UNKNOWN in self.categories and self.categories[UNKNOWN] != "unknown":
            raise ValueError("state 'unknown' is reserved for missing or bad data")
        return self

    def signals(self) -> set[str]:
        """Every signal name this spec reads."""
        names = {self.from_enum} if self.from_enum else set()
        for rule in self.rules:
            names |= compile_rule(rule.when).signals
        if isinstance(self.ideal_cycle_time, dict):
            names |= {k for k, v in self.ideal_cycle_time.items() if isinstance(v, dict)}
        return names | set(self.counters.signals())


class OeeSpec(_Strict):
    """The ``oee:`` block: specs per asset type and field overrides per asset path."""

    asset_types: dict[str, AssetOeeSpec] = Field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _overrides(self) -> OeeSpec:
        for path, fields in self.assets.items():
            unknown = sorted(set(fields) - set(AssetOeeSpec.model_fields))
            if unknown:
                raise ValueError(f"asset {path!r}: unknown fields {unknown}")
        return self

    def for_asset(self, path: str, asset_type: str | None) -> AssetOeeSpec | None:
        """The spec of one asset: its type's, with the asset's own overrides applied."""
        base = self.asset_types.get(asset_type) if asset_type else None
        override = self.assets.get(path)
        if base is None:
            return AssetOeeSpec.model_validate(override) if override else None
        if not override:
            return base
        return AssetOeeSpec.model_validate({**base.model_dump(exclude_unset=True), **override})
