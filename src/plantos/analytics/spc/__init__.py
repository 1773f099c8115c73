"""Statistical process control: Shewhart charts, Nelson and Western Electric rules,
capability indices and a streaming monitor that turns rule violations into events.

Limits and rules follow the qcc R package (Scrucca), checked against Montgomery's
textbook data sets; see ``docs/spc.md``.
"""

from plantos.analytics.spc.capability import Capability, capability
from plantos.analytics.spc.charts import ChartKind, Lines, Statistics, statistics_from_samples
from plantos.analytics.spc.config import SpcCharacteristicSpec
from plantos.analytics.spc.events import SpcViolation, StuckSignal
from plantos.analytics.spc.limits import (
    BaselineError,
    ControlLimits,
    FlatBaselineError,
    fit_limits,
    rolling_limits,
)
from plantos.analytics.spc.monitor import SpcMonitor
from plantos.analytics.spc.rules import RuleHits, evaluate_rules, most_serious

__all__ = [
    "BaselineError",
    "Capability",
    "ChartKind",
    "ControlLimits",
    "FlatBaselineError",
    "Lines",
    "RuleHits",
    "SpcCharacteristicSpec",
    "SpcMonitor",
    "SpcViolation",
    "Statistics",
    "StuckSignal",
    "capability",
    "evaluate_rules",
    "fit_limits",
    "most_serious",
    "rolling_limits",
    "statistics_from_samples",
]
