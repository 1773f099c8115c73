"""``plantos demo``: the simulated ACME plant, live in the browser or headless with a report."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import typer

from plantos.app import Platform, Settings
from plantos.cli.common import console, out, reported_errors, setup_logging
from plantos.cli.serve import run_server
from plantos.core.clock import ScaledClock, WallClock
from plantos.core.timeparse import parse_duration_ns, parse_time_ns
from plantos.demo import live_simulation_start, run_headless
from plantos.demo.devices import DemoDevices, DeviceOptions
from plantos.demo.simulator import Simulator, parse_scenario

DEFAULT_CONFIG = Path("examples/demo-plant/plantos.yaml")
DEFAULT_SCENARIO = "bearing-wear:plant-a/machining/line-1/cnc-07"
HEADLESS_START = "2026-01-05T05:00:00Z"


def demo(
    config: Path = typer.Option(DEFAULT_CONFIG, "--config", "-c", help="Plant file"),
    data_dir: Path | None = typer.Option(
        None, help="Data directory (default: data/demo live, a fresh temporary one headless)"
    ),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8080),
    seed: int = typer.Option(1, help="Same seed, same plant behaviour"),
    scenario: list[str] = typer.Option(
        [DEFAULT_SCENARIO],
        "--scenario",
        "-s",
        help="kind:asset[:onset[:time-to-failure]]; "
        "kinds: bearing-wear, furnace-drift, weld-defect-trend",
    ),
    speed: float = typer.Option(1.0, help="Live: simulated seconds per wall second"),
    broker: str | None = typer.Option(
        None, help="Live: MQTT broker for the Sparkplug lines (mqtt://host:port); default: embedded"
    ),
    opcua_port: int = typer.Option(4840, help="Live: OPC UA server of the CNC cell (0: any free)"),
    modbus_port: int = typer.Option(5020, help="Live: Modbus TCP server of the furnaces (0: any)"),
    backfill: str = typer.Option("2h", help="Live: history to simulate before now at start"),
    headless: bool = typer.Option(False, help="No web server: run --duration as fast as possible"),
    duration: str = typer.Option("8h", help="Headless: simulated duration (8h, 30m, 1d)"),
    start: str = typer.Option(HEADLESS_START, help="Headless: simulated start time (ISO 8601)"),
    report: Path | None = typer.Option(None, help="Headless: write the JSON report here"),
) -> None:
    """Run the demo plant: live with the web UI on http://HOST:PORT, or --headless."""
    setup_logging("WARNING" if headless else "INFO")
    if headless:
        _headless(config, data_dir, seed, scenario, duration, start, report)
        return
    # The protocol stacks of the demo's devices log their every step at INFO; the demo's
    # OPC UA server runs without security on 127.0.0.1 on purpose, which asyncua warns of.
    for library in ("amqtt", "asyncua", "pymodbus", "transitions"):
        logging.getLogger(library).setLevel(logging.WARNING)
    logging.getLogger("asyncua.server.server").setLevel(logging.ERROR)
    with reported_errors():
        if speed <= 0:
            raise ValueError(f"--speed must be positive, got {speed}")
        now = WallClock().now_ns()
        clock = ScaledClock(now, speed=speed)
        platform = Platform(
            Settings(config=config, data_dir=data_dir or Path("data/demo"), host=host, port=port),
            clock=clock,
        )
        scenarios = [parse_scenario(text, platform.plant) for text in scenario]
        sim_start = live_simulation_start(
            now, parse_duration_ns(backfill), platform.historian.newest_ts
        )
        clock.restart_at(max(now, sim_start))
        simulator = Simulator(
            platform.plant, platform.tag_ids, seed=seed, start_ns=sim_start, scenarios=scenarios
        )
        devices = DemoDevices(
            platform, simulator, clock, DeviceOptions(broker, opcua_port, modbus_port)
        )
    devices.install()
    console.print(
        f"ACME demo plant: {len(platform.plant.assets)} assets, {len(platform.plant.tags)} tags, "
        f"speed {speed}x, scenarios: {', '.join(scenario) or 'none'}\n"
        f"  OPC UA (CNC cell): {devices.opcua.endpoint}\n"
        f"  Modbus TCP (furnaces): 127.0.0.1:{devices.modbus.port}, unit 1\n"
        f"  Sparkplug B (assembly, welding): {devices.broker_url}",
        highlight=False,
    )
    run_server(platform, host, port)


def _headless(
    config: Path,
    data_dir: Path | None,
    seed: int,
    scenarios: list[str],
    duration: str,
    start: str,
    report_path: Path | None,
) -> None:
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
