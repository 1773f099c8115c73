"""Where a characteristic's control lines come from, said the same way by the API and the
CLI: frozen (who, when, which baseline), rolling, or a baseline collected or refused."""

from __future__ import annotations

from typing import Any

from plantos.analytics.spc.config import SpcCharacteristicSpec
from plantos.analytics.spc.monitor import SpcMonitor
from plantos.core.timeparse import iso


def limits_summary(spec: SpcCharacteristicSpec, monitor: SpcMonitor, now_ns: int) -> dict[str, Any]:
    """JSON-ready; ``now_ns`` tells a baseline still being collected from one that ended
    without limits (the live clock, or the end of an offline range)."""
    lim = monitor.limits
    if lim is not None:
        return {
            "mode": "frozen",
            "center": lim.center,
            "sigma": lim.sigma,
            "nsigmas": lim.nsigmas,
            "subgroups": lim.subgroups,
            "baseline_from": iso(lim.baseline_from_ns) if lim.baseline_from_ns else None,
            "baseline_to": iso(lim.baseline_to_ns) if lim.baseline_to_ns else None,
            "frozen_by": lim.frozen_by,
            "frozen_at": iso(lim.frozen_at_ns) if lim.frozen_at_ns is not None else None,
        }
    if spec.limits.rolling is not None:
        return {"mode": "rolling", "subgroups": spec.limits.rolling, "nsigmas": spec.nsigmas}
    base = spec.limits.baseline
    assert base is not None  # a characteristic has a baseline or rolling limits
    refused = monitor.baseline_refused or now_ns >= base.to_ns
    return {
        "mode": "baseline",
        "status": "refused" if refused else "collecting",
        "baseline_from": iso(base.from_ns),
        "baseline_to": iso(base.to_ns),
        "frozen_by": base.frozen_by,
        "nsigmas": spec.nsigmas,
    }
