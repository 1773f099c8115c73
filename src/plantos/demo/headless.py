"""``plantos demo --headless``: the whole demo plant for a simulated duration, as fast as
it goes, through the same bus, gate, writer stage and historian as the live platform.
The JSON report's keys are documented in docs/headless-report.md."""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plantos import __version__
from plantos.analytics.anomaly.events import episodes
from plantos.analytics.spc import SpcViolation
from plantos.app import Platform, Settings
from plantos.core.clock import ManualClock
from plantos.core.timeparse import iso
from plantos.core.timeunits import HOUR_NS
from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.feed import SimulatorFeed
from plantos.demo.maintenance_report import maintenance_report
from plantos.demo.orders import (
    RecordingSimulator,
    orders_report,
    run_with_orders,
    schedule_changes_report,
    stream_for,
)
from plantos.demo.quality_report import quality_report
from plantos.demo.simulator import parse_scenario
from plantos.integration.erp.file_drop_demo import (
    deliver_all,
    erp_messages_report,
    file_drop_dispatcher,
)


@dataclass(frozen=True)
class HeadlessResult:
    report: dict[str, Any]


def _rss_mb() -> float:
    """Resident set size now, from /proc (Linux); peak RSS where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def judgements_report(platform: Platform, start_ns: int, end_ns: int) -> dict[str, Any]:
    """What the analytics stage found: anomalies with their evidence, SPC violations per
    characteristic and rule, and OEE per line over the run."""
    anomalies = [
        {
            "asset": ep.raised.subject,
            "raised": iso(ep.raised.ts_ns),
            "score": round(ep.raised.score, 2),
            "severity": ep.raised.severity,
            "evidence": [
                {
                    "feature": ev.feature,
                    "value": ev.value,
                    "healthy": ev.expected,
                    "share": ev.share,
                }
                for ev in ep.raised.evidence
            ],
            "time_to_threshold_s": ep.raised.time_to_threshold_s,
            "time_to_threshold_interval_s": [
                ep.raised.time_to_threshold_low_s,
                ep.raised.time_to_threshold_high_s,
            ],
            "escalations": [
                {
                    "time": iso(x.ts_ns),
                    "severity": x.severity,
                    "time_to_threshold_s": x.time_to_threshold_s,
                    "time_to_threshold_interval_s": [
                        x.time_to_threshold_low_s,
                        x.time_to_threshold_high_s,
                    ],
                }
                for x in ep.escalations
            ],
        }
        for ep in episodes(platform.judgements)
    ]
    violations: Counter[tuple[str, int]] = Counter(
        (e.subject, e.rule) for e in platform.judgements if isinstance(e, SpcViolation)
    )
    first_violation: dict[str, str] = {}
    for e in platform.judgements:
        if isinstance(e, SpcViolation):
            first_violation.setdefault(e.subject, iso(e.ts_ns))
    report = platform.analytics.oee.report(start_ns, end_ns)
    lines = {n.path for n in platform.plant.iter_nodes() if n.level == "line"}
    return {
        "anomalies": anomalies,
        "spc_violations": [
            {"tag": tag, "rule": rule, "points": n, "first": first_violation[tag]}
            for (tag, rule), n in sorted(violations.items())
        ],
        "oee_by_line": {
            path: totals.to_dict() for path, totals in sorted(report.nodes.items()) if path in lines
        },
        "analytics": platform.analytics.metrics(),
    }


def run_headless(
    *,
    config: Path,
    data_dir: Path,
    duration_ns: int,
    start_ns: int,
    seed: int,
    scenarios: list[str],
    chunk_ns: int = 300 * NS,
    erp_out: Path | None = None,
) -> HeadlessResult:
    """Run the demo plant from ``start_ns`` for ``duration_ns`` of simulated time; with
    ``erp_out``, deliver what the ERP would receive there as files afterwards."""
    clock = ManualClock(start_ns)
    platform = Platform(Settings(config=config, data_dir=data_dir), clock=clock)
    erp = file_drop_dispatcher(platform.mom.service.engine, erp_out) if erp_out else None
    parsed = [parse_scenario(text, platform.plant) for text in scenarios]
    simulator = RecordingSimulator(
        platform.plant, platform.tag_ids, seed=seed, start_ns=start_ns, scenarios=parsed
    )
    feed = SimulatorFeed(platform, simulator, chunk_ns=chunk_ns)
    rss_by_hour: list[float] = []
    cache_by_hour: list[float] = []
    next_mark = [start_ns + HOUR_NS]
    cache_bytes = getattr(platform.historian, "cache_bytes", lambda: 0)

    def progress(now_ns: int) -> None:
        while now_ns >= next_mark[0]:
            rss_by_hour.append(round(_rss_mb(), 1))
            cache_by_hour.append(round(cache_bytes() / 2**20, 1))
            next_mark[0] += HOUR_NS

    end_ns = start_ns + duration_ns
    orders = stream_for(platform, seed=seed, start_ns=start_ns, end_ns=end_ns)
    platform.add_source(
        run_with_orders(feed, platform, orders, end_ns=end_ns, clock=clock, on_progress=progress)
    )
    started = time.perf_counter()

    async def main() -> None:
        await platform.start()
        await platform.drain()
        if erp is not None:
            await deliver_all(erp)

    try:
        asyncio.run(main())
        wall_s = time.perf_counter() - started
        historian_stats = platform.historian.stats()
    finally:
        platform.historian.close()
    simulated_s = duration_ns / NS
    report: dict[str, Any] = {
        "plantos_version": __version__,
        "config": str(config),
        "seed": seed,
        "scenarios": scenarios,
        "simulated": {"start": iso(start_ns), "end": iso(end_ns), "duration_s": simulated_s},
        "wall_time_s": round(wall_s, 3),
        "speedup": round(simulated_s / wall_s, 1) if wall_s > 0 else None,
        "samples_ingested": platform.writer.acked_rows,
        "samples_rejected": dict(platform.normaliser.rejected),
        "tags": len(platform.plant.tags),
        "assets": len(platform.plant.assets),
        "ground_truth": simulator.ground_truth(),
        "events": dict(sorted(platform.events_seen.items())),
        "judgements": judgements_report(platform, start_ns, end_ns),
        "memory": {
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_mb_by_simulated_hour": rss_by_hour,
            "historian_cache_mb_by_simulated_hour": cache_by_hour,
            "rss_minus_cache_mb_by_simulated_hour": [
                round(r - c, 1) for r, c in zip(rss_by_hour, cache_by_hour, strict=True)
            ],
        },
        "historian": historian_stats,
        "bus": platform.bus.metrics(),
        "orders": orders_report(platform, simulator, end_ns),
        "schedule_changes": schedule_changes_report(platform),
        "mom": platform.mom.metrics(),
        **maintenance_report(platform),
        **quality_report(platform),
    }
    if erp is not None and erp_out is not None:
        report["erp_messages"] = erp_messages_report(erp, erp_out)
    platform.mom.service.engine.dispose()
    return HeadlessResult(report)
