"""Master data files: every contradiction reported with file and line, nothing loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantos.core.errors import ConfigError
from plantos.mom.masterdata import load_master_data

ASSETS = {"p/a/l1/cnc-1", "p/a/l1/cnc-2"}
GOOD = """\
products:
  - {id: shaft, name: Shaft, routing: shaft}
routings:
  - id: shaft
    product: shaft
    operations:
      - name: mill
        assets:
          - {asset: p/a/l1/cnc-1, setup: 10m, run_per_unit: 90s}
"""


def load(tmp_path: Path, text: str) -> object:
    file = tmp_path / "mom.yaml"
    file.write_text(text)
    return load_master_data(file, assets=ASSETS)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_good_file_loads_with_times_in_seconds(tmp_path: Path) -> None:
    master = load(tmp_path, GOOD)
    option = master.routings["shaft"].steps[0].options[0]  # type: ignore[attr-defined]
    assert (option.setup_s, option.run_s_per_unit) == (600, 90.0)


def test_unknown_asset_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("p/a/l1/cnc-1", "p/a/l1/cnc-9")
    where = f"{tmp_path / 'mom.yaml'}:9"
    assert problems(tmp_path, text) == [
        f"{where}: routing 'shaft', operation 'mill': unknown asset 'p/a/l1/cnc-9'"
    ]


def test_operation_without_eligible_asset(tmp_path: Path) -> None:
    text = GOOD.split("        assets:")[0] + "        assets: []\n"
    (found,) = problems(tmp_path, text)
    assert found.endswith(":7: routing 'shaft', operation 'mill': no eligible asset")


def test_cyclic_alternatives_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("    product: shaft\n", "    product: shaft\n    alternatives: [shaft2]\n")
    text += """\
  - id: shaft2
    product: shaft
    alternatives: [shaft]
    operations:
      - {name: mill, assets: [{asset: p/a/l1/cnc-2, run_per_unit: 95s}]}
"""
    (found,) = problems(tmp_path, text)
    assert ":6: cyclic alternatives: shaft -> shaft2 -> shaft" in found


def test_unknown_product_and_routing(tmp_path: Path) -> None:
    text = GOOD.replace("routing: shaft}", "routing: gear}").replace(
        "product: shaft\n", "product: x\n"
    )
    found = problems(tmp_path, text)
    assert any(":2: product 'shaft': unknown routing 'gear'" in p for p in found)
    assert any(":5: routing 'shaft': unknown product 'x'" in p for p in found)


def test_unknown_key_names_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("name: Shaft", "name: Shaft, colour: red"))
    assert any(":2:" in p and "unknown key 'colour'" in p for p in found)


def test_bad_duration_names_its_line(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, GOOD.replace("run_per_unit: 90s", "run_per_unit: fast"))
    assert ":9: run_per_unit:" in found


def test_changeovers_load_per_asset_and_name_unknown_products(tmp_path: Path) -> None:
    text = (
        GOOD
        + """\
changeovers:
  - {assets: [p/a/l1/cnc-1, p/a/l1/cnc-2], from: shaft, to: shaft, setup: 5m}
"""
    )
    master = load(tmp_path, text)
    assert [(c.asset, c.setup_s) for c in master.changeovers] == [  # type: ignore[attr-defined]
        ("p/a/l1/cnc-1", 300),
        ("p/a/l1/cnc-2", 300),
    ]
    (found,) = problems(tmp_path, text.replace("to: shaft", "to: gear"))
    assert found.endswith(":11: changeover: unknown product 'gear'")
