"""The B2MML versions PlantOS writes and reads, their namespaces, and which schema file
defines each message kind (so a validator can find the XSD in a schema folder)."""

from __future__ import annotations

from enum import Enum


class Version(Enum):
    """A B2MML release; the value is how configuration names it."""

    V0600 = "V0600"
    V0701 = "V0701"

    @property
    def namespace(self) -> str:
        return _NAMESPACES[self]

    @property
    def folder(self) -> str:
        """The folder name MESA's releases use for this version's XSDs."""
        return self.value.lower()

    @classmethod
    def parse(cls, text: str) -> Version:
        """``V0600``/``v0600``/``0600`` and the same for 0701; anything else is a ValueError."""
        cleaned = text.strip().upper().removeprefix("V")
        for version in cls:
            if version.value[1:] == cleaned:
                return version
        raise ValueError(f"unknown B2MML version {text!r}; PlantOS speaks V0600 and V0701")


class MessageKind(Enum):
    """What a document carries, independent of the version's element names."""

    PERFORMANCE = "performance"
    SCHEDULE = "schedule"
    MAINTENANCE_SCHEDULE = "maintenance_schedule"
    MAINTENANCE_PERFORMANCE = "maintenance_performance"
    EQUIPMENT = "equipment"


_NAMESPACES = {
    Version.V0600: "http://www.mesa.org/xml/B2MML-V0600",
    Version.V0701: "http://www.mesa.org/xml/B2MML",
}

SCHEMA_FILES: dict[tuple[Version, MessageKind], str] = {
    (Version.V0600, MessageKind.PERFORMANCE): "B2MML-V0600-ProductionPerformance.xsd",
    (Version.V0600, MessageKind.SCHEDULE): "B2MML-V0600-ProductionSchedule.xsd",
    (Version.V0600, MessageKind.MAINTENANCE_SCHEDULE): "B2MML-V0600-OperationsSchedule.xsd",
    (Version.V0600, MessageKind.MAINTENANCE_PERFORMANCE): "B2MML-V0600-OperationsPerformance.xsd",
    (Version.V0600, MessageKind.EQUIPMENT): "B2MML-V0600-Equipment.xsd",
    (Version.V0701, MessageKind.PERFORMANCE): "B2MML-OperationsPerformance.xsd",
    (Version.V0701, MessageKind.SCHEDULE): "B2MML-OperationsSchedule.xsd",
    (Version.V0701, MessageKind.MAINTENANCE_SCHEDULE): "B2MML-OperationsSchedule.xsd",
    (Version.V0701, MessageKind.MAINTENANCE_PERFORMANCE): "B2MML-OperationsPerformance.xsd",
    (Version.V0701, MessageKind.EQUIPMENT): "B2MML-Equipment.xsd",
}

RELEASE_ID = {Version.V0600: "6.0", Version.V0701: "7.01"}
