"""The configuration of one SPC characteristic, as a plant file would write it.

Example (YAML)::

    tag: line1/filler/fill_weight
    chart: xbar-r
    subgroup_size: 5
    rules: [1, 2, 3, 4, 5, 6, 7, 8]
    spec_limits: {lsl: 498.0, usl: 506.0, target: 502.0}
    limits:
      baseline: {from: 2026-01-05T06:00:00Z, to: 2026-01-12T06:00:00Z, frozen_by: j.doe}

or ``limits: {rolling: 50}``. Times without a zone are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plantos.analytics.spc.charts import ChartKind
from plantos.analytics.spc.constants import MAX_RANGE_SUBGROUP
from plantos.analytics.spc.rules import NELSON_ALL, WINDOWS
from plantos.core.timeparse import parse_duration_ns


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _ns(dt: datetime) -> int:
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return int(aware.timestamp()) * 1_000_000_000 + aware.microsecond * 1_000


class BaselineSpec(_Spec):
    """Limits estimated once from the period [from, to) and frozen under a name."""

    from_: datetime = Field(alias="from")
    to: datetime
    frozen_by: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> BaselineSpec:
        if self.from_ns >= self.to_ns:
            raise ValueError(f"baseline 'from' ({self.from_}) must be before 'to' ({self.to})")
        return self

    @property
    def from_ns(self) -> int:
        return _ns(self.from_)

    @property
    def to_ns(self) -> int:
        return _ns(self.to)


class LimitsSpec(_Spec):
    """Exactly one of a frozen ``baseline`` or ``rolling`` limits over the last N subgroups."""

    baseline: BaselineSpec | None = None
    rolling: int | None = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _one(self) -> LimitsSpec:
        if (self.baseline is None) == (self.rolling is None):
            raise ValueError("limits need exactly one of 'baseline' or 'rolling'")
        return self


class SpecLimits(_Spec):
    """Engineering specification: at least one of lsl and usl, optionally a target."""

    lsl: float | None = None
    usl: float | None = None
    target: float | None = None

    @model_validator(mode="after")
    def _sane(self) -> SpecLimits:
        if self.lsl is None and self.usl is None:
            raise ValueError("spec_limits need lsl, usl or both")
        if self.lsl is not None and self.usl is not None and self.lsl >= self.usl:
            raise ValueError(f"lsl ({self.lsl}) must be below usl ({self.usl})")
        return self


class SpcCharacteristicSpec(_Spec):
    """One characteristic: its tag, chart, how subgroups form, which rules judge it, its limits.

    Subgroups form by count (``subgroup_size``) or by time (``window``, e.g. ``5m``),
    never both. An I-MR chart plots single samples (size 1) or the mean of each window.
    """

    tag: str = Field(min_length=1)
    chart: ChartKind
    subgroup_size: int | None = Field(default=None, ge=1)
    window: str | None = None
    rule_set: Literal["nelson", "western-electric"] = "nelson"
    rules: frozenset[int] = NELSON_ALL
    dispersion_rules: frozenset[int] = frozenset({1})
    nsigmas: float = Field(default=3.0, gt=0)
    spec_limits: SpecLimits | None = None
    limits: LimitsSpec

    @field_validator("window")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration_ns(value) <= 0:
            raise ValueError(f"window must be longer than zero, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SpcCharacteristicSpec:
        if (self.subgroup_size is None) == (self.window is None):
            raise ValueError("give exactly one of 'subgroup_size' or 'window'")
        n = self.subgroup_size
        if self.chart is ChartKind.I_MR and n not in (None, 1):
            raise ValueError(f"an i-mr chart plots single samples: subgroup_size 1, got {n}")
        if n is not None and n < self.chart.min_subgroup:
            raise ValueError(f"{self.chart} needs subgroups of 2 or more, got {n}")
        if self.chart is ChartKind.XBAR_R and n is not None and n > MAX_RANGE_SUBGROUP:
            raise ValueError(f"xbar-r takes subgroups up to {MAX_RANGE_SUBGROUP}: use xbar-s")
        for field, chosen in (("rules", self.rules), ("dispersion_rules", self.dispersion_rules)):
            known = WINDOWS[self.rule_set].keys()
            if chosen - known:
                wrong = sorted(chosen - known)
                raise ValueError(f"{field}: {self.rule_set} rules are 1-{max(known)}, got {wrong}")
        return self

    @property
    def window_ns(self) -> int | None:
        return None if self.window is None else parse_duration_ns(self.window)
