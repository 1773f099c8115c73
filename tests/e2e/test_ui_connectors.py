"""The connectors page in a real browser: a live MTConnect agent shows as connected, then as
disconnected with its error once the agent goes away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.integration.test_mtconnect_connector import PLANT
from tests.support.mtconnect_agent import Agent, AgentServer
from tests.support.server import RunningServer, running_server, wait_until


@pytest.fixture
def plant_with_agent(tmp_path: Path) -> Iterator[tuple[RunningServer, AgentServer]]:
    agent_server = AgentServer(Agent(buffer_size=1000))
    agent_server.start()
    try:
        with running_server(tmp_path, PLANT.replace("URL", agent_server.url)) as server:
            yield server, agent_server
    finally:
        agent_server.stop()


def test_connectors_page_shows_link_state_and_errors(
    browser: Browser, plant_with_agent: tuple[RunningServer, AgentServer], tmp_path: Path
) -> None:
    server, agent_server = plant_with_agent
    [supervisor] = server.platform.connectors
    try:
        wait_until(lambda: supervisor.connected and supervisor.samples >= 1, "the connector", 5)
    except RuntimeError:
        raise AssertionError(str(supervisor.metrics())) from None
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto(server.signin_link())
    page.goto("/connectors")
    row = page.locator('tr[data-connector="mill-agent"]')
    expect(row).to_contain_text("connected")
    expect(row).not_to_contain_text("disconnected")
    page.screenshot(path=str(tmp_path / "connectors.png"))
    agent_server.stop()
    wait_until(lambda: not supervisor.connected, "the link to drop")
    page.reload()
    expect(row).to_contain_text("disconnected")
    expect(row).to_contain_text("MTConnectError")
    context.close()
