"""The platform runs the outbox dispatcher as one of its supervised stages when an
erp.yaml stands next to the plant file: a fact written to the outbox reaches the ERP's
folder by itself, and the stage shows in health."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from plantos.app import Platform, Settings
from plantos.core.events import PartsCounted
from plantos.mom.store.uow import SqlUnitOfWork
from tests.support.server import SMALL_PLANT
from tests.support.waiting import until

pytestmark = pytest.mark.timeout(60)


def test_outbox_facts_reach_the_erp_folder_through_the_supervised_stage(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    drop = tmp_path / "erp-in"
    drop.mkdir()
    (tmp_path / "erp.yaml").write_text(
        f"connectors:\n  - name: erp-files\n    kind: file-drop\n    folder: {drop}\n"
        "    format: jsonl\n"
        f"  - name: erp-b2mml\n    kind: file-drop\n    folder: {drop}\n    format: b2mml\n"
        "    b2mml_version: V0701\n"
        f"  - name: erp-b2mml-filtered\n    kind: file-drop\n    folder: {drop}\n"
        "    format: b2mml\n    kinds: [production_performance]\n"
    )
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data"))
    assert platform.erp is not None

    async def run() -> None:
        await platform.start()
        try:
            with SqlUnitOfWork(platform.mom.service.engine, clock=platform.clock) as uow:
                uow.record(PartsCounted(ts_ns=1, subject="4711", good=40, scrap=2))
                uow.commit()
            await until(lambda: len(list(drop.glob("*.jsonl"))) == 1, timeout=20)
            await until(lambda: platform.erp.store.status("erp-b2mml")["dead"] == 1, timeout=20)
            stages = {s["stage"]: s for s in platform.health()["stages"]}
            assert stages["erp-outbox"]["state"] == "running"
            assert stages["erp-outbox"]["detail"]["erp-files"] == {
                "delivered": 1,
                "dead": 0,
                "retried": 0,
            }
        finally:
            await platform.stop()

    asyncio.run(run())
    [file] = drop.glob("*.jsonl")
    envelope = json.loads(file.read_text())
    assert envelope["kind"] == "PartsCounted" and envelope["ordering_key"] == "4711"
    assert envelope["payload"]["good"] == 40
    assert file.name == f"PartsCounted-{envelope['id']}.jsonl"
    assert platform.erp.store.status("erp-files")["delivered"] == 1
    [letter] = platform.erp.store.dead_letters("erp-b2mml")
    assert letter.error.startswith("cannot render as xml: no B2MML form for 'PartsCounted'")
    assert platform.erp.store.status("erp-b2mml-filtered")["pending"] == 0  # not its kind
    assert not list(drop.glob("*.xml"))


def test_no_erp_file_means_no_dispatcher(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data"))
    assert platform.erp is None and "erp-outbox" not in platform.pipeline.stages
    platform.historian.close()
    platform.mom.service.engine.dispose()
