"""The ``plantos`` command end to end, as a user runs it: check, headless demo, query."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plantos.core.clock import WallClock
from plantos.security import TokenStore
from tests.conftest import DEMO_PLANT, REPO

TAG = "plant-a/machining/line-1/cnc-07/spindle_speed"


def plantos(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "COLUMNS": "200",
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            # the checkout under test, when it is not the one installed
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
    )


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One 30-minute headless demo, shared by the tests that read what it produced."""
    base = tmp_path_factory.mktemp("headless")
    report = base / "report.json"
    result = plantos(
        "demo",
        "--headless",
        "--duration",
        "30m",
        "--seed",
        "7",
        "--config",
        str(DEMO_PLANT),
        "--data-dir",
        str(base / "data"),
        "--report",
        str(report),
        "--scenario",
        "bearing-wear:cnc-03:10m:2h",
        "--scenario",
        "furnace-drift:furnace-1",
    )
    assert result.returncode == 0, result.stderr
    assert "simulated hours" in result.stderr
    return base / "data", json.loads(report.read_text())


def test_check_accepts_the_demo_plant() -> None:
    result = plantos("check", str(DEMO_PLANT))
    assert result.returncode == 0
    assert "ok" in result.stdout and "142 tags" in result.stdout


def test_check_reports_file_line_and_reason_with_exit_code_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "enterprise: {id: acme}\n"
        "sites:\n"
        "  - id: s1\n"
        "    areas:\n"
        "      - id: a1\n"
        "        lines:\n"
        "          - id: l1\n"
        "            assets:\n"
        "              - id: m1\n"
        "                tags: [{signal: temp, range: [90, 10]}]\n"
    )
    result = plantos("check", str(bad))
    assert result.returncode == 1
    text = " ".join(result.stderr.split())
    assert f"{bad}:10: tag 'temp' is a float and needs a 'unit'" in text
    assert "range is inverted" in text


def test_check_reports_broken_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("enterprise: [unclosed\n")
    result = plantos("check", str(bad))
    assert result.returncode == 1 and "YAML syntax error" in result.stderr


def test_headless_report_holds_the_documented_keys(headless_run: tuple[Path, dict]) -> None:
    _, report = headless_run
    for key in (
        "samples_ingested",
        "tags",
        "wall_time_s",
        "speedup",
        "ground_truth",
        "simulated",
        "events",
        "memory",
        "historian",
        "samples_rejected",
    ):
        assert key in report
    assert report["simulated"]["duration_s"] == 1800
    assert report["samples_ingested"] > 100_000
    assert report["samples_rejected"] == {}
    assert report["tags"] == 142
    truth = {g["kind"]: g for g in report["ground_truth"]}
    assert truth["bearing-wear"]["asset"] == "plant-a/machining/line-1/cnc-03"
    assert (
        truth["bearing-wear"]["functional_failure_ns"] - truth["bearing-wear"]["onset_ns"]
        == 2 * 3600 * 10**9
    )
    assert truth["furnace-drift"]["asset"] == "plant-a/heat-treat/furnace-line/furnace-1"
    assert report["events"]["MachineStateChanged"] > 0


def test_query_reads_what_the_demo_stored_in_every_format(headless_run: tuple[Path, dict]) -> None:
    data_dir, report = headless_run
    start, end = report["simulated"]["start"], report["simulated"]["end"]
    common = (
        "--from",
        start,
        "--to",
        end,
        "--data-dir",
        str(data_dir),
        "--config",
        str(DEMO_PLANT),
    )
    as_csv = plantos(
        "query", TAG, *common, "--bucket", "5m", "--agg", "avg,max,count", "--format", "csv"
    )
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 6
    assert all(int(r["count"]) == 300 for r in rows)
    assert all(float(r["max"]) >= float(r["avg"]) for r in rows)
    as_json = plantos("query", TAG, *common, "--format", "json", "--limit", "10")
    answer = json.loads(as_json.stdout)
    assert answer["source"] == "raw" and answer["truncated"] and len(answer["value"]) == 10
    table = plantos("query", TAG, *common, "--bucket", "10m")
    assert table.returncode == 0 and "rpm" in table.stdout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--from", "now", "--to", "-1h"), "must be before"),
        (("--bucket", "0s"), "longer than zero"),
        (("--bucket", "1m", "--agg", "median"), "unknown aggregate"),
        (("--from", "last tuesday"), "not a time"),
    ],
)
def test_query_refuses_bad_requests_with_a_reason(
    headless_run: tuple[Path, dict], args: tuple[str, ...], reason: str
) -> None:
    data_dir, _ = headless_run
    result = plantos("query", TAG, *args, "--data-dir", str(data_dir), "--config", str(DEMO_PLANT))
    assert result.returncode == 1
    assert reason in result.stderr


