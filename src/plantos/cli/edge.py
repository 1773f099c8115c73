"""``plantos edge --config edge.yaml``: run an edge gateway next to the machines."""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import console, reported_errors, setup_logging
from plantos.cli.stopping import run_until_stopped


def edge(
    config: Path = typer.Option(..., "--config", "-c", help="The edge.yaml to run"),
    metrics_host: str = typer.Option("127.0.0.1", help="Address of the Prometheus endpoint"),
    metrics_port: int = typer.Option(9464, help="Port of the Prometheus /metrics (0: none)"),
    log_level: str = typer.Option("INFO"),
) -> None:
    """Collect from the connectors in edge.yaml, store on disk, forward upstream (until
    Ctrl-C or SIGTERM)."""
    from prometheus_client import CollectorRegistry, start_http_server

    from plantos.edge.gateway.config import load_edge_config
    from plantos.edge.gateway.gateway import EdgeGateway
    from plantos.edge.gateway.prometheus import GatewayCollector

    setup_logging(log_level)
    with reported_errors():
        edge_config = load_edge_config(config)
        gateway = EdgeGateway(edge_config)
    if metrics_port:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(GatewayCollector(gateway))
        start_http_server(metrics_port, metrics_host, registry)
    up = edge_config.spec.upstream
    console.print(
        f"edge gateway {up.group}/{up.edge_node}: {len(gateway.supervisors)} connectors, "
        f"{len(gateway.metric_names)} tags -> {up.broker}; spool {edge_config.spool_path} "
        f"({gateway.spool.pending_samples:,} samples waiting)",
        highlight=False,
    )
    run_until_stopped(gateway.run())
