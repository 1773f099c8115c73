"""``--help`` of every ``plantos`` command and sub-command, found by walking the command
tree (a new command is covered without touching this file): it must not crash, and on an
80-column terminal it must fit without cutting anything short."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from plantos.cli.main import app

WIDTH = 80


def command_paths() -> list[tuple[str, ...]]:
    """Every command path below ``plantos``, the root included, in a stable order."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        children = getattr(command, "commands", {})  # a group: its sub-commands by name
        for name in sorted(children):
            walk(children[name], (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def test_the_walk_finds_nested_commands() -> None:
    paths = command_paths()
    assert ("serve",) in paths
    assert any(len(p) == 2 for p in paths), "sub-commands of a group are walked too"


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "plantos")
def test_help_renders_whole_in_80_columns(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(
        app, [*path, "--help"], env={"COLUMNS": str(WIDTH), "TERMINAL_WIDTH": str(WIDTH)}
    )
    assert result.exception is None, f"{' '.join(path)} --help crashed: {result.exception!r}"
    assert result.exit_code == 0
    assert "Usage:" in result.output
    lines = result.output.splitlines()
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert not too_wide, f"lines wider than {WIDTH} columns: {too_wide}"
    assert "…" not in result.output, f"something is cut short:\n{result.output}"