def test_query_of_an_unknown_tag(headless_run: tuple[Path, dict]) -> None:
    data_dir, _ = headless_run
    result = plantos(
        "query", "plant-z/nowhere/x/y/z", "--data-dir", str(data_dir), "--config", str(DEMO_PLANT)
    )
    assert result.returncode == 1 and "no tag 'plant-z/nowhere/x/y/z'" in result.stderr


def test_headless_refuses_a_bad_scenario(tmp_path: Path) -> None:
    result = plantos(
        "demo",
        "--headless",
        "--duration",
        "1m",
        "--config",
        str(DEMO_PLANT),
        "--scenario",
        "bearing-wear:furnace-1",
        "--data-dir",
        str(tmp_path),
    )
    assert result.returncode == 1
    assert "bearing-wear" in result.stderr


def test_signin_link_is_printed(tmp_path: Path) -> None:
    TokenStore(tmp_path / "security.sqlite", clock=WallClock())  # a platform's data folder
    result = plantos("signin-link", "--data-dir", str(tmp_path), "--base-url", "http://plant:8080")
    assert result.returncode == 0
    assert result.stdout.strip().startswith("http://plant:8080/signin?token=pos_")


PLANT_WITH_MISTAKES = """\
plantos: 1
enterprise: {id: acme, name: ACME}
enterprise: {id: acme, name: ACME again}
asset_types:
  mill:
    tags:
      - {signal: temp, unit: degC, range: [0, 100]}
sites:
  - id: s1
    calendar: nowhere
    areas:
      - id: a1
        lines:
          - id: l1
            assets:
              - {id: m1, type: mill}
"""

PLANT_WITH_BAD_SECTIONS = """\
plantos: 1
enterprise: {id: acme, name: ACME}
asset_types:
  mill:
    tags:
      - {signal: temp, unit: degC, range: [0, 100]}
sites:
  - id: s1
    areas:
      - id: a1
        lines:
          - id: l1
            assets:
              - {id: m1, type: mill}
connectors:
  - {kind: carrier-pigeon, name: p1}
analytics:
  spc:
    - {tag: s1/a1/l1/m1/pressure, chart: i-mr, window: 5m, limits: {rolling: 10}}
"""


def test_check_reports_a_duplicate_key_and_a_model_mistake_in_one_run(tmp_path: Path) -> None:
    bad = tmp_path / "plant.yaml"
    bad.write_text(PLANT_WITH_MISTAKES)
    result = plantos("check", str(bad))
    text = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert f"{bad}:3: duplicate key 'enterprise'" in text
    assert "nowhere" in text


def test_check_reports_connector_and_analytics_mistakes_in_one_run(tmp_path: Path) -> None:
    bad = tmp_path / "plant.yaml"
    bad.write_text(PLANT_WITH_BAD_SECTIONS)
    result = plantos("check", str(bad))
    text = " ".join(result.stderr.split())
    assert result.returncode == 1
    assert "carrier-pigeon" in text
    assert "unknown tag 's1/a1/l1/m1/pressure'" in text
    assert "2 problem(s) found" in text


def test_check_counts_the_connectors_the_demo_adds_for_simulated_assets() -> None:
    result = plantos("check", str(DEMO_PLANT))
    assert "0 connectors (+3 for the simulated assets under plantos demo)" in result.stdout
