"""An :class:`AssetOeeSpec` resolved against one asset's tags, ready for numpy.

Binding checks that every signal a spec names is a tag of the asset (with the
asset's path in the message), numbers the states (0 is always ``unknown``),
compiles the rules and turns durations into nanoseconds, once per asset and
not per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.oee.config import UNKNOWN, AssetOeeSpec, Category
from plantos.analytics.oee.expr import Rule, compile_rule
from plantos.core.timeparse import parse_duration_ns
from plantos.model.plant import AssetDef

CATEGORIES: tuple[Category, ...] = (
    "unknown",
    "producing",
    "setup",
    "unplanned_downtime",
    "delay",
    "planned_downtime",
)


NEVER_STALE = 2**62
"""Silence never makes the state unknown (it still fits in int64 beside any timestamp)."""


class BindingError(ValueError):
    """A spec names a signal the asset lacks, or a state without an ISO 22400 category."""


@dataclass(frozen=True, slots=True)
class BoundRule:
    state: int
    rule: Rule
    hold_ns: int | None


@dataclass(frozen=True, slots=True)
class IdealCycle:
    """Ideal cycle in ns: ``fixed_ns``, or looked up by the value of ``signal`` (-1: unknown)."""

    fixed_ns: int
    signal: str | None = None
    codes: npt.NDArray[np.float64] | None = None
    by_code_ns: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True, slots=True)
class BoundSpec:
    asset: str
    states: tuple[str, ...]
    category: npt.NDArray[np.int8]
    """ISO category (index into :data:`CATEGORIES`) of each state."""
    signals: tuple[str, ...]
    """Signals read for the state, in slot order; counters and programs follow them."""
    enum_codes: npt.NDArray[np.float64] | None
    enum_states: npt.NDArray[np.int16] | None
    rules: tuple[BoundRule, ...]
    default_state: int
    good: str | None
    scrap: str | None
    total: str | None
    inspection: str | None
    rollover: int | None
    ideal: IdealCycle
    micro_stop_ns: int
    startup_ns: int
    stale_ns: int
    """:data:`NEVER_STALE` unless the configuration asks for a limit on silence."""


def bind(spec: AssetOeeSpec, asset: AssetDef) -> BoundSpec:
    """Resolve ``spec`` for ``asset``; raise :class:`BindingError` naming what is missing."""
    tags = {t.signal: t for t in asset.tags}
    missing = sorted(spec.signals() - set(tags))
    if missing:
        raise BindingError(
            f"asset {asset.path!r}: OEE config reads {missing}, which are not its tags "
            f"(tags: {', '.join(sorted(tags))})"
        )
    states: list[str] = [UNKNOWN]
    enum_codes = enum_states = None
    if spec.from_enum is not None:
        names = tags[spec.from_enum].states or {}
        codes = sorted(names)
        states += [n for n in dict.fromkeys(names[c] for c in codes) if n != UNKNOWN]
        enum_codes = np.array(codes, dtype=np.float64)
        enum_states = np.array([states.index(names[c]) for c in codes], dtype=np.int16)
    for name in [r.state for r in spec.rules] + [spec.default_state]:
        if name not in states:
            states.append(name)
    uncategorised = [s for s in states[1:] if s not in spec.categories]
    if uncategorised:
        raise BindingError(
            f"asset {asset.path!r}: states {uncategorised} have no category; add them "
            f"under 'categories' (one of {', '.join(CATEGORIES[1:])})"
        )
    category = np.array(
        [CATEGORIES.index(spec.categories.get(s, "unknown")) for s in states], dtype=np.int8
    )
    rules = tuple(
        BoundRule(
            states.index(r.state),
            compile_rule(r.when),
            parse_duration_ns(r.hold) if r.hold else None,
        )
        for r in spec.rules
    )
    read = [spec.from_enum] if spec.from_enum else []
    for r in rules:
        read += sorted(r.rule.signals - set(read))
    c = spec.counters
    return BoundSpec(
        asset=asset.path,
        states=tuple(states),
        category=category,
        signals=tuple(read),
        enum_codes=enum_codes,
        enum_states=enum_states,
        rules=rules,
        default_state=states.index(spec.default_state),
        good=c.good,
        scrap=c.scrap,
        total=c.total,
        inspection=c.inspection,
        rollover=c.rollover,
        ideal=_ideal(spec),
        micro_stop_ns=parse_duration_ns(spec.micro_stop),
        startup_ns=parse_duration_ns(spec.startup_window),
        stale_ns=NEVER_STALE if spec.stale_after is None else parse_duration_ns(spec.stale_after),
    )


def _ideal(spec: AssetOeeSpec) -> IdealCycle:
    value = spec.ideal_cycle_time
    if value is None:
        return IdealCycle(-1)
    if isinstance(value, str):
        return IdealCycle(parse_duration_ns(value))
    otherwise = value.get("otherwise")
    fixed = parse_duration_ns(otherwise) if isinstance(otherwise, str) else -1
    signal, table = next((k, v) for k, v in value.items() if isinstance(v, dict))
    codes = sorted(table)
    return IdealCycle(
        fixed,
        signal,
        np.array(codes, dtype=np.float64),
        np.array([parse_duration_ns(table[k]) for k in codes], dtype=np.int64),
    )
