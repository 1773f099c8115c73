"""The data directory from the command line: one default for the commands that share it,
a sign-in link only for a folder that holds PlantOS data, and dead letters listed and
replayed by ``plantos deadletter``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer.main
from typer.testing import CliRunner

from plantos.app import Platform, Settings
from plantos.cli.main import app
from plantos.core.batch import SampleBatch
from plantos.core.clock import WallClock
from plantos.historian.deadletter import DEAD_LETTERS_FILE, DeadLetterStore
from plantos.security import TokenStore
from tests.support.server import SMALL_PLANT

NS = 1_000_000_000
TEMP = "site-1/mixing/line-1/mixer-1/temperature"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def data_dir_default(*path: str) -> Any:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    [param] = [p for p in command.params if p.name == "data_dir"]
    return param.default


def test_the_commands_that_read_a_platforms_data_share_one_default_data_dir() -> None:
    defaults = {
        data_dir_default(*p)
        for p in (
            ("serve",),
            ("query",),
            ("signin-link",),
            ("deadletter", "list"),
            ("analytics", "oee"),
            ("analytics", "spc"),
        )
    }
    assert defaults == {Path("data")}


def test_a_signin_link_for_a_folder_without_plantos_data_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    result = run("signin-link", "--data-dir", str(empty))
    assert result.exit_code == 1
    assert f"no PlantOS data in {empty}" in result.output
    assert not empty.exists(), "asking for a link must not create a store"


def test_a_signin_link_for_a_platform_folder_signs_in(tmp_path: Path) -> None:
    TokenStore(tmp_path / "security.sqlite", clock=WallClock()).bootstrap_admin()
    result = run("signin-link", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("http://127.0.0.1:8080/signin?token=")


def test_deadletter_list_without_letters_says_so(tmp_path: Path) -> None:
    result = run("deadletter", "list", "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert f"no dead letters in {tmp_path}" in result.output


def test_deadletter_list_and_replay_bring_the_samples_back(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    data = tmp_path / "data"
    platform = Platform(Settings(config=config, data_dir=data))
    tag = platform.tag_ids[TEMP]
    platform.historian.close()
    t0 = 1_767_000_000
    batch = SampleBatch.of(np.full(4, tag), (t0 + np.arange(4)) * NS, np.arange(4.0))
    DeadLetterStore(data / DEAD_LETTERS_FILE).add(
        batch, reason="OSError: disk full", stage="historian", at_ns=t0 * NS
    )

    listed = run("deadletter", "list", "--data-dir", str(data))
    assert listed.exit_code == 0, listed.output
    assert "OSError: disk full" in listed.output

    replayed = run("deadletter", "replay", "-c", str(config), "--data-dir", str(data))
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 dead letter(s), 4 samples; 0 refused again" in replayed.output
    assert run("deadletter", "list", "--data-dir", str(data)).output.strip() == "no dead letters"

    reopened = Platform(Settings(config=config, data_dir=data))
    try:
        raw = reopened.historian.query_raw(tag, t0 * NS, (t0 + 10) * NS, limit=100)
    finally:
        reopened.historian.close()
    assert raw.value.tolist() == [0.0, 1.0, 2.0, 3.0]
