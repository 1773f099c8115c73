"""The reports over the HTTP API of a real server and from the command line: content
types, file names, the same figures in every format, and a 4xx naming the reason for an
unknown site or shift, a bad date or a range not begun."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from plantos.cli.main import app
from tests.support.report_plant import DAY, M1, PLANT, write_site
from tests.support.server import RunningServer, running_server

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("reports-api")
    write_site(folder)
    with running_server(folder, PLANT) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def test_shift_report_in_each_format(client: httpx.Client) -> None:
    query = {"site": "site-1", "shift": "early", "date": DAY}
    as_json = client.get("/api/v1/reports/shift", params=query)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    report = as_json.json()
    assert report["period"] == f"{DAY} early"
    name = f'attachment; filename="shift-report-site-1-{DAY}-early.json"'
    assert as_json.headers["content-disposition"] == name
    as_csv = client.get("/api/v1/reports/shift", params=query | {"format": "csv"})
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    total = next(r for r in rows if r["section"] == "total")
    assert int(total["good"]) == report["totals"]["good"]
    as_xlsx = client.get("/api/v1/reports/shift", params=query | {"format": "xlsx"})
    assert as_xlsx.headers["content-type"] == XLSX
    assert as_xlsx.headers["content-disposition"].endswith('-early.xlsx"')
    book = load_workbook(io.BytesIO(as_xlsx.content))
    assert list(book["Downtime"].iter_rows(values_only=True))[1] == (M1, "jam", 3600.0)


def test_daily_report_of_a_day(client: httpx.Client) -> None:
    answer = client.get("/api/v1/reports/daily", params={"site": "site-1", "date": DAY})
    assert answer.status_code == 200, answer.text
    assert [s["shift"] for s in answer.json()["shifts"]] == ["early", "late"]


@pytest.mark.parametrize(
    ("route", "query", "status", "says"),
    [
        ("shift", {"site": "nowhere", "shift": "early", "date": DAY}, 404, "no site 'nowhere'"),
        ("shift", {"site": "site-1", "shift": "night", "date": DAY}, 404, "no shift 'night'"),
        ("shift", {"site": "site-1", "shift": "early", "date": "yesterday"}, 400, "calendar day"),
        ("daily", {"site": "site-1", "date": "2099-01-01"}, 400, "has not begun yet"),
        ("daily", {"site": "site-1", "format": "pdf"}, 422, "format"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(
    client: httpx.Client, route: str, query: dict[str, str], status: int, says: str
) -> None:
    answer = client.get(f"/api/v1/reports/{route}", params=query)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]


def test_reports_need_a_token(server: RunningServer) -> None:
    answer = httpx.get(f"{server.url}/api/v1/reports/daily", params={"site": "site-1"})
    assert answer.status_code == 401


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("reports-cli"))


def test_cli_writes_the_format_of_the_file_suffix(site: Path, tmp_path: Path) -> None:
    data = str(site.parent / "data")
    out = tmp_path / "day.xlsx"
    args = ["report", "daily", "--site", "site-1", "--date", DAY, "-c", str(site)]
    done = CliRunner().invoke(app, [*args, "--data-dir", data, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert load_workbook(out).sheetnames[0] == "Summary"
    shown = CliRunner().invoke(app, [*args, "--data-dir", data])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["period"] == DAY
    as_csv = CliRunner().invoke(app, [*args, "--data-dir", data, "--format", "csv"])
    assert as_csv.stdout.startswith("section,shift,from,to,order")


def test_cli_refuses_an_unknown_shift_and_a_bad_suffix(site: Path, tmp_path: Path) -> None:
    base = ["report", "shift", "--site", "site-1", "-c", str(site)]
    base += ["--data-dir", str(site.parent / "data")]
    done = CliRunner().invoke(app, [*base, "--shift", "night", "--date", DAY])
    assert done.exit_code == 1 and "no shift 'night'" in done.output
    done = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "r.pdf")])
    assert done.exit_code == 1 and "must be .json, .csv or .xlsx" in done.output
    assert not (tmp_path / "r.pdf").exists()
