"""Alarms after ISA-18.2: states, operator actions with audit, shelving, suppression by
design and a flood guard."""

from plantos.analytics.alarms.events import AlarmFlood, AlarmRaised, AlarmStateChanged
from plantos.analytics.alarms.manager import AlarmDefinition, AlarmManager
from plantos.analytics.alarms.model import AlarmError, AlarmState, AlarmStatus, Priority

__all__ = [
    "AlarmDefinition",
    "AlarmError",
    "AlarmFlood",
    "AlarmManager",
    "AlarmRaised",
    "AlarmState",
    "AlarmStateChanged",
    "AlarmStatus",
    "Priority",
]
