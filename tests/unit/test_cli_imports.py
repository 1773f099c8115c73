"""Every ``plantos`` invocation imports every command module and builds the whole command
tree, even ``plantos --help``: so the command modules import the platform, its web server,
the protocol stacks, the solver and the historian inside the commands that use them.
These tests fail when a top-level import brings one back; a fresh interpreter is used
because this one has imported everything already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "plantos.app",  # the whole platform: API, UI, pipeline
    "fastapi",
    "uvicorn",
    "asyncua",
    "pymodbus",
    "ortools",
    "duckdb",
    "pyarrow",
    "numpy",
    "sqlalchemy",
)

PROBE = """
import json, sys
import typer.main
from plantos.cli.main import app

args = json.loads(sys.argv[1])
if args is None:
    typer.main.get_command(app)  # what any invocation builds: every option's type and default
else:
    try:
        app(args)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def heavy_modules_after(args: list[str] | None) -> list[str]:
    """The heavy modules loaded once ``plantos ARGS`` ran in a fresh interpreter (``None``:
    once the command tree is built, without running a command)."""
    env = {k: v for k, v in os.environ.items() if k != "PLANTOS_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_module() -> None:
    probe = "import plantos.cli.main, sys; print(sorted(m for m in {} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe.format(HEAVY)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_building_the_command_tree_loads_no_heavy_module() -> None:
    assert heavy_modules_after(None) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["analytics", "spc", "--help"],
        ["write", "plant-a/x/y", "1"],  # an API call: refused for want of a token
    ],
    ids=" ".join,
)
def test_light_commands_load_no_heavy_module(args: list[str]) -> None:
    assert heavy_modules_after(args) == []


def test_token_list_loads_no_heavy_module(tmp_path: Path) -> None:
    assert heavy_modules_after(["token", "list", "--data-dir", str(tmp_path)]) == []


def test_a_command_still_loads_what_it_needs(tmp_path: Path) -> None:
    """The lazy imports happen: ``db status`` reaches the database layer."""
    plant = Path(__file__).parents[2] / "examples" / "demo-plant" / "plantos.yaml"
    args = ["db", "status", "--config", str(plant), "--data-dir", str(tmp_path)]
    assert "sqlalchemy" in heavy_modules_after(args)


def test_defaults_written_out_for_help_match_their_sources() -> None:
    """Values ``--help`` shows that the command modules keep a copy of, so as not to import
    the module that owns them."""
    from plantos.analytics.spc import ChartKind
    from plantos.cli import browse, demo, report
    from plantos.cli.analytics import spc
    from plantos.demo import live
    from plantos.edge.opcua import browse as opcua_browse
    from plantos.reports import ReportFormat

    assert (demo.DEFAULT_SPEED, demo.DEFAULT_BACKFILL) == (
        live.DEFAULT_SPEED,
        live.DEFAULT_BACKFILL,
    )
    assert browse.MAX_NODES == opcua_browse.MAX_NODES
    assert [f.value for f in report.Format] == [f.value for f in ReportFormat]
    assert [c.value for c in spc.Chart] == [c.value for c in ChartKind]
