"""The edge gateway's health in Prometheus text format: its connectors (the same families as
the core's ``/metrics``), the spool and the upstream link. The spool's ``full`` gauge is
the alarm to route: while it is 1 the gateway refuses new samples."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from plantos.edge.gateway.gateway import EdgeGateway
from plantos.edge.prometheus import connector_families

_SPOOL_GAUGES = (
    ("spool_pending_batches", "Batches stored, not yet acknowledged upstream"),
    ("spool_pending_samples", "Samples stored, not yet acknowledged upstream"),
    ("spool_bytes", "Bytes of stored batches"),
    ("spool_budget_bytes", "Disk budget of the spool"),
    ("spool_full", "1 while the spool is full and refuses new samples (alarm)"),
)
_SPOOL_COUNTERS = (
    ("spool_overflow_samples", "Samples refused because the spool was full"),
    ("spool_overflow_events", "Times the spool became full"),
    ("spool_quarantined_batches", "Corrupt spooled batches set aside in the quarantine table"),
)
_UPSTREAM_COUNTERS = (
    ("live_samples", "Samples sent upstream as current values"),
    ("historical_samples", "Samples sent upstream as historical (stored during an outage)"),
    ("sessions", "Upstream sessions opened"),
    ("errors", "Upstream connects and sends that failed"),
    ("resends", "Times the oldest batch not yet committed at the core was sent again"),
)


class GatewayCollector(Collector):
    """Reads the gateway's metrics at scrape time."""

    def __init__(self, gateway: EdgeGateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        metrics = self.gateway.metrics()
        yield from connector_families(metrics["connectors"])
        spool, upstream = metrics["spool"], metrics["upstream"]
        for key, help_text in _SPOOL_GAUGES:
            yield GaugeMetricFamily(f"plantos_edge_{key}", help_text, value=float(spool[key]))
        for key, help_text in _SPOOL_COUNTERS:
            yield CounterMetricFamily(f"plantos_edge_{key}", help_text, value=spool[key])
        yield GaugeMetricFamily(
            "plantos_edge_upstream_online",
            "1 while upstream takes data (connected, primary host online)",
            value=1.0 if upstream["online"] else 0.0,
        )
        for key, help_text in _UPSTREAM_COUNTERS:
            yield CounterMetricFamily(
                f"plantos_edge_upstream_{key}", help_text, value=upstream[key]
            )
