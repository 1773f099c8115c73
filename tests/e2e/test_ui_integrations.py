"""The integrations page in a real browser: a connector's counts and last error, a dead
letter with the receiver's reason and its payload, and the replay button that sends it
again once the ERP side is fixed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from plantos.core.clock import WallClock
from plantos.core.events import PartsCounted
from plantos.mom.store.uow import SqlUnitOfWork
from tests.integration.test_erp_cli_api import erp_yaml
from tests.support.erp_receiver import SECRET, ErpReceiver, serving
from tests.support.mosquitto import free_port
from tests.support.server import running_server, wait_until


def test_integrations_page_shows_dead_letters_and_replays_them(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_TEST_SECRET", SECRET.decode())
    receiver, port = ErpReceiver(), free_port()
    receiver.refuse = lambda env: "order 4712 unknown" if env["ordering_key"] == "4712" else None
    (tmp_path / "erp.yaml").write_text(erp_yaml(port))
    with serving(receiver, port), running_server(tmp_path) as server:
        with SqlUnitOfWork(server.platform.mom.service.engine, clock=WallClock()) as uow:
            uow.record(PartsCounted(ts_ns=1, subject="4711", good=40, scrap=2))
            uow.record(PartsCounted(ts_ns=2, subject="4712", good=17, scrap=0))
            uow.commit()
        erp = server.platform.erp
        assert erp is not None
        wait_until(lambda: erp.store.status("erp")["dead"] == 1, "the dead letter")
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        page.goto(server.signin_link())
        page.goto("/integrations")
        row = page.locator('tr[data-connector="erp"]')
        expect(row.locator(".delivered")).to_have_text("1")
        expect(row.locator(".last-delivery")).to_contain_text(re.compile(r"^(just now|\d+ s ago)$"))
        expect(row.locator(".dead")).to_have_text("1")
        expect(row).to_contain_text("HTTP 400: order 4712 unknown")
        [letter] = erp.store.dead_letters("erp")
        dead = page.locator(f'tr[data-message="{letter.key}"]')
        expect(dead).to_contain_text("HTTP 400: order 4712 unknown")
        dead.locator("summary").click()
        expect(dead.locator("pre")).to_contain_text('"good": 17')
        page.screenshot(path=str(tmp_path / "integrations.png"))
        receiver.refuse = lambda env: None  # the order now exists in the ERP
        dead.locator("button.replay").click()
        expect(page.locator("#message")).to_have_text("1 dead letter(s) of erp go again")
        wait_until(lambda: erp.store.status("erp")["delivered"] == 2, "the replayed delivery")
        page.goto("/integrations")
        expect(row.locator(".delivered")).to_have_text("2")
        expect(page.locator("#no-dead-letters")).to_be_visible()
        context.close()
    assert len(receiver.effects) == 2
