"""``plantos db``, ``plantos orders`` and ``plantos check`` on master data: the work done,
and a plain error (exit 1) with nothing written for bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from plantos.mom.store.migrate import head_revision
from tests.conftest import DEMO_PLANT

runner = CliRunner()


@pytest.fixture
def plant(tmp_path: Path) -> Path:
    """The demo plant and its master data, copied where the test may change them."""
    for name in ("plantos.yaml", "mom.yaml"):
        shutil.copy(DEMO_PLANT.parent / name, tmp_path / name)
    return tmp_path / "plantos.yaml"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_db_upgrade_then_status(plant: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, text = run("db", "status", "-c", str(plant), "--data-dir", str(data))
    assert code == 1 and "revision empty" in text
    code, text = run("db", "upgrade", "-c", str(plant), "--data-dir", str(data))
    assert code == 0 and f"at revision {head_revision()} (was empty)" in text
    assert (data / "mom.sqlite").is_file()
    assert run("db", "status", "-c", str(plant), "--data-dir", str(data))[0] == 0


def test_check_names_file_and_line_of_a_bad_routing(plant: Path) -> None:
    mom = plant.parent / "mom.yaml"
    mom.write_text(mom.read_text().replace("line-1/cnc-06", "line-1/cnc-66"))
    code, text = run("check", str(plant))
    assert code == 1
    line = next(i for i, t in enumerate(mom.read_text().splitlines(), 1) if "cnc-66" in t)
    assert f"mom.yaml:{line}: routing 'flange-m', operation 'mill': unknown asset" in text


def test_orders_import_refuses_wrong_columns_and_writes_nothing(
    plant: Path, tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,product,qty,due\nPO-1,shaft-s,5,2099-01-06T12:00Z\n")
    code, text = run("orders", "import", str(bad), "-c", str(plant), "--data-dir", data)
    assert code == 1 and "missing column(s) quantity" in text and "unknown column(s) qty" in text
    good = tmp_path / "good.csv"
    good.write_text(
        "id,product,quantity,due\nPO-1,shaft-s,5,2099-01-06T12:00Z\nPO-2,hub-l,7,2099-01-06T13:00Z\n"
    )
    code, text = run("orders", "import", str(good), "-c", str(plant), "--data-dir", data)
    assert code == 0 and "released 2 orders" in text
    code, text = run("orders", "list", "-c", str(plant), "--data-dir", data, "--json")
    assert code == 0 and '"PO-1"' in text and '"PO-2"' in text


def test_orders_create_and_state_errors(plant: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    common = ["-c", str(plant), "--data-dir", data]
    code, text = run(
        "orders",
        "create",
        "PO-9",
        "--product",
        "gear",
        "--quantity",
        "5",
        "--due",
        "2099-01-06T12:00Z",
        *common,
    )
    assert code == 1 and "unknown product 'gear'" in text
    code, _ = run(
        "orders",
        "create",
        "PO-9",
        "--product",
        "shaft-s",
        "--quantity",
        "5",
        "--due",
        "2099-01-06T12:00Z",
        *common,
    )
    assert code == 0
    assert run("orders", "set-state", "PO-9", "cancelled", *common)[0] == 0
    code, text = run("orders", "set-state", "PO-9", "running", *common)
    assert code == 1 and "PO-9 is cancelled" in text


def test_master_shows_the_demo_routings(plant: Path, tmp_path: Path) -> None:
    code, text = run(
        "orders", "master", "-c", str(plant), "--data-dir", str(tmp_path / "d"), "--reload"
    )
    assert code == 0 and "shaft-s (Drive shaft S): turn-and-mill" in text
