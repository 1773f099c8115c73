"""Fixtures shared by every test layer."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from tests.support.mosquitto import Broker, mosquitto_binary, running_mosquitto

if TYPE_CHECKING:
    import sqlalchemy as sa

# CI explores the same examples every run, so a landing never hinges on a lucky draw;
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Rich and click size their output from COLUMNS and LINES when set, else from the terminal
# (none while pytest captures output): 80 by 25. A parallel run's workers inherit the size
# of the terminal pytest was started in as COLUMNS and LINES, and the command modules'
# consoles, made at import, would keep that width for good. Without them every run renders
# alike, and a test that wants another width passes COLUMNS to the command it runs.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)

MAX_WORKERS = 2
"""Parallel workers of ``-n auto`` (the default in pyproject.toml): the suite is measured
on two cores, and each worker runs its own servers, brokers and browser."""

REPO = Path(__file__).resolve().parents[1]
DEMO_PLANT = REPO / "examples" / "demo-plant" / "plantos.yaml"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def demo_plant_path() -> Path:
    return DEMO_PLANT


@pytest.fixture
def shared_data() -> Path:
    """Reference data from outside PlantOS; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """The name of a PostgreSQL database migrated to the newest revision once per run,
    which each test's fresh database copies."""
    from tests.support.mom_db import migrated_template

    with migrated_template() as name:
        yield name


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The operations database, migrated to the newest revision: a file of SQLite, and a
    fresh copy of the migrated database on the local PostgreSQL. Imported here, not at the
    top: most test modules never touch the operations store."""
    from plantos.mom.store import open_engine, resolve_url, upgrade
    from tests.support.mom_db import fresh_postgres

    if request.param == "postgresql":
        with fresh_postgres(template=request.getfixturevalue("migrated_postgres")) as url:
            engine = open_engine(url)
            yield engine
            engine.dispose()
        return
    engine = open_engine(resolve_url(f"sqlite:///{tmp_path / 'mom.sqlite'}", data_dir=tmp_path))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private Mosquitto for the test module, on a free port."""
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


@pytest.fixture(scope="session")
def reference_pb2(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The reference ``sparkplug_b.proto`` compiled by ``grpc_tools.protoc`` and imported."""
    folder = SHARED_DATA / "sparkplug"
    proto = folder / "sparkplug_b.proto"
    if not proto.is_file():
        pytest.skip(f"reference Sparkplug B definition {proto} is absent")
    if importlib.util.find_spec("grpc_tools") is None:
        pytest.skip("grpcio-tools is not installed")
    out = tmp_path_factory.mktemp("sparkplug_ref")
    # protoc runs in its own process: grpc_tools and OR-Tools each bundle native protobuf
    # libraries that must not be loaded into one interpreter together.
    compiled = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={folder}",
            f"--python_out={out}",
            str(proto),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert compiled.returncode == 0, f"protoc failed on the reference definition: {compiled.stderr}"
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("sparkplug_b_pb2")
    finally:
        sys.path.remove(str(out))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker per CPU this process may run on, at most ``MAX_WORKERS``; none
    (one process) when the run names tests of one module only: a worker is handed whole
    modules, so more processes would only add their start-up."""
    modules = {arg.split("::", 1)[0] for arg in config.args}
    if len(modules) == 1 and modules.pop().endswith(".py"):
        return 0
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread for as long as the browser lives, which would break ``asyncio.run`` elsewhere.
    Within each part, the modules holding a ``slow`` test first: a parallel run hands out
    modules in this order, and a long one handed out last would leave the other workers
    idle while it runs. Whole modules move, so a module's fixtures are set up once."""
    browser = {item.path for item in items if "browser" in item.fixturenames}
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.path in browser, item.path not in slow))
