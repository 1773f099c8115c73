"""Protocol libraries log at WARNING unless ``--verbose``: an OPC UA connect alone logs
about 80 INFO lines, which drown PlantOS's own messages."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from plantos.cli.common import THIRD_PARTY_LOGGERS, setup_logging
from plantos.cli.main import app


@pytest.fixture
def restore_levels() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_levels")
def test_libraries_log_at_warning_by_default() -> None:
    setup_logging("INFO")
    for name in ("asyncua", "asyncua.client.ua_client", "pymodbus", "paho", "amqtt"):
        logger = logging.getLogger(name)
        assert logger.getEffectiveLevel() == logging.WARNING, name
        assert not logger.isEnabledFor(logging.INFO)
    assert logging.getLogger("plantos").level == logging.NOTSET  # follows the root level


@pytest.mark.usefixtures("restore_levels")
def test_verbose_lets_library_info_through() -> None:
    setup_logging("INFO", verbose=True)
    assert logging.getLogger("asyncua.client.client").isEnabledFor(logging.INFO)
    assert logging.getLogger("pymodbus").isEnabledFor(logging.INFO)


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_serve_and_demo_take_verbose(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--verbose" in result.output
