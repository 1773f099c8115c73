"""``plantos demo``: the simulated ACME plant, live in the browser or headless with a report."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from plantos.cli.common import console, out, reported_errors, setup_logging
from plantos.cli.serve import run_server
from plantos.core.clock import WallClock
from plantos.core.timeparse import parse_duration_ns, parse_time_ns

DEFAULT_SPEED = 10.0
DEFAULT_BACKFILL = "12h"
"""The live demo's defaults (:mod:`plantos.demo.live`'s), written out here because
``--help`` shows them and importing that module starts the whole platform's imports;
a unit test keeps them equal."""

DEFAULT_CONFIG = Path("examples/demo-plant/plantos.yaml")
HEADLESS_SCENARIO = "bearing-wear:plant-a/machining/line-1/cnc-07"
HEADLESS_START = "2026-01-05T05:00:00Z"


def demo(
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="Plant file"),
    data_dir: Path | None = typer.Option(
        None, help="Data directory [default: data/demo live, a temporary one headless]"
    ),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8080),
    seed: int = typer.Option(1, help="Same seed, same plant behaviour"),
    scenario: list[str] | None = typer.Option(
        None,
        "--scenario",
        "-s",
        help="kind:asset[:onset[:time-to-failure]]; kinds: bearing-wear, furnace-drift, "
        "weld-defect-trend [default: bearing wear on cnc-07, 45 min before now live]",
    ),
    speed: float = typer.Option(
        DEFAULT_SPEED,
        help="Live: simulated seconds per wall second (lowered if too fast); "
        f"alarms are tested up to {DEFAULT_SPEED:g}",
    ),
    broker: str | None = typer.Option(
        None, help="Live: MQTT broker for the Sparkplug lines (mqtt://host:port)"
    ),
    opcua_port: int = typer.Option(4840, help="Live: OPC UA port of the CNC cell (0: any)"),
    modbus_port: int = typer.Option(5020, help="Live: Modbus TCP port of the furnaces (0: any)"),
    backfill: str = typer.Option(DEFAULT_BACKFILL, help="Live: history simulated before now"),
    keep_history: bool = typer.Option(
        False, help="Live: continue the previous run's history instead of a fresh one"
    ),
    headless: bool = typer.Option(False, help="No web server: run --duration flat out"),
    duration: str = typer.Option("8h", help="Headless: simulated duration (8h, 30m, 1d)"),
    start: str = typer.Option(HEADLESS_START, help="Headless: simulated start (ISO 8601)"),
    report: Path | None = typer.Option(None, help="Headless: write the JSON report here"),
    erp_out: Path | None = typer.Option(
        None, "--erp-out", help="Headless: deliver the ERP messages here (B2MML, JSON lines)"
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also log the protocol libraries' INFO messages"
    ),
) -> None:
    """Run the demo plant: live with the web UI on http://HOST:PORT, or --headless."""
    setup_logging("WARNING" if headless else "INFO", verbose=verbose)
    if headless:
        _headless(
            config, data_dir, seed, scenario or [HEADLESS_SCENARIO], duration, start, report,
            erp_out=erp_out,
        )  # fmt: skip
        return
    from plantos.demo.devices import DeviceOptions
    from plantos.demo.live import LiveOptions, build_live_demo, quiet_protocol_logs

    if not verbose:
        quiet_protocol_logs()
    with reported_errors():
        options = LiveOptions(
            config=config,
            data_dir=data_dir or Path("data/demo"),
            host=host,
            port=port,
            seed=seed,
            scenarios=scenario or None,
            speed=speed,
            backfill=backfill,
            keep_history=keep_history,
            devices=DeviceOptions(broker, opcua_port, modbus_port),
        )
        live = build_live_demo(options, now_ns=WallClock().now_ns())
    live.install()
    console.print(live.banner(), highlight=False)
    run_server(live.platform, host, port)


def _headless(
    config: Path,
    data_dir: Path | None,
    seed: int,
    scenarios: list[str],
    duration: str,
    start: str,
    report_path: Path | None,
    *,
    erp_out: Path | None = None,
) -> None:
    from plantos.demo import run_headless

    with reported_errors():
        duration_ns = parse_duration_ns(duration)
        if duration_ns <= 0:
            raise ValueError("--duration must be longer than zero")
        start_ns = parse_time_ns(start, now_ns=WallClock().now_ns())
        with tempfile.TemporaryDirectory(prefix="plantos-demo-") as tmp:
            result = run_headless(
                config=config,
                data_dir=data_dir or Path(tmp),
                duration_ns=duration_ns,
                start_ns=start_ns,
                seed=seed,
                scenarios=scenarios,
                erp_out=erp_out,
            )
    text = json.dumps(result.report, indent=2)
    if report_path is not None:
        report_path.write_text(text + "\n")
    r = result.report
    console.print(
        f"{r['simulated']['duration_s'] / 3600:.1f} simulated hours in {r['wall_time_s']:.1f} s "
        f"wall ({r['speedup']}x real time), {r['samples_ingested']:,} samples",
        highlight=False,
    )
    if report_path is None:
        out.print_json(text)
