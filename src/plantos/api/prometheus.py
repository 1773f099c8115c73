"""``GET /metrics``: the platform's health in Prometheus text format, for the plant's
monitoring stack. Authenticated like every route (Prometheus sends a bearer token)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, require
from plantos.edge.prometheus import connector_families

router = APIRouter(tags=["system"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class PlatformCollector(Collector):
    """The platform's own metrics, read once per scrape (on the event loop that changes
    them); nothing is kept twice."""

    def __init__(self, metrics: dict[str, Any], *, ready: bool) -> None:
        self.metrics = metrics
        self.ready = ready

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        yield from _bus(metrics["bus"])
        yield from _ingest(metrics["ingest"], metrics["historian_writer"])
        yield from _stages(metrics["stages"], ready=self.ready)
        yield from connector_families(metrics["connectors"])


def _bus(bus: dict[str, Any]) -> Iterator[Metric]:
    published = CounterMetricFamily(
        "plantos_bus_published_messages", "Messages published per topic", labels=["topic"]
    )
    for topic, count in bus["published"].items():
        published.add_metric([topic], count)
    yield published
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
        "depth": GaugeMetricFamily(
            "plantos_bus_queue_depth", "Messages waiting per subscriber", labels=["subscriber"]
        ),
        "capacity": GaugeMetricFamily(
            "plantos_bus_queue_capacity", "Queue capacity per subscriber", labels=["subscriber"]
        ),
        "dropped_messages": CounterMetricFamily(
            "plantos_bus_dropped_messages",
            "Messages dropped (drop-oldest queues)",
            labels=["subscriber"],
        ),
        "dropped_samples": CounterMetricFamily(
            "plantos_bus_dropped_samples",
            "Samples dropped (drop-oldest queues)",
            labels=["subscriber"],
        ),
        "publisher_blocked_s": CounterMetricFamily(
            "plantos_bus_publisher_blocked_seconds",
            "Time publishers waited on a full queue",
            labels=["subscriber"],
        ),
    }
    for name, sub in bus["subscribers"].items():
        for key, family in families.items():
            family.add_metric([name], sub[key])
    yield from families.values()


def _ingest(ingest: dict[str, Any], writer: dict[str, Any]) -> Iterator[Metric]:
    accepted = CounterMetricFamily("plantos_ingest_accepted_samples", "Samples past the gate")
    accepted.add_metric([], ingest["accepted"])
    yield accepted
    restated = CounterMetricFamily(
        "plantos_ingest_restated_samples",
        "Samples dropped as restatements of the newest sample already accepted (reconnects)",
    )
    restated.add_metric([], ingest["restated"])
    yield restated
    rejected = CounterMetricFamily(
        "plantos_ingest_rejected_samples",
        "Samples refused or marked bad at the gate",
        labels=["reason"],
    )
    for reason, count in ingest["rejected"].items():
        rejected.add_metric([reason], count)
    yield rejected
    for key, help_text in (
        ("acked_rows", "Samples committed to the historian"),
        ("commits", "Historian commits"),
        ("failed_commits", "Historian commits that failed and were retried"),
        ("dead_lettered_rows", "Samples the historian refused, kept as dead letters"),
    ):
        family = CounterMetricFamily(f"plantos_historian_{key}", help_text)
        family.add_metric([], writer[key])
        yield family
    refusing = GaugeMetricFamily(
        "plantos_historian_refusing", "1 while the historian refuses commits (retried), else 0"
    )
    refusing.add_metric([], 1.0 if writer["refusing"] else 0.0)
    yield refusing


def _stages(stages: list[dict[str, Any]], *, ready: bool) -> Iterator[Metric]:
    """Each supervised bus consumer: running or not, restarts, failures and lag."""
    up = GaugeMetricFamily("plantos_ready", "1 while every bus consumer runs, else 0")
    up.add_metric([], 1.0 if ready else 0.0)
    yield up
    families: dict[str, tuple[GaugeMetricFamily | CounterMetricFamily, Any]] = {
        "running": (
            GaugeMetricFamily(
                "plantos_stage_running", "1 while the stage consumes, else 0", labels=["stage"]
            ),
            lambda s: 1.0 if s["state"] == "running" else 0.0,
        ),
        "restarts": (
            CounterMetricFamily(
                "plantos_stage_restarts", "Restarts after a failure", labels=["stage"]
            ),
            lambda s: s["restarts"],
        ),
        "failures": (
            CounterMetricFamily(
                "plantos_stage_failures", "Failures (exceptions) of the stage", labels=["stage"]
            ),
            lambda s: s["failures"],
        ),
        "depth": (
            GaugeMetricFamily(
                "plantos_stage_lag_messages", "Messages queued for the stage", labels=["stage"]
            ),
            lambda s: s["lag"]["depth"],
        ),
        "age": (
            GaugeMetricFamily(
                "plantos_stage_lag_seconds",
                "How long the stage's oldest queued message has waited",
                labels=["stage"],
            ),
            lambda s: s["lag"]["oldest_age_s"],
        ),
    }
    for stage in stages:
        for family, value in families.values():
            family.add_metric([stage["stage"]], value(stage))
    yield from (family for family, _ in families.values())


@router.get("/metrics", include_in_schema=False)
async def metrics(
    request: Request, _: object = require("system:read", scope_from=ENTERPRISE_WIDE)
) -> Response:
    platform = platform_of(request)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(platform.metrics(), ready=platform.ready))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)
