"""Rollup tiers and retention from the plant file's ``historian`` section."""

from __future__ import annotations

from plantos.core.timeparse import parse_duration_ns
from plantos.historian.protocol import Tier
from plantos.model.schema import HistorianSpec


def tiers_from_spec(spec: HistorianSpec) -> tuple[list[Tier], int | None]:
    """The rollup tiers, finest first, and the raw retention (``None``: keep forever)."""
    tiers = sorted(
        (
            Tier(
                parse_duration_ns(r.width), parse_duration_ns(r.retention) if r.retention else None
            )
            for r in spec.rollups
        ),
        key=lambda t: t.width_ns,
    )
    raw = parse_duration_ns(spec.raw_retention) if spec.raw_retention else None
    return tiers, raw
