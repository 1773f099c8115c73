"""Fixtures of the ERP inbound-table tests: the operations service PlantOS applies rows
to, and the external database playing the ERP (PostgreSQL and MariaDB)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plantos.core.clock import ManualClock
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade
from tests.contract.test_mom_store import CNC1, CNC2, T0, master
from tests.support.erp_db import erp_database


@pytest.fixture
def mom(tmp_path: Path) -> Iterator[MomService]:
    engine = open_engine(resolve_url("sqlite:///mom.sqlite", data_dir=tmp_path))
    upgrade(engine)
    service = MomService(engine, clock=ManualClock(T0), assets={CNC1, CNC2})
    service.seed_master_data(master())
    yield service
    engine.dispose()


@pytest.fixture(params=["postgresql", "mariadb"])
def erp_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with erp_database(request.param) as url:
        yield url
