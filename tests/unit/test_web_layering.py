"""The web layer (``plantos.api``, ``plantos.ui``) depends on the platform port, never on
the composition root ``plantos.app`` that builds the platform and installs the web layer;
the maintenance wiring the root calls (``plantos.loops``) names what it needs the same way."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import plantos.api
import plantos.loops
import plantos.ui

COMPOSITION_ROOT = "plantos.app"


def _imported(source: str, *, module: str) -> Iterator[tuple[int, str]]:
    """Every module ``source`` imports (top level, in functions, under TYPE_CHECKING),
    with its line; ``from plantos import app`` counts as importing ``plantos.app``."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _reaches_root(name: str) -> bool:
    return name == COMPOSITION_ROOT or name.startswith(COMPOSITION_ROOT + ".")


def _below_the_root() -> Iterator[tuple[str, Path]]:
    for package in (plantos.api, plantos.ui, plantos.loops):
        for root in package.__path__:
            for path in sorted(Path(root).rglob("*.py")):
                relative = path.relative_to(root).with_suffix("")
                parts = [p for p in relative.parts if p != "__init__"]
                yield ".".join([package.__name__, *parts]), path


def test_no_module_below_the_root_imports_it() -> None:
    modules = list(_below_the_root())
    assert {m.split(".")[1] for m, _ in modules} == {"api", "ui", "loops"}
    offending = [
        f"{path}:{line} imports {name}"
        for module, path in modules
        for line, name in _imported(path.read_text(encoding="utf-8"), module=module)
        if _reaches_root(name)
    ]
    assert offending == []


@pytest.mark.parametrize(
    "source",
    [
        "from plantos.app import Platform",
        "import plantos.app",
        "from plantos import app",
        "from .. import app",
        "from ..app import Settings",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from plantos.app import Platform",
        "def f():\n    from plantos.app import create_app",
    ],
)
def test_every_form_of_importing_the_root_is_caught(source: str) -> None:
    found = [name for _, name in _imported(source, module="plantos.api.somewhere")]
    assert any(_reaches_root(name) for name in found), found


@pytest.mark.parametrize(
    "source",
    ["from plantos.api.ports import PlatformPort", "from plantos.application import x"],
)
def test_neighbours_of_the_root_are_not_mistaken_for_it(source: str) -> None:
    found = [name for _, name in _imported(source, module="plantos.api.somewhere")]
    assert not any(_reaches_root(name) for name in found), found


def test_importing_the_web_layer_leaves_the_composition_root_unloaded() -> None:
    probe = "import sys, plantos.api, plantos.ui; print('plantos.app' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "False"
