"""The failure catalogue after ISO 14224: failure modes per equipment class, and the
failure mechanisms and causes shared by all classes.

A work order names what went wrong in these codes, so reliability figures group the
same problem under the same name across assets and years. PlantOS ships defaults for
rotating equipment, furnaces and welding; the plant file adds classes or codes and maps
asset types to classes (see docs/maintenance.md).

>>> DEFAULT_CATALOGUE.check("rotating", mode="VIB", mechanism="2.4", cause="3.4")
>>> DEFAULT_CATALOGUE.classes["rotating"].anomaly_mode
'VIB'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantos.mom.maintenance.errors import UnknownFailureCodeError

MECHANISMS: dict[str, str] = {
    "1.0": "mechanical failure - general", "1.1": "leakage", "1.2": "vibration",
    "1.3": "clearance / alignment failure", "1.4": "deformation", "1.5": "looseness",
    "1.6": "sticking", "2.0": "material failure - general", "2.1": "cavitation",
    "2.2": "corrosion", "2.3": "erosion", "2.4": "wear", "2.5": "breakage",
    "2.6": "fatigue", "2.7": "overheating", "2.8": "burst",
    "3.0": "instrument failure - general", "3.1": "control failure", "3.2": "no signal",
    "3.3": "faulty signal", "3.4": "out of adjustment", "4.0": "electrical failure - general",
    "4.1": "short circuiting", "4.2": "open circuit", "4.3": "no power / voltage",
    "4.4": "faulty power / voltage", "4.5": "earth / isolation fault",
    "5.0": "external influence - general", "5.1": "blockage / plugged", "5.2": "contamination",
    "6.0": "miscellaneous - general", "6.1": "no cause found", "6.4": "unknown",
}  # fmt: skip
"""ISO 14224 table B.2, failure mechanisms."""

CAUSES: dict[str, str] = {
    "1.0": "design-related causes", "1.1": "improper capacity", "1.2": "improper material",
    "2.0": "fabrication / installation-related causes", "2.1": "fabrication error",
    "2.2": "installation error", "3.0": "failure related to operation / maintenance",
    "3.1": "off-design service", "3.2": "operating error", "3.3": "maintenance error",
    "3.4": "expected wear and tear", "4.0": "failure related to management",
    "4.1": "documentation error", "4.2": "management error", "5.0": "miscellaneous",
    "5.1": "no cause found", "5.3": "other", "5.4": "unknown",
}  # fmt: skip
"""ISO 14224 table B.3, failure causes."""


@dataclass(frozen=True)
class EquipmentClass:
    """One class of equipment: its failure modes (code to name) and the mode, mechanism
    and cause a condition-monitoring anomaly on it stands for until someone looks."""

    name: str
    modes: Mapping[str, str]
    anomaly_mode: str
    anomaly_mechanism: str = "2.4"
    anomaly_cause: str = "3.4"

    def __post_init__(self) -> None:
        if self.anomaly_mode not in self.modes:
            raise ValueError(
                f"class {self.name}: anomaly_mode {self.anomaly_mode!r} is not one of its modes"
            )


@dataclass(frozen=True)
class Catalogue:
    """Equipment classes and which asset type belongs to which."""

    classes: Mapping[str, EquipmentClass]
    asset_types: Mapping[str, str] = field(default_factory=dict)
    mechanisms: Mapping[str, str] = field(default_factory=lambda: dict(MECHANISMS))
    causes: Mapping[str, str] = field(default_factory=lambda: dict(CAUSES))

    def class_of(self, asset_type: str | None) -> EquipmentClass | None:
        """The class of an asset type, ``None`` for a type the catalogue does not map."""
        name = self.asset_types.get(asset_type or "")
        return self.classes.get(name) if name else None

    def check(
        self, class_name: str, *, mode: str | None, mechanism: str | None, cause: str | None
    ) -> None:
        """:class:`UnknownFailureCodeError` for a code the catalogue lacks (None is fine)."""
        cls = self.classes.get(class_name)
        if cls is None:
            raise UnknownFailureCodeError(
                f"unknown equipment class {class_name!r} (known: {', '.join(self.classes)})"
            )
        for label, code, known in (
            ("failure mode", mode, cls.modes),
            ("failure mechanism", mechanism, self.mechanisms),
            ("failure cause", cause, self.causes),
        ):
            if code is not None and code not in known:
                raise UnknownFailureCodeError(
                    f"{label} {code!r} is not in the catalogue for {class_name} "
                    f"(known: {', '.join(sorted(known))})"
                )


_COMMON = {"BRD": "breakdown", "AIR": "abnormal instrument reading", "OTH": "other"}

DEFAULT_CATALOGUE = Catalogue(
    classes={
        "rotating": EquipmentClass(
            "rotating",
            {
                **_COMMON,
                "VIB": "vibration",
                "NOI": "noise",
                "OHE": "overheating",
                "ELP": "external leakage - process medium",
                "STD": "structural deficiency",
                "FTS": "fail to start on demand",
                "PDE": "parameter deviation",
            },
            anomaly_mode="VIB",
            anomaly_mechanism="2.4",
            anomaly_cause="3.4",
        ),
        "furnace": EquipmentClass(
            "furnace",
            {
                **_COMMON,
                "PDE": "parameter deviation",
                "OHE": "overheating",
                "HIO": "high output",
                "LOO": "low output",
                "ELU": "external leakage - utility",
            },
            anomaly_mode="PDE",
            anomaly_mechanism="3.4",
            anomaly_cause="3.4",
        ),
        "welding": EquipmentClass(
            "welding",
            {
                **_COMMON,
                "PDE": "parameter deviation",
                "ERO": "erratic output",
                "LOO": "low output",
                "OHE": "overheating",
            },
            anomaly_mode="ERO",
            anomaly_mechanism="2.4",
            anomaly_cause="3.4",
        ),
    },
    asset_types={
        "cnc-mill": "rotating",
        "heat-treat-furnace": "furnace",
        "weld-cell": "welding",
    },
)
