"""OEE up the ISA-95 hierarchy, and the loss Paretos that say where the time went.

A line's OEE is computed from the summed times and counts of its assets, never
as an average of their percentages: a slow machine that makes few parts
weighs less in performance than a fast one that makes many, as it should.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plantos.analytics.oee.compute import OeeTotals, asset_totals
from plantos.analytics.oee.records import AssetHistory, ReasonBook
from plantos.model.plant import Node, Plant


@dataclass(frozen=True, slots=True)
class OeeReport:
    """OEE of ``[start_ns, end_ns)`` per asset and per hierarchy node (line to enterprise)."""

    start_ns: int
    end_ns: int
    assets: dict[str, OeeTotals]
    nodes: dict[str, OeeTotals]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "assets": {k: v.to_dict() for k, v in self.assets.items()},
            "nodes": {k: v.to_dict() for k, v in self.nodes.items()},
        }


def plant_report(
    plant: Plant,
    histories: Mapping[str, AssetHistory],
    start_ns: int,
    end_ns: int,
    *,
    reasons: ReasonBook | None = None,
) -> OeeReport:
    """Totals of every tracked asset over the range, and their rollups."""
    if end_ns <= start_ns:
        raise ValueError(f"empty range: end {end_ns} is not after start {start_ns}")
    assets = {
        path: asset_totals(h, plant.calendar_for(path), start_ns, end_ns, reasons=reasons)
        for path, h in histories.items()
    }
    return OeeReport(start_ns, end_ns, assets, rollup(plant, assets))


def rollup(plant: Plant, per_asset: Mapping[str, OeeTotals]) -> dict[str, OeeTotals]:
    """Summed totals of every line, area, site and the enterprise, keyed by node path."""
    out: dict[str, OeeTotals] = {}

    def walk(node: Node) -> OeeTotals | None:
        if node.level == "asset":
            return per_asset.get(node.path)
        parts = [t for t in (walk(child) for child in node.children) if t is not None]
        if not parts:
            return None
        total = sum(parts[1:], parts[0])
        out[node.path] = total
        return total

    walk(plant.root)
    return out


def loss_pareto(totals: OeeTotals) -> list[tuple[str, int]]:
    """The six big losses and unknown time (ns), largest first; faster-than-ideal shows as 0."""
    items = [(k, max(v, 0)) for k, v in totals.losses.items()]
    items.append(("unknown", totals.unknown_ns))
    return sorted((i for i in items if i[1] > 0), key=lambda i: (-i[1], i[0]))


def reason_pareto(totals: OeeTotals) -> list[tuple[str, int]]:
    """Downtime (ns) per reason code, largest first; ``unassigned`` is a reason like any."""
    return sorted(totals.reasons.items(), key=lambda i: (-i[1], i[0]))
