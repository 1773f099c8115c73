"""The headless report's quality keys: the nonconformances the quality loop opened, the
lots it kept, and each reaction's latency (docs/headless-report.md)."""

from __future__ import annotations

from typing import Any

from plantos.app import Platform
from plantos.core.timeparse import iso
from plantos.mom.domain.lot import Lot
from plantos.mom.quality.nonconformance import Nonconformance


def quality_report(platform: Platform) -> dict[str, Any]:
    found = sorted(
        platform.quality.service.list(limit=100_000), key=lambda nc: (nc.opened_ns, nc.id)
    )
    lots = sorted(platform.quality.service.lots(limit=100_000), key=lambda x: (x.opened_ns, x.id))
    return {
        "nonconformances": [_nonconformance(nc) for nc in found],
        "lots": [_lot(lot) for lot in lots],
        "quality_reactions": [
            {
                "characteristic": r.characteristic,
                "trigger": r.trigger,
                "at": iso(r.at_ns),
                "nonconformance": r.nonconformance,
                "opened": r.opened,
                "stored_ms": round(r.stored_ms, 2),
            }
            for r in platform.quality.loop.reactions
        ],
    }


def _nonconformance(nc: Nonconformance) -> dict[str, Any]:
    return {
        "id": nc.id,
        "asset": nc.asset,
        "characteristic": nc.characteristic,
        "trigger": nc.trigger,
        "order": nc.order,
        "state": nc.state,
        "held": nc.held,
        "hold_target": nc.hold_target,
        "lot": nc.lot,
        "quantity": nc.quantity,
        "occurrences": nc.occurrences,
        "opened": iso(nc.opened_ns),
        "disposition": nc.disposition,
    }


def _lot(lot: Lot) -> dict[str, Any]:
    return {
        "id": lot.id,
        "order": lot.order,
        "asset": lot.asset,
        "state": lot.state,
        "good": lot.good,
        "scrap": lot.scrap,
        "opened": iso(lot.opened_ns),
        "closed": iso(lot.closed_ns) if lot.closed_ns is not None else None,
    }
