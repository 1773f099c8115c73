"""The shift report and the daily production report: what a site made in a range, per
order, per asset and per shift, with totals.

Built from the existing computations only: OEE from the historian's raw samples replayed
through the live trackers (:mod:`plantos.analytics.oee`), once for the whole range and
then summed per shift as :func:`~plantos.analytics.oee.plant_report` does for any range;
order quantities from the ERP confirmations (:mod:`.orders`); downtime by the reasons
operators gave. A report is a plain mapping, rendered as JSON, CSV or XLSX by
:mod:`.render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plantos.analytics.oee import OeeSpec, OeeTotals, PlantTracker, ReasonBook, plant_report
from plantos.analytics.oee.periods import shift_periods
from plantos.analytics.oee.replay import replay
from plantos.core.timeparse import iso
from plantos.core.timeunits import NS_PER_S as NS
from plantos.historian.protocol import Historian
from plantos.model.plant import Plant
from plantos.mom.service import MomService
from plantos.reports.orders import OrderLine, order_lines, read_progress
from plantos.reports.periods import ReportRange


@dataclass(frozen=True, slots=True)
class ReportSources:
    """Where a report's figures come from: the platform's, or a data directory's."""

    plant: Plant
    historian: Historian
    oee_config: OeeSpec
    reasons: ReasonBook | None
    mom: MomService


def build_report(sources: ReportSources, rng: ReportRange, *, now_ns: int) -> dict[str, Any]:
    """The report of ``rng``; blocking (historian and database reads): run it off the loop."""
    plant, site = sources.plant, rng.site
    assets = frozenset(p for p in plant.assets if p.startswith(f"{site.path}/"))
    tracker = PlantTracker(plant, sources.oee_config, sources.historian.tag_ids())
    replay(sources.historian, tracker, rng.start_ns, rng.end_ns)
    histories = {p: t.history(rng.end_ns) for p, t in tracker.trackers.items() if p in assets}
    rows = read_progress(sources.mom.engine)
    orders = {o.id: o for o in sources.mom.orders()}
    _, routings = sources.mom.master()

    def period(start_ns: int, end_ns: int) -> tuple[dict[str, OeeTotals], list[OrderLine]]:
        oee = plant_report(plant, histories, start_ns, end_ns, reasons=sources.reasons)
        lines = order_lines(rows, orders, routings, assets, start_ns, end_ns, now_ns=now_ns)
        return oee.assets, lines

    per_asset, lines = period(rng.start_ns, rng.end_ns)
    shifts = []
    if rng.calendar is not None:
        for shift in shift_periods(rng.calendar, rng.start_ns, rng.end_ns):
            shift_assets, shift_lines = period(shift.start_ns, shift.end_ns)
            shifts.append({
                "shift": shift.name.split(" ", 1)[1], "date": shift.name.split(" ", 1)[0],
                **_span(rng, shift.start_ns, shift.end_ns), **_made(shift_lines),
                "oee": _figures(_sum(shift_assets)),
                "orders": [line.to_dict() for line in shift_lines],
            })  # fmt: skip
    return {
        "report": rng.kind, "site": site.path, "site_name": site.name, "period": rng.name,
        **_span(rng, rng.start_ns, rng.end_ns), "timezone": rng.timezone,
        "complete": rng.complete, "generated": iso(now_ns),
        "totals": {**_made(lines), "oee": _figures(_sum(per_asset))},
        "orders": [line.to_dict() for line in lines],
        "assets": [_asset(plant, a, per_asset.get(a), lines) for a in sorted(assets)],
        "shifts": shifts,
    }  # fmt: skip


def _span(rng: ReportRange, start_ns: int, end_ns: int) -> dict[str, str]:
    tz = rng.calendar.tz if rng.calendar is not None else UTC

    def local(ts_ns: int) -> str:
        return datetime.fromtimestamp(ts_ns / NS, tz=UTC).astimezone(tz).isoformat()

    return {"from": iso(start_ns), "to": iso(end_ns),
            "from_local": local(start_ns), "to_local": local(end_ns)}  # fmt: skip


def _made(lines: list[OrderLine]) -> dict[str, Any]:
    """Confirmed good and scrap of the orders, their yield and their run time."""
    good, scrap = sum(x.good for x in lines), sum(x.scrap for x in lines)
    return {
        "good": good, "scrap": scrap, "yield": good / (good + scrap) if good + scrap else None,
        "runtime_s": sum(x.runtime_s for x in lines),
    }  # fmt: skip


def _sum(per_asset: dict[str, OeeTotals]) -> OeeTotals | None:
    """The site's OEE: times and counts summed, never percentages averaged."""
    parts = list(per_asset.values())
    return sum(parts[1:], parts[0]) if parts else None


def _figures(totals: OeeTotals | None) -> dict[str, Any] | None:
    """What the OEE analytics know of an asset or group, in seconds and ratios."""
    if totals is None:
        return None
    reasons = dict(sorted(totals.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return {
        "good": totals.good, "scrap": totals.total - totals.good,
        "runtime_s": totals.run_ns / NS, "planned_s": totals.planned_ns / NS,
        "downtime_s": sum(reasons.values()) / NS,
        "downtime_by_reason_s": {k: v / NS for k, v in reasons.items()},
        "availability": totals.availability, "performance": totals.performance,
        "quality": totals.quality, "oee": totals.oee,
    }  # fmt: skip


def _asset(
    plant: Plant, path: str, totals: OeeTotals | None, lines: list[OrderLine]
) -> dict[str, Any]:
    """An asset's line: the OEE analytics' figures where they know it, else none (nothing
    measured them), and the orders that ran on it either way."""
    figures = _figures(totals)
    orders = sorted(x.order for x in lines if path in x.assets)
    if figures is None:
        figures = {
            "good": None, "scrap": None, "runtime_s": None, "planned_s": None,
            "downtime_s": None, "downtime_by_reason_s": {}, "availability": None,
            "performance": None, "quality": None, "oee": None,
        }  # fmt: skip
    return {"asset": path, "name": plant.assets[path].name, "oee_known": totals is not None,
            **figures, "orders": orders}  # fmt: skip
