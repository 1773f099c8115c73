"""``plantos schedule solve`` end to end: a good instance, a reference instance, bad files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.cli.main import app

runner = CliRunner()

TINY = "# two jobs\n2 2\n0 3 1 2\n1 3 0 2\n"  # optimum 5


def schedule(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["schedule", "solve", *args])
    return result.exit_code, result.stdout, result.stderr


def check_output(instance: str, written: dict[str, object]) -> int:
    """The JSON is a feasible schedule of the instance; returns its makespan."""
    rows = [
        line.split() for line in instance.splitlines() if line.strip() and not line.startswith("#")
    ]
    jobs = [[(int(r[i]), int(r[i + 1])) for i in range(0, len(r), 2)] for r in rows[1:]]
    ops = written["operations"]
    assert isinstance(ops, list)
    assert [(o["job"], o["index"]) for o in ops] == [
        (j, k) for j, job in enumerate(jobs) for k in range(len(job))
    ]
    busy: dict[int, list[tuple[int, int]]] = {}
    for o in ops:
        assert (o["machine"], o["duration"]) == jobs[o["job"]][o["index"]]
        if o["index"]:
            before = next(p for p in ops if (p["job"], p["index"]) == (o["job"], o["index"] - 1))
            assert o["start"] >= before["start"] + before["duration"]
        busy.setdefault(o["machine"], []).append((o["start"], o["start"] + o["duration"]))
    for spans in busy.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    makespan = max(o["start"] + o["duration"] for o in ops)
    assert written["makespan"] == makespan
    return makespan


def test_solve_prints_the_makespan_and_writes_a_feasible_schedule(tmp_path: Path) -> None:
    instance = tmp_path / "tiny.jsp"
    instance.write_text(TINY)
    out = tmp_path / "plan.json"
    code, stdout, _ = schedule("--jsplib", str(instance), "--time-limit", "5", "--output", str(out))
    assert code == 0
    assert stdout.strip() == "5"
    assert check_output(TINY, json.loads(out.read_text())) == 5


def test_ft06_from_the_reference_data(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "scheduling" / "jsplib" / "instances" / "ft06"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    out = tmp_path / "ft06.json"
    code, stdout, _ = schedule("--jsplib", str(path), "--time-limit", "20", "--output", str(out))
    assert code == 0 and stdout.strip() == "55"
    assert check_output(path.read_text(), json.loads(out.read_text())) == 55


def test_the_time_limit_names_work_so_the_schedule_repeats(
    shared_data: Path, tmp_path: Path
) -> None:
    """``--time-limit`` maps to the same work as ``solve_jobshop``'s limit: the command
    writes the very schedule the library finds with that limit."""
    from plantos.mom.scheduling.jobshop import solve_jobshop
    from plantos.mom.scheduling.jsplib import read_jsplib

    path = shared_data / "scheduling" / "jsplib" / "instances" / "ft10"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    out = tmp_path / "ft10.json"
    code, stdout, _ = schedule("--jsplib", str(path), "--time-limit", "1", "--output", str(out))
    assert code == 0
    expected = solve_jobshop(read_jsplib(path), time_limit_s=1.0, workers=2)
    written = json.loads(out.read_text())
    assert int(stdout.strip()) == written["makespan"] == expected.makespan
    assert [o["start"] for o in written["operations"]] == [
        start for row in expected.starts for start in row
    ]


def test_a_malformed_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsp"
    bad.write_text("# header follows\n2 2\n0 3 1 2\n1 3 0 two\n")
    code, stdout, stderr = schedule("--jsplib", str(bad))
    assert code == 2
    assert stdout == ""
    assert f"{bad}:4: 'two' is not an integer" in stderr.replace("\n", "")


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, stderr = schedule("--jsplib", str(tmp_path / "absent.jsp"))
    assert code == 2
    assert "cannot read" in stderr
