"""The ``mom`` section of ``plantos.yaml``: where the operations database and the master
data live.

```yaml
mom:
  database: postgresql://plantos@db.example/plantos   # default: sqlite:///mom.sqlite
  master_data: mom.yaml       # next to the plant file (the default when it exists)
  counting: machine           # default counting source: machine, operator or both
  frozen_horizon: 30m         # planned operations starting this soon never move
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from plantos.core.errors import ConfigError
from plantos.core.timeparse import parse_duration_ns
from plantos.model.loader import validation_problems
from plantos.model.plant import Plant

DEFAULT_MASTER_DATA = "mom.yaml"


class MomSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database: str | None = None
    master_data: str | None = None
    counting: Literal["machine", "operator", "both"] = "machine"
    frozen_horizon: str = "30m"

    @field_validator("database")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("sqlite:///", "postgresql://", "postgres://")
        ):
            raise ValueError(f"use sqlite:///FILE or postgresql://..., not {value!r}")
        return value

    @field_validator("frozen_horizon")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration_ns(value)
        return value


@dataclass(frozen=True, slots=True)
class MomConfig:
    database: str | None
    master_data: Path | None
    """The master data file; ``None`` when neither configured nor present by default."""
    counting: str
    frozen_horizon_ns: int


def mom_config(plant: Plant) -> MomConfig:
    """The plant's operations settings; :class:`ConfigError` with file:line when wrong."""
    try:
        section = MomSection.model_validate(plant.spec.mom)
    except ValidationError as exc:
        raise ConfigError(
            validation_problems(exc, lambda loc: plant.locate(loc), plant.source, ("mom",))
        ) from None
    folder = Path(plant.source).parent
    if section.master_data is not None:
        master: Path | None = folder / section.master_data
    else:
        default = folder / DEFAULT_MASTER_DATA
        master = default if default.is_file() else None
    return MomConfig(
        database=section.database,
        master_data=master,
        counting=section.counting,
        frozen_horizon_ns=parse_duration_ns(section.frozen_horizon),
    )
