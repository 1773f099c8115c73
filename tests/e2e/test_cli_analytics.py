"""``plantos analytics detect`` end to end: a small CSV, NAB series, bad input."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.analytics.anomaly.offline import parse_timestamp_ns
from plantos.cli.main import app
from tests.conftest import SHARED_DATA

NAB = SHARED_DATA / "anomaly" / "nab"
MACHINE_TEMPERATURE = "realKnownCause/machine_temperature_system_failure.csv"
runner = CliRunner()


def detect(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["analytics", "detect", *args])
    return result.exit_code, result.output


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["time", "temp", "load"], *rows])
    return path


def small_rows(n: int = 600) -> list[list[str]]:
    """5-minute rows; temperature sinks from row 400 on (a cooling failure)."""
    rows = []
    for i in range(n):
        temp = 80.0 + math.sin(i) + (-(i - 400) * 0.2 if i >= 400 else 0.0)
        stamp = f"2024-01-{1 + i // 288:02d}T{(i % 288) // 12:02d}:{(i % 12) * 5:02d}:00"
        rows.append([stamp, f"{temp:.3f}", f"{50 + math.cos(i):.3f}"])
    return rows


def read_scores(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_detect_flags_the_drift_and_not_the_healthy_rows(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", small_rows())
    out = tmp_path / "scores.csv"
    code, output = detect(
        "--input", str(src), "--time-column", "time", "--columns", "temp,load",
        "--train-until", "2024-01-01T20:00:00", "--output", str(out),
    )  # fmt: skip
    assert code == 0, output
    rows = read_scores(out)
    assert len(rows) == 600 and list(rows[0]) == ["time", "score", "flag"]
    assert rows[0]["score"] == ""  # training rows are not scored
    flags = [int(r["flag"]) for r in rows]
    assert not any(flags[:400]) and any(flags[400:])


def test_truncating_the_input_never_changes_earlier_rows(tmp_path: Path) -> None:
    rows = small_rows()
    args = ["--time-column", "time", "--train-until", "2024-01-01T20:00:00"]
    full = tmp_path / "full.csv"
    assert (
        detect("--input", str(write_csv(tmp_path / "a.csv", rows)), *args, "--output", str(full))[0]
        == 0
    )
    for cut in (300, 420, 555):
        part = tmp_path / f"part{cut}.csv"
        src = write_csv(tmp_path / f"in{cut}.csv", rows[:cut])
        assert detect("--input", str(src), *args, "--output", str(part))[0] == 0
        assert read_scores(part) == read_scores(full)[:cut]


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ([["2024-01-01T00:00:00", "1", "2"]], ["--columns", "pressure"], "no column 'pressure'"),
        (
            [["2024-01-01T00:00:00", "1", "2"], ["yesterday", "1", "2"]],
            [],
            "row 2: bad timestamp 'yesterday'",
        ),
        (
            [["2024-01-01T00:00:00", "1", "2"], ["2024-01-01T00:05:00", "hot", "2"]],
            [],
            "row 2: 'hot' in 'temp' is not a number",
        ),
    ],
    ids=["missing-column", "bad-timestamp", "non-numeric"],
)
def test_bad_input_gives_a_clear_message_and_exit_code_1(
    tmp_path: Path, rows: list[list[str]], args: list[str], message: str
) -> None:
    src = write_csv(tmp_path / "bad.csv", rows)
    code, output = detect(
        "--input", str(src), "--time-column", "time", *args, "--output", str(tmp_path / "o.csv")
    )
    assert code == 1
    assert message in " ".join(output.split())


needs_nab = pytest.mark.skipif(
    not NAB.exists(), reason="NAB data not found at ../shared/data/anomaly/nab"
)


@needs_nab
def test_machine_temperature_is_judged_causally_from_its_training_rows(tmp_path: Path) -> None:
    """What holds by construction; the quality figures are reported by bench/anomaly_quality.py.

    The thresholds come from the training rows (the first 7%, which end before
    the first labelled window), the training rows are not judged, and cutting
    the file changes no earlier row: no label and no later row can shape a flag.
    """
    src = NAB / "data" / MACHINE_TEMPERATURE
    out = tmp_path / "scores.csv"
    args = ["--time-column", "timestamp", "--train-fraction", "0.07"]
    code, output = detect("--input", str(src), *args, "--output", str(out))
    assert code == 0, output
    assert "alarm thresholds from the training rows" in " ".join(output.split())
    windows = json.loads((NAB / "labels" / "combined_windows.json").read_text())[
        MACHINE_TEMPERATURE
    ]
    rows = read_scores(out)
    train = int(len(rows) * 0.07)
    assert parse_timestamp_ns(rows[train]["timestamp"]) < parse_timestamp_ns(windows[0][0])
    assert all(r["score"] == "" and r["flag"] == "0" for r in rows[:train])
    assert all(r["score"] != "" for r in rows[train + 1 :])
    # Keep the training split where it is (--train-until), cut the file after the first window.
    lines = src.read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(lines[: train + 4000]) + "\n")
    part = tmp_path / "part.csv"
    until = ["--train-until", rows[train]["timestamp"]]
    code, output = detect(
        "--input", str(cut), "--time-column", "timestamp", *until, "--output", str(part)
    )
    assert code == 0, output
    assert read_scores(part) == rows[: train + 3999]


@needs_nab
@pytest.mark.parametrize(
    "name",
    [
        "art_daily_no_noise",
        "art_daily_perfect_square_wave",
        "art_daily_small_noise",
        "art_flatline",
        "art_noisy",
    ],
)
def test_no_alert_on_series_without_anomalies(tmp_path: Path, name: str) -> None:
    out = tmp_path / "scores.csv"
    code, output = detect(
        "--input", str(NAB / "data" / "artificialNoAnomaly" / f"{name}.csv"),
        "--time-column", "timestamp", "--output", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert not any(int(r["flag"]) for r in read_scores(out))


def pump_rows(n: int = 900, fault_from: int = 600, fault_s: int = 120) -> list[list[str]]:
    """1 Hz rows of a pump: flow and the pressure it makes, motor current; for ``fault_s``
    seconds from ``fault_from`` the pressure no longer follows the flow (a leak)."""
    rng = __import__("random").Random(3)
    rows = []
    for i in range(n):
        flow = 20.0 + 2.0 * math.sin(i / 40.0) + rng.gauss(0, 0.1)
        pressure = 3.0 + 0.15 * flow + rng.gauss(0, 0.01)
        if fault_from <= i < fault_from + fault_s:
            pressure -= 0.12
        current = 11.0 + 0.2 * flow + rng.gauss(0, 0.02)
        stamp = f"2024-03-01T10:{i // 60:02d}:{i % 60:02d}"
        rows.append([stamp, f"{flow:.4f}", f"{pressure:.4f}", f"{current:.4f}"])
    return rows


def write_pump(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["time", "flow", "pressure", "current"], *rows])
    return path


def test_defaults_flag_a_minutes_long_fault_in_minutes_of_1hz_data(tmp_path: Path) -> None:
    """Five minutes of training at 1 Hz: the time scales follow the data, the broken relation
    between flow and pressure is flagged and named, the healthy rows are not."""
    src = write_pump(tmp_path / "pump.csv", pump_rows())
    out = tmp_path / "scores.csv"
    code, output = detect(
        "--input", str(src), "--time-column", "time", "--train-until", "2024-03-01T10:05:00",
        "--output", str(out),
    )  # fmt: skip
    text = " ".join(output.split())
    assert code == 0, output
    assert "time scales from the training rows: sampling step 1s, feature window 7 rows" in text
    assert "channels judged together" in text and "1 alarm(s)" in text
    assert "flow, pressure, current: no daily profile" in text  # one note for all three
    flags = [int(r["flag"]) for r in read_scores(out)]
    assert not any(flags[:600]) and sum(flags[600:720]) > 60


def test_window_and_min_duration_take_times_or_rows(tmp_path: Path) -> None:
    src = write_pump(tmp_path / "pump.csv", pump_rows())
    common = ["--input", str(src), "--time-column", "time", "--train-until", "2024-03-01T10:05:00"]
    results = {}
    for window, persist in (("30s", "10s"), ("30", "10rows"), ("30rows", "0")):
        out = tmp_path / f"{window}-{persist}.csv"
        code, output = detect(
            *common, "--window", window, "--min-duration", persist, "--output", str(out)
        )
        assert code == 0, output
        assert "feature window 30 rows" in " ".join(output.split())
        results[(window, persist)] = read_scores(out)
    assert results[("30s", "10s")] == results[("30", "10rows")]
    assert results[("30s", "10s")] != results[("30rows", "0")]
    code, output = detect(*common, "--min-duration", "soon", "--output", str(tmp_path / "o.csv"))
    assert code == 1 and "--min-duration: not a duration" in " ".join(output.split())


def test_too_few_training_rows_say_how_many_would_do(tmp_path: Path) -> None:
    src = write_pump(tmp_path / "pump.csv", pump_rows())
    code, output = detect(
        "--input", str(src), "--time-column", "time", "--train-until", "2024-03-01T10:00:10",
        "--output", str(tmp_path / "o.csv"),
    )  # fmt: skip
    text = " ".join(output.split())
    assert code == 1 and "10 training rows are too few" in text and "at least 21 rows" in text


def test_the_feature_window_is_a_duration(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", small_rows())
    common = ["--input", str(src), "--time-column", "time", "--train-until", "2024-01-01T20:00:00"]
    short, default = tmp_path / "short.csv", tmp_path / "default.csv"
    assert detect(*common, "--window", "3h", "--output", str(short))[0] == 0
    assert detect(*common, "--output", str(default))[0] == 0  # 240 training rows: 12 (1 h)
    assert read_scores(short) != read_scores(default)
    for bad, message in (
        ("soon", "--window: not a duration"),
        ("0h", "must be positive"),
        ("30d", "train on more rows or choose a shorter window"),
    ):
        code, output = detect(*common, "--window", bad, "--output", str(tmp_path / "o.csv"))
        assert code == 1 and message in " ".join(output.split()), output


def test_a_state_column_gives_each_state_its_own_expectation(tmp_path: Path) -> None:
    """The load column is the operating state here: listed or not in --columns, it is read
    as the state, and only temp is judged, per state."""
    src = write_csv(tmp_path / "in.csv", small_rows())
    common = ["--input", str(src), "--time-column", "time", "--train-until", "2024-01-01T20:00:00"]
    for columns in ("temp", "temp,load"):
        out = tmp_path / f"o-{columns}.csv"
        code, output = detect(*common, "--columns", columns, "--state-column", "load",
                              "--window", "1h", "--output", str(out))  # fmt: skip
        text = " ".join(output.split())
        assert code == 0, output
        assert "temp: judged as the residual from its median in each operating state" in text
        assert "load: judged" not in text and "load: no daily profile" not in text
        rows = read_scores(out)
        assert len(rows) == 600 and any(r["score"] for r in rows[240:])
    code, output = detect(*common, "--state-column", "gear", "--output", str(tmp_path / "x.csv"))
    assert code == 1 and "no state column 'gear'" in " ".join(output.split())


TEP = SHARED_DATA / "anomaly" / "tep"


def tep_csv(path: Path, run: str) -> Path:
    """``d00.dat`` (normal, stored transposed) followed by a test run, 3 minutes a row."""
    from datetime import datetime, timedelta

    import numpy as np

    train = np.loadtxt(TEP / "d00.dat").T
    rows = np.vstack([train, np.loadtxt(TEP / run)])
    start = datetime(2024, 1, 1)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", *(f"x{j + 1}" for j in range(rows.shape[1]))])
        for i, r in enumerate(rows):
            stamp = (start + timedelta(minutes=3 * i)).isoformat()
            w.writerow([stamp, *(f"{v:.6g}" for v in r)])
    return path


@pytest.mark.skipif(not TEP.exists(), reason="Tennessee Eastman data not found")
@pytest.mark.parametrize(("run", "flagged"), [("d00_te.dat", False), ("d01_te.dat", True)])
def test_tennessee_eastman_normal_run_is_quiet_and_a_fault_is_flagged_after_onset(
    tmp_path: Path, run: str, flagged: bool
) -> None:
    src = tep_csv(tmp_path / "tep.csv", run)
    out = tmp_path / "scores.csv"
    code, output = detect(
        "--input", str(src), "--time-column", "time", "--train-until", "2024-01-02T01:00:00",
        "--output", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert "sampling step 3m, feature window 12 rows" in " ".join(output.split())
    flags = [int(r["flag"]) for r in read_scores(out)][500:]
    assert not any(flags[:160])  # the fault starts at row 161 of a test run
    assert (sum(flags[160:]) > 600) is flagged
