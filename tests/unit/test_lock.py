"""requirements.lock, what set-up installs, agrees with pyproject.toml: every dependency
pinned exactly with hashes, within its range, from a public index and no machine's files.
A dependency added to pyproject.toml without ``make lock`` fails here."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

LOCK = REPO / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pinned() -> dict[str, str]:
    return {
        canonicalize_name(m.group(1)): m.group(2)
        for line in LOCK.read_text().splitlines()
        if (m := PIN.match(line))
    }


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_every_declared_dependency_is_pinned_within_its_range(requirement: Requirement) -> None:
    versions = pinned()
    name = canonicalize_name(requirement.name)
    assert name in versions, f"{name} is in pyproject.toml but not in the lock: run make lock"
    assert requirement.specifier.contains(versions[name], prereleases=True), (
        f"{name}=={versions[name]} is outside pyproject.toml's {requirement.specifier}"
    )


def test_every_pin_carries_hashes_and_no_machine_path() -> None:
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    pins = [b for b in blocks if PIN.match(b)]
    assert len(pins) == len(pinned()) > 0
    assert all("--hash=sha256:" in b for b in pins), "pip install --require-hashes needs them"
    for marker in ("file://", "--find-links", "--extra-index-url", "--index-url", " /"):
        assert marker not in text, f"the lock names a machine's location ({marker!r})"


def imported_top_level_modules() -> set[str]:
    """Every top-level module the package imports, found by parsing, not by running."""
    modules: set[str] = set()
    for path in (REPO / "src" / "plantos").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """A module that arrives only as another package's dependency vanishes when that
    package changes; the fresh install then fails at import. Declared is what lasts."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    allowed = {
        canonicalize_name(Requirement(r).name)
        for r in project["dependencies"] + project["optional-dependencies"]["oidc"]
    }
    owners = importlib.metadata.packages_distributions()
    undeclared = {}
    for module in imported_top_level_modules() - set(sys.stdlib_module_names) - {"plantos"}:
        distributions = {canonicalize_name(d) for d in owners.get(module, [])}
        if not distributions & allowed:
            undeclared[module] = sorted(distributions) or ["not installed"]
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
