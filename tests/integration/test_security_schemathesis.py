"""schemathesis against the OpenAPI document of a real server: generated requests to every
operation (bounded examples each) get no 5xx answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (a dev dependency in pyproject.toml)"
)


def endless(path: str) -> bool:
    """Server-sent event streams (the live values, an operator station's notifications)
    never end by design: not for a generator that waits for each answer."""
    return path.endswith("/stream")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("schemathesis"), MIXER_OEE_PLANT) as running:
        yield running


def _auth(server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_token}"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error(server: RunningServer) -> None:
    spec = httpx.get(f"{server.url}/api/openapi.json", headers=_auth(server)).json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        if endless(operation.path):
            continue

        @settings(
            max_examples=5,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def probe(case: Any) -> None:
            response = case.call(base_url=server.url, headers=_auth(server), timeout=30)
            if response.status_code >= 500:
                where = f"{case.method} {case.formatted_path}"
                failures.append(f"{where}: {response.text[:200]}")

        probe()
    assert not failures, "\n".join(failures)
