"""Machine state and OEE (ISO 22400) from tag samples, live and recomputed from history.

Wiring: build an :class:`OeeSpec` (from YAML with ``OeeSpec.model_validate`` or
:func:`default_oee_config`), feed every sample batch to :class:`LiveOee`,
publish the :class:`~plantos.core.events.MachineStateChanged` events it returns
and :meth:`LiveOee.updates` as :class:`OeeUpdated`; answer past ranges with
:func:`historical_report`. docs/oee.md explains the figures.
"""

from plantos.analytics.oee.compute import LOSSES, OeeTotals, asset_totals
from plantos.analytics.oee.config import AssetOeeSpec, Counters, OeeSpec, StateRule
from plantos.analytics.oee.defaults import default_oee_config
from plantos.analytics.oee.events import OeeUpdated
from plantos.analytics.oee.expr import ExpressionError, compile_rule
from plantos.analytics.oee.historical import historical_report
from plantos.analytics.oee.live import LiveOee
from plantos.analytics.oee.periods import Period, current_shift, day_periods, shift_periods
from plantos.analytics.oee.records import MAX_REASON_CHARS, UNASSIGNED, Reason, ReasonBook
from plantos.analytics.oee.rollup import (
    OeeReport,
    loss_pareto,
    plant_report,
    reason_pareto,
    rollup,
)
from plantos.analytics.oee.state import StateTracker
from plantos.analytics.oee.tracking import PlantTracker

__all__ = [
    "LOSSES",
    "MAX_REASON_CHARS",
    "UNASSIGNED",
    "AssetOeeSpec",
    "Counters",
    "ExpressionError",
    "LiveOee",
    "OeeReport",
    "OeeSpec",
    "OeeTotals",
    "OeeUpdated",
    "Period",
    "PlantTracker",
    "Reason",
    "ReasonBook",
    "StateRule",
    "StateTracker",
    "asset_totals",
    "compile_rule",
    "current_shift",
    "day_periods",
    "default_oee_config",
    "historical_report",
    "loss_pareto",
    "plant_report",
    "reason_pareto",
    "rollup",
    "shift_periods",
]
