"""ERP connectors from erp.yaml: every kind the integrator can configure is built, and
each mistake is reported with the file and line where it stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantos.core.clock import WallClock
from plantos.core.errors import ConfigError
from plantos.integration.channels.filedrop import FileDropChannel
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.erp.interface_table import InterfaceTableChannel
from plantos.integration.erp.outbox.config import build_connectors, load_connector_specs

GOOD = """\
connectors:
  - name: erp-webhook
    kind: webhook
    url: https://erp.example.com/plantos
    secret_env: ERP_SECRET
    kinds: [PartsCounted, OrderCompleted]
    retry: {initial_s: 2, max_s: 60, max_attempts: 10}
  - name: erp-b2mml
    kind: file-drop
    folder: drop/b2mml
    format: b2mml
    b2mml_version: V0701
  - name: erp-jsonl
    kind: file-drop
    folder: drop/jsonl
    format: jsonl
  - name: erp-table
    kind: interface-table
    url: mariadb://plantos@erp-db.example.com:3306/erp
    password_env: ERP_DB_PASSWORD
    table: mes_confirmations
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "erp.yaml"
    path.write_text(text)
    return path


def test_every_connector_kind_is_built_with_its_options(tmp_path: Path) -> None:
    specs = load_connector_specs(write(tmp_path, GOOD))
    environ = {"ERP_SECRET": "s" * 32, "ERP_DB_PASSWORD": "pw"}
    connectors = build_connectors(specs, clock=WallClock(), environ=environ)
    assert [c.name for c in connectors] == ["erp-webhook", "erp-b2mml", "erp-jsonl", "erp-table"]
    webhook, b2mml, jsonl, table = connectors
    assert isinstance(webhook.channel, WebhookChannel)
    assert webhook.kinds == {"PartsCounted", "OrderCompleted"}
    assert (webhook.retry.initial_s, webhook.retry.max_s, webhook.retry.max_attempts) == (2, 60, 10)
    assert isinstance(b2mml.channel, FileDropChannel) and b2mml.kinds is None
    assert isinstance(jsonl.channel, FileDropChannel)
    assert isinstance(table.channel, InterfaceTableChannel)
    assert table.retry.max_attempts is None  # an outage fills the outbox, loses nothing


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("connectors:\n  - name: a\n    kind: ftp\n", 3, "unknown connector kind 'ftp'"),
        (
            "connectors:\n  - name: t\n    kind: interface-table\n    url: sqlite:///x.db\n",
            4, "PostgreSQL or MariaDB",
        ),
        (
            "connectors:\n  - name: t\n    kind: interface-table\n"
            "    url: postgresql://erp:secret@db/erp\n",
            4, "password_env",
        ),
        (
            "connectors:\n  - name: j\n    kind: file-drop\n    folder: d\n    format: jsonl\n"
            "    retry: {initial_s: 0}\n",
            6, "greater than 0",
        ),
        (
            "connectors:\n  - name: j\n    kind: file-drop\n    folder: d\n    format: jsonl\n"
            "    kinds: [\"bad kind\"]\n",
            6, "letters, digits",
        ),
        (
            "connectors:\n  - name: j\n    kind: file-drop\n    folder: d\n    format: jsonl\n"
            "  - name: j\n    kind: file-drop\n    folder: e\n    format: jsonl\n",
            6, "duplicate connector name 'j' (first at line 2)",
        ),
        ("channels: []\n", 1, "'connectors' (outbound) and/or 'inbound'"),
    ],
)  # fmt: skip
def test_a_mistake_names_its_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_connector_specs(path)
    [problem] = caught.value.problems
    assert problem.file == str(path) and problem.line == line
    assert words in problem.message


def test_a_missing_database_password_stops_the_start(tmp_path: Path) -> None:
    specs = load_connector_specs(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="ERP_DB_PASSWORD is not set"):
        build_connectors(specs, clock=WallClock(), environ={"ERP_SECRET": "s" * 32})
