"""Connector health as Prometheus metric families, shared by the core's ``/metrics`` and
the edge gateway's, so a dashboard reads both the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


def connector_families(connectors: list[dict[str, Any]]) -> Iterator[Metric]:
    """Per connector: link state, newest good sample, rate and counters (as the
    supervisor reports them), labelled by connector name."""
    connected = GaugeMetricFamily(
        "plantos_connector_connected", "1 while the link is up", labels=["connector"]
    )
    last_good = GaugeMetricFamily(
        "plantos_connector_last_good_sample_seconds",
        "Unix time of the newest good sample",
        labels=["connector"],
    )
    rate = GaugeMetricFamily(
        "plantos_connector_samples_per_second",
        "Samples per second, last 10 s",
        labels=["connector"],
    )
    counters = {
        key: CounterMetricFamily(f"plantos_connector_{key}", help_text, labels=["connector"])
        for key, help_text in (
            ("samples", "Samples collected"),
            ("errors", "Failed connects and collects"),
            ("reconnects", "Links re-established"),
            ("sink_wait_s", "Seconds spent waiting to hand batches on (back-pressure)"),
        )
    }
    for c in connectors:
        name = [c["connector"]]
        connected.add_metric(name, 1.0 if c["connected"] else 0.0)
        if c["last_good_sample_ns"] is not None:
            last_good.add_metric(name, c["last_good_sample_ns"] / 1e9)
        rate.add_metric(name, c["samples_per_s"])
        for key, family in counters.items():
            family.add_metric(name, c[key])
    yield from (connected, last_good, rate, *counters.values())
