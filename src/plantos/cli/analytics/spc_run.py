"""What ``plantos analytics spc`` runs: the characteristic with the options laid over it,
a monitor fed hour by hour from the historian or a server, and the answer it makes of the
range. Apart from the command so that the command's module (and ``--help``) does not
import numpy and the SPC package."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from plantos.analytics.config import analytics_spec
from plantos.analytics.spc import (
    ChartKind,
    SpcCharacteristicSpec,
    SpcMonitor,
    SpcViolation,
    StuckSignal,
)
from plantos.analytics.spc.capability import capability_summary
from plantos.analytics.spc.limits_summary import limits_summary
from plantos.analytics.spc.monitor import SHOWN_POINTS
from plantos.cli.analytics.ranges import CHUNK_NS, DEFAULT_ROLLING, SAMPLES_PER_CHUNK
from plantos.cli.common import api_get
from plantos.core import quality
from plantos.core.clock import WallClock
from plantos.core.errors import PlantOSError, QueryError, UnknownTagError
from plantos.core.events import Event
from plantos.core.timeparse import iso
from plantos.historian import Historian
from plantos.model.plant import Plant

FEED_SLICE = SHOWN_POINTS - 1
"""Samples per update: no more points than the monitor keeps for display can result, so
every plotted point is read back (one more may close on the flush)."""

FloatArray = npt.NDArray[np.float64]


@dataclass
class SpcRun:
    """What a monitor made of a range: its points there, their lines, its findings."""

    monitor: SpcMonitor
    ts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    location: list[FloatArray] = field(default_factory=list)
    center: list[FloatArray] = field(default_factory=list)
    lcl: list[FloatArray] = field(default_factory=list)
    ucl: list[FloatArray] = field(default_factory=list)
    sigma: list[FloatArray] = field(default_factory=list)
    sizes: list[FloatArray] = field(default_factory=list)
    raw: list[FloatArray] = field(default_factory=list)
    samples: int = 0
    events: list[Event] = field(default_factory=list)
    seen: int = 0

    def take(self, events: list[Event]) -> None:
        """Keep the events and read back the points plotted since the last call."""
        self.events += events
        new = self.monitor.plotted - self.seen
        self.seen = self.monitor.plotted
        if not new:
            return
        plot = self.monitor.recent(new)
        self.ts.append(plot.ts)
        self.location.append(plot.stats.location)
        self.sizes.append(plot.stats.sizes)
        for name in ("center", "lcl", "ucl", "sigma"):
            getattr(self, name).append(getattr(plot.loc, name))


Reader = Callable[[int, int], tuple[npt.NDArray[np.int64], FloatArray, npt.NDArray[np.uint32]]]
"""Raw samples of the tag in ``[start_ns, end_ns)``, in time order."""


def characteristic(
    plant: Plant,
    tag: str,
    overrides: dict[str, Any],
    limits: dict[str, Any] | None,
    specs: dict[str, float | None],
) -> SpcCharacteristicSpec:
    """The configured characteristic of ``tag`` with the options laid over it; options
    alone when it has none. A window replaces a subgroup size and the other way round."""
    analytics, _ = analytics_spec(plant)
    configured = next((c for c in analytics.spc if c.tag == tag), None)
    given = {k: v for k, v in overrides.items() if v is not None}
    if configured is None and "chart" not in given:
        raise QueryError(
            f"tag {tag!r} has no SPC characteristic in analytics.spc: "
            "give --chart and --window or --subgroup-size"
        )
    fields = configured.model_dump(by_alias=True, exclude_none=True) if configured else {}
    if "window" in given or "subgroup_size" in given:
        fields.pop("window", None)
        fields.pop("subgroup_size", None)
    fields |= given | {"tag": tag}
    if limits is not None or "limits" not in fields:
        fields["limits"] = limits or {"rolling": DEFAULT_ROLLING}
    chosen = {k: v for k, v in specs.items() if v is not None}
    if chosen:
        fields["spec_limits"] = fields.get("spec_limits", {}) | chosen
    try:
        return SpcCharacteristicSpec.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise QueryError(f"SPC characteristic of {tag!r}: {problems}") from None


def historian_reader(historian: Historian, tag: str, data_dir: Path) -> Reader:
    tag_id = historian.tag_ids().get(tag)
    if tag_id is None:
        raise UnknownTagError(f"no tag {tag!r} in the historian at {data_dir}")

    def read(start_ns: int, end_ns: int) -> tuple[Any, Any, Any]:
        raw = historian.query_raw(tag_id, start_ns, end_ns, limit=SAMPLES_PER_CHUNK)
        if raw.truncated:
            raise PlantOSError(f"{tag!r} has over {SAMPLES_PER_CHUNK} samples in an hour")
        return raw.ts, raw.value, raw.quality

    return read


def server_reader(api: str, token: str | None, tag: str) -> Reader:
    """Raw samples through the server's history endpoint (millisecond times, quality by
    name), for when the server holds the historian file."""
    codes = {name: code for code, name in quality.NAMES.items()}

    def read(start_ns: int, end_ns: int) -> tuple[Any, Any, Any]:
        params = {"from": str(start_ns), "to": str(end_ns), "limit": SAMPLES_PER_CHUNK}
        answer = api_get(api, token, f"tags/{tag}/samples", params)
        if answer.get("truncated"):
            raise PlantOSError(f"{tag!r} has over {SAMPLES_PER_CHUNK} samples in an hour")
        ts = np.asarray(answer["t_ms"], dtype=np.int64) * 1_000_000
        value = np.array([np.nan if v is None else v for v in answer["value"]], dtype=np.float64)
        status = np.array(
            [
                codes.get(n, quality.BAD if n.startswith("Bad") else quality.GOOD)
                for n in answer["quality"]
            ],
            dtype=np.uint32,
        )
        return ts, value, status

    return read


def run_spc(spec: SpcCharacteristicSpec, read: Reader, start_ns: int, end_ns: int) -> SpcRun:
    """Feed the monitor hour by hour and flush at each hour's end, as batches and the
    passing of time reach it live. Frozen limits need their baseline: it is read first
    when it lies before the range, and neither its points nor its findings are reported
    (only those of points in the range, stamped by their last sample or window end)."""
    run = SpcRun(SpcMonitor.from_spec(spec, clock=WallClock()))
    base = spec.limits.baseline
    if base is not None and base.from_ns < start_ns:
        _feed(run, read, base.from_ns, min(base.to_ns, start_ns), keep=False)
    _feed(run, read, start_ns, end_ns, keep=True)
    return run


def _feed(run: SpcRun, read: Reader, start_ns: int, end_ns: int, *, keep: bool) -> None:
    for a in range(start_ns, end_ns, CHUNK_NS):
        b = min(a + CHUNK_NS, end_ns)
        ts, value, status = read(a, b)
        for i in range(0, len(ts), FEED_SLICE):
            s = slice(i, i + FEED_SLICE)
            run.take(run.monitor.update(ts[s], value[s], status[s]))
        run.take(run.monitor.flush(b))
        if keep:
            run.samples += len(ts)
            good = ~quality.is_bad(status) & np.isfinite(value)
            run.raw.append(value[good])
    if not keep:
        run.events, run.ts, run.location, run.sizes = [], [], [], []
        run.center, run.lcl, run.ucl, run.sigma = [], [], [], []


def spc_answer(
    spec: SpcCharacteristicSpec, run: SpcRun, start_ns: int, end_ns: int, unit: str | None
) -> dict[str, Any]:
    monitor = run.monitor

    def cat(parts: list[Any], dtype: type) -> Any:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    ts = cat(run.ts, np.int64)
    location, sizes = cat(run.location, np.float64), cat(run.sizes, np.float64)
    lines = {n: cat(getattr(run, n), np.float64) for n in ("center", "lcl", "ucl", "sigma")}
    drawn = np.flatnonzero(np.isfinite(lines["center"]))
    latest = None
    if len(drawn):
        k = int(drawn[-1])
        latest = {"time": iso(int(ts[k]))} | {
            n: float(lines[n][k]) for n in ("center", "lcl", "ucl")
        }
    violations = [e for e in run.events if isinstance(e, SpcViolation) and e.ts_ns >= start_ns]
    stuck = [e for e in run.events if isinstance(e, StuckSignal)]
    return {
        "tag": spec.tag,
        "unit": unit,
        "from": iso(start_ns),
        "to": iso(end_ns),
        "chart": spec.chart.value,
        "window": spec.window,
        "subgroup_size": spec.subgroup_size,
        "rule_set": spec.rule_set,
        "rules": sorted(spec.rules),
        "samples": run.samples,
        "points": len(ts),
        "skipped": {
            "bad": monitor.skipped_bad,
            "invalid": monitor.skipped_invalid,
            "late": monitor.skipped_late,
            "dropped_subgroups": monitor.dropped_subgroups,
        },
        "limits": limits_summary(spec, monitor, end_ns),
        "latest_lines": latest,
        "capability": _capability_of(spec, monitor, location, sizes, lines, drawn, run.raw),
        "violations": [
            {
                "time": iso(e.ts_ns),
                "rule": e.rule,
                "statistic": e.statistic,
                "phase": e.phase,
                "value": e.point_values[-1],
                "center": e.center,
                "lcl": e.lcl,
                "ucl": e.ucl,
            }
            for e in violations
        ],
        "stuck_signals": [
            {"time": iso(e.ts_ns), "value": e.value, "from": iso(e.from_ns), "to": iso(e.to_ns)}
            for e in stuck
        ],
    }


def _capability_of(
    spec: SpcCharacteristicSpec,
    monitor: SpcMonitor,
    location: FloatArray,
    sizes: FloatArray,
    lines: dict[str, FloatArray],
    drawn: npt.NDArray[np.intp],
    raw: list[FloatArray],
) -> dict[str, Any] | None:
    """Cp/Cpk with the chart's sigma (frozen, else the newest rolling one scaled back to
    one sample), Pp/Ppk with the overall sigma of the plotted individuals (I-MR) or of the
    raw samples (subgroup charts): the figures the chart page shows."""
    limits = spec.spec_limits
    if limits is None or not spec.chart.is_variables or not len(location):
        return None
    if monitor.limits is not None:
        sigma_within: float | None = monitor.limits.sigma
    elif len(drawn):
        k = int(drawn[-1])
        size = 1.0 if spec.chart is ChartKind.I_MR else float(sizes[k])
        sigma_within = float(lines["sigma"][k] * math.sqrt(size))
    else:
        sigma_within = None
    values = location if spec.chart is ChartKind.I_MR else np.concatenate(raw)
    return capability_summary(
        values, sigma_within, lsl=limits.lsl, usl=limits.usl, target=limits.target
    )
