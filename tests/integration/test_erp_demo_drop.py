"""``--erp-out``: a short headless run delivers everything the ERP would receive as files;
the good quantities of the final confirmations add up to the completed orders' good
counts exactly, every B2MML file validates, and the report counts what arrived."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plantos.core.timeparse import parse_time_ns
from plantos.demo.headless import run_headless
from plantos.integration.erp.b2mml import MessageKind, Version, validate_document
from tests.conftest import DEMO_PLANT

pytestmark = pytest.mark.timeout(300)
NS = 1_000_000_000
START = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)
SCHEMAS = {
    "production_performance": MessageKind.PERFORMANCE,
    "production_schedule": MessageKind.SCHEDULE,
    "maintenance_work_order": MessageKind.MAINTENANCE_SCHEDULE,
}


def test_the_erp_receives_each_completed_orders_good_count(
    tmp_path: Path, shared_data: Path
) -> None:
    out = tmp_path / "erp"
    report = run_headless(
        config=DEMO_PLANT, data_dir=tmp_path / "data", duration_ns=3 * 3600 * NS,
        start_ns=START, seed=1, scenarios=[], erp_out=out,
    ).report  # fmt: skip
    completed = {o["id"]: o["good"] for o in report["orders"] if o["state"] == "completed"}
    assert len(completed) >= 2

    envelopes = [json.loads(p.read_text()) for p in (out / "jsonl").glob("*.jsonl")]
    finals = [
        e["payload"] for e in envelopes
        if e["kind"] == "production_performance" and e["payload"]["final"]
    ]  # fmt: skip
    assert {p["order_id"]: p["good"] for p in finals} == completed
    assert sum(p["good"] for p in finals) == sum(completed.values())
    assert all(e["id"] == e["payload"].get("idempotency_key", e["id"]) for e in envelopes)

    documents = list((out / "b2mml").glob("*.xml"))
    assert documents
    for path in documents:
        kind = path.name.rsplit("-", 5)[0]
        validate_document(path.read_bytes(), schema_dir=shared_data / "b2mml",
                          version=Version.V0600, kind=SCHEMAS[kind])  # fmt: skip

    erp = report["erp_messages"]
    assert sum(erp["erp-jsonl"]["by_kind"].values()) == len(envelopes)
    assert sum(erp["erp-b2mml"]["by_kind"].values()) == len(documents)
    assert erp["erp-jsonl"]["pending"] == erp["erp-b2mml"]["pending"] == 0
    assert erp["erp-jsonl"]["dead_letters"] == 0, erp["erp-jsonl"]["dead_letter_reasons"]
