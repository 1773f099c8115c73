"""The demo plant wired into the platform: live (scaled time, web UI) or headless (as fast
as the machine allows, with a JSON report)."""

from plantos.demo.feed import SimulatorFeed, live_simulation_start
from plantos.demo.headless import HeadlessResult, run_headless

__all__ = ["HeadlessResult", "SimulatorFeed", "live_simulation_start", "run_headless"]
