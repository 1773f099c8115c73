"""The ``inbound`` entries of erp.yaml: read with their options, every mistake named with
its line, and a file with only inbound tables is valid for the outbound side too."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantos.core.errors import ConfigError
from plantos.integration.erp.inbound.config import load_inbound_specs
from plantos.integration.erp.outbox.config import load_connector_specs

GOOD = """\
inbound:
  - name: erp-orders
    kind: interface-table
    url: mariadb://plantos@erp-db.example.com:3306/erp
    password_env: ERP_DB_PASSWORD
    create_table: true
    interval_s: 5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "erp.yaml"
    path.write_text(text)
    return path


def test_an_inbound_table_is_read_with_its_options(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    (spec,) = load_inbound_specs(path)
    assert (spec.name, spec.table, spec.create_table, spec.interval_s) == (
        "erp-orders", "plantos_inbound", True, 5.0
    )  # fmt: skip
    assert load_connector_specs(path) == []


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        ("    interval_s: 5\n", 7, "greater than 0"),
        ("    create_table: true\n", 6, "valid boolean"),
        ("    url: mariadb://plantos@erp-db.example.com:3306/erp\n", 4, "password_env"),
        ("    kind: interface-table\n", 3, "'interface-table'"),
        ("    password_env: ERP_DB_PASSWORD\n", 5, "unknown key 'pasword_env'"),
    ],
)
def test_each_mistake_is_named_with_its_line(
    tmp_path: Path, change: str, line: int, reason: str
) -> None:
    bad = {
        "    interval_s: 5\n": "    interval_s: 0\n",
        "    create_table: true\n": "    create_table: perhaps\n",
        "    url: mariadb://plantos@erp-db.example.com:3306/erp\n":
            "    url: mariadb://plantos:secret@erp-db.example.com:3306/erp\n",
        "    kind: interface-table\n": "    kind: webhook\n",
        "    password_env: ERP_DB_PASSWORD\n": "    pasword_env: ERP_DB_PASSWORD\n",
    }[change]  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_inbound_specs(write(tmp_path, GOOD.replace(change, bad)))
    text = str(caught.value)
    assert f"erp.yaml:{line}" in text and reason in text


def test_duplicate_names_and_unknown_top_level_keys_are_refused(tmp_path: Path) -> None:
    twice = GOOD + GOOD.split("\n", 1)[1]
    with pytest.raises(ConfigError, match="duplicate inbound name 'erp-orders'"):
        load_inbound_specs(write(tmp_path, twice))
    with pytest.raises(ConfigError, match="'connectors' \\(outbound\\) and/or 'inbound'"):
        load_connector_specs(write(tmp_path, GOOD + "outbound: []\n"))


def test_a_products_table_is_read_and_must_differ_from_the_orders_table(tmp_path: Path) -> None:
    (spec,) = load_inbound_specs(write(tmp_path, GOOD))
    assert spec.products_table is None  # orders only unless asked
    (spec,) = load_inbound_specs(write(tmp_path, GOOD + "    products_table: erp_products\n"))
    assert spec.products_table == "erp_products"
    with pytest.raises(ConfigError) as caught:
        load_inbound_specs(write(tmp_path, GOOD + "    products_table: plantos_inbound\n"))
    assert "products_table must differ from table ('plantos_inbound')" in str(caught.value)
    with pytest.raises(ConfigError, match=r"erp\.yaml:8"):
        load_inbound_specs(write(tmp_path, GOOD + "    products_table: 'drop table'\n"))
