"""The integrator's guide shows what PlantOS really does: its example B2MML documents
validate against MESA's XSDs, its JSON example is a real envelope, and the signature
check it tells receivers to copy accepts PlantOS's signatures and refuses others."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from plantos.integration.channels.signature import sign
from plantos.integration.erp.b2mml import MessageKind, Version, validate_document
from plantos.integration.erp.b2mml.payload import from_payload
from plantos.integration.erp.messages import ScheduleUpdate

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "erp-integration.md"
KINDS = {
    "SyncProductionPerformance": MessageKind.PERFORMANCE,
    "SyncOperationsPerformance": MessageKind.PERFORMANCE,
    "SyncProductionSchedule": MessageKind.SCHEDULE,
    "SyncOperationsSchedule": MessageKind.SCHEDULE,
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def test_the_guide_shows_a_document_of_each_version() -> None:
    namespaces = {etree.fromstring(b.encode()).nsmap[None] for b in blocks("xml")}
    assert namespaces == {v.namespace for v in Version}


@pytest.mark.parametrize("index", range(2))
def test_every_example_document_validates(shared_data: Path, index: int) -> None:
    text = blocks("xml")[index].encode()
    root = etree.fromstring(text)
    version = next(v for v in Version if v.namespace == root.nsmap[None])
    kind = KINDS[etree.QName(root).localname]
    validate_document(text, schema_dir=shared_data / "b2mml", version=version, kind=kind)


def test_the_json_examples_carry_their_key_twice() -> None:
    examples = [json.loads(example) for example in blocks("json")]
    envelopes = [e for e in examples if "payload" in e]
    assert len(envelopes) >= 2
    for envelope in envelopes:
        assert envelope["id"] == envelope["payload"]["idempotency_key"]
        assert set(envelope) == {"created", "id", "kind", "ordering_key", "payload"}
    [schedule] = [e for e in examples if "plan_id" in e]  # the ERP's schedule message
    assert from_payload(ScheduleUpdate, schedule).orders[0].erp_order_id == "4711"


def test_the_copyable_verification_accepts_plantos_signatures_only() -> None:
    [snippet] = blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(GUIDE), "exec"), namespace)  # the guide's own code
    verify = namespace["verify_signature"]
    secret, body, now = b"shared-secret-0123456789", b'{"id":"x"}', 1_772_460_000
    header = sign(secret, body, timestamp_s=now)
    assert verify(secret, body, header, now_s=now + 5)
    assert not verify(secret, body + b" ", header, now_s=now)
    assert not verify(b"other-secret-0123456789", body, header, now_s=now)
    assert not verify(secret, body, header, now_s=now + 3600)
