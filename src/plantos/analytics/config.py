"""The ``analytics`` section of ``plantos.yaml``: which judgements run on which tags.

```yaml
analytics:
  oee:                      # machine states and OEE (docs/oee.md); omitted: derived from
    asset_types: {...}      # the asset types' tags and simulator settings
  spc:                      # SPC characteristics (docs/spc.md)
    - {tag: plant-a/heat-treat/furnace-line/furnace-1/zone_2_temperature,
       chart: i-mr, window: 5m, limits: {rolling: 48}}
  spindles:                 # vibration anomaly detection (docs/anomaly-detection.md)
    - {asset_type: cnc-mill, waveform: spindle_vibration_waveform,
       speed: spindle_speed, velocity_rms: spindle_vibration,
       velocity_zones_mm_s: {a_b: 1.4, b_c: 2.8, c_d: 4.5}}   # optional, ISO 10816-3
```

The plant model keeps the section as plain data (the model layer knows nothing of
analytics); this module gives it its shape, with file and line for every problem.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plantos.analytics.anomaly.zones import GROUP2_RIGID, VelocityZones
from plantos.analytics.oee import OeeSpec, default_oee_config
from plantos.analytics.oee.reason_tree import validate_tree
from plantos.analytics.spc import SpcCharacteristicSpec
from plantos.core.errors import ConfigError, ConfigProblem
from plantos.model.loader import validation_problems
from plantos.model.plant import Plant


class VelocityZoneSpec(BaseModel):
    """The velocity RMS boundaries (mm/s) between ISO 10816-3 zones A/B, B/C and C/D that
    grade a spindle's anomaly; omitted: group 2, rigid foundation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    a_b: float = Field(GROUP2_RIGID.a_b, gt=0)
    b_c: float = Field(GROUP2_RIGID.b_c, gt=0)
    c_d: float = Field(GROUP2_RIGID.c_d, gt=0)

    @model_validator(mode="after")
    def _increasing(self) -> VelocityZoneSpec:
        self.zones()  # refuses boundaries that do not increase
        return self

    def zones(self) -> VelocityZones:
        return VelocityZones(self.a_b, self.b_c, self.c_d)


class SpindleWatchSpec(BaseModel):
    """Spindles to watch for bearing wear: every asset of ``asset_type``, by its signals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_type: str
    waveform: str
    """Raw acceleration snapshots (a tag with a ``waveform`` block)."""
    speed: str
    velocity_rms: str
    velocity_zones_mm_s: VelocityZoneSpec = Field(default_factory=VelocityZoneSpec)
    """How severe an anomaly is, by the zone of the velocity RMS."""


class AnalyticsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    oee: OeeSpec | None = None
    spc: list[SpcCharacteristicSpec] = Field(default_factory=list)
    spindles: list[SpindleWatchSpec] = Field(default_factory=list)
    stop_reasons: dict[str, list[str]] | None = None
    """The reasons operators choose for a stop, by group (docs/oee.md); None: the default."""

    @field_validator("stop_reasons")
    @classmethod
    def _reasons(cls, tree: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        return None if tree is None else validate_tree(tree)


def analytics_spec(plant: Plant) -> tuple[AnalyticsSpec, OeeSpec]:
    """The validated section and the OEE configuration to run (the section's, else one
    derived from the asset types); :class:`ConfigError` names every problem with its line."""
    raw: dict[str, Any] = plant.spec.analytics
    try:
        spec = AnalyticsSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            validation_problems(exc, plant.locate, plant.source, ("analytics",))
        ) from None
    problems: list[ConfigProblem] = []
    for i, characteristic in enumerate(spec.spc):
        if characteristic.tag not in plant.tags:
            problems.append(
                ConfigProblem(
                    plant.source,
                    plant.locate(("analytics", "spc", i, "tag")),
                    f"analytics.spc[{i}]: unknown tag {characteristic.tag!r}",
                )
            )
    for i, watch in enumerate(spec.spindles):
        where = ("analytics", "spindles", i)
        asset_type = plant.spec.asset_types.get(watch.asset_type)
        if asset_type is None:
            problems.append(
                ConfigProblem(
                    plant.source,
                    plant.locate((*where, "asset_type")),
                    f"analytics.spindles[{i}]: unknown asset type {watch.asset_type!r}",
                )
            )
            continue
        signals = {t.signal: t for t in asset_type.tags}
        for key in ("waveform", "speed", "velocity_rms"):
            signal = getattr(watch, key)
            if signal not in signals:
                problems.append(
                    ConfigProblem(
                        plant.source,
                        plant.locate((*where, key)),
                        f"analytics.spindles[{i}].{key}: asset type {watch.asset_type!r} "
                        f"has no signal {signal!r}",
                    )
                )
            elif key == "waveform" and signals[signal].waveform is None:
                problems.append(
                    ConfigProblem(
                        plant.source,
                        plant.locate((*where, key)),
                        f"analytics.spindles[{i}].waveform: {signal!r} has no waveform block",
                    )
                )
    if problems:
        raise ConfigError(problems)
    return spec, spec.oee or default_oee_config(plant)
