"""Channels described in YAML: every kind validated with file and line for each
problem, and each spec built into the channel it describes, secrets from the
environment only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from plantos.core.clock import WallClock
from plantos.core.errors import ConfigError
from plantos.integration.channels import OutboundMessage
from plantos.integration.channels.config import build_channel, validate_channels
from plantos.integration.channels.filedrop import FileDropChannel
from plantos.integration.channels.mqtt import MqttChannel
from plantos.integration.channels.smtp import SmtpChannel
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.channels.webhook_batch import WebhookBatchChannel
from plantos.model.yamlsource import line_of, parse

GOOD = """\
channels:
  - kind: webhook
    name: erp
    url: https://erp.plant-a.example/plantos
    secret_env: ERP_WEBHOOK_SECRET
  - kind: webhook
    name: erp-batched
    url: http://127.0.0.1:8080/in
    secret_env: ERP_WEBHOOK_SECRET
    batch_size: 100
  - kind: file-drop
    name: erp-files
    folder: erp-out
    format: b2mml
    b2mml_version: v0701
  - kind: file-drop
    name: yield-csv
    folder: csv-out
    format: csv
    columns: [order_id, good, scrap, unit]
  - kind: email
    name: maintenance-mail
    host: mail.plant-a.example
    sender: plantos@plant-a.example
    recipients: [maintenance@plant-a.example]
    username: plantos
    password_env: SMTP_PASSWORD
  - kind: mqtt
    name: alerts
    broker: mqtt://127.0.0.1:1883
    topic: plantos/alerts/{kind}/{ordering_key}
"""


def specs(text: str) -> list[Any]:
    data, problems = parse(text, "plantos.yaml")
    assert problems == []
    return validate_channels(
        data["channels"], source="plantos.yaml", locate=lambda loc: line_of(data, loc)
    )


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        specs(text)
    return [str(p) for p in caught.value.problems]


ENV = {"ERP_WEBHOOK_SECRET": "a-shared-secret-of-some-length"}


def test_every_kind_builds_the_channel_it_describes() -> None:
    built = [build_channel(s, clock=WallClock(), environ=ENV) for s in specs(GOOD)]
    kinds = [type(c) for c in built]
    assert kinds == [
        WebhookChannel, WebhookBatchChannel, FileDropChannel, FileDropChannel, SmtpChannel,
        MqttChannel,
    ]  # fmt: skip
    assert [c.name for c in built] == [
        "erp", "erp-batched", "erp-files", "yield-csv", "maintenance-mail", "alerts",
    ]  # fmt: skip
    assert isinstance(built[2], FileDropChannel)
    assert built[2].file_name(_message()) == f"production_performance-{_message().key}.xml"


def _message() -> OutboundMessage:
    return OutboundMessage(UUID(int=1), "production_performance", {}, dt.datetime.now(dt.UTC))


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - kind: ftp\n    name: x\n", "plantos.yaml:2: channels[0]: unknown channel kind 'ftp'"),
        (
            "  - kind: webhook\n    name: erp\n    url: erp.example\n    secret_env: S\n",
            "plantos.yaml:4: channels[0].url: url must start with http:// or https://",
        ),
        (
            "  - kind: webhook\n    name: erp\n    url: http://e\n    secret_env: S\n"
            "    ca_file: ca.pem\n",
            "plantos.yaml:2: channels[0]: ca_file needs an https:// url",
        ),
        (
            "  - kind: webhook\n    name: erp\n    url: http://e\n    secret: hunter2\n",
            "plantos.yaml:5: channels[0]: unknown key 'secret'",
        ),
        (
            "  - kind: file-drop\n    name: f\n    folder: out\n    format: csv\n",
            "plantos.yaml:2: channels[0]: columns is required for format csv",
        ),
        (
            "  - kind: file-drop\n    name: f\n    folder: out\n    format: b2mml\n"
            "    b2mml_version: V0401\n",
            "PlantOS speaks V0600 and V0701",
        ),
        (
            "  - kind: email\n    name: m\n    host: h\n    sender: p@x\n    username: u\n"
            "    starttls: false\n",
            "a login needs starttls: true",
        ),
        (
            "  - kind: mqtt\n    name: a\n    broker: tcp://b:1883\n",
            "plantos.yaml:4: channels[0].broker: broker must look like mqtt://",
        ),
        ("  - kind: mqtt\n    name: bad name\n", "channels[0].name: String should match"),
    ],
)
def test_a_wrong_entry_is_named_with_its_line(entry: str, expected: str) -> None:
    found = problems("channels:\n" + entry)
    assert any(expected in p for p in found), found


def test_duplicate_names_point_at_the_first() -> None:
    found = problems("channels:\n  - kind: mqtt\n    name: a\n  - kind: mqtt\n    name: a\n")
    assert found == ["plantos.yaml:5: duplicate channel name 'a' (first at line 3)"]


@pytest.mark.parametrize(
    ("environ", "state"), [({}, "is not set"), ({"ERP_WEBHOOK_SECRET": "short"}, "is shorter")]
)
def test_a_missing_or_short_webhook_secret_stops_start_up(
    environ: dict[str, str], state: str
) -> None:
    webhook = specs(GOOD)[0]
    expected = f"ERP_WEBHOOK_SECRET holding the webhook secret {state}"
    with pytest.raises(ConfigError, match=expected):
        build_channel(webhook, clock=WallClock(), environ=environ)


def test_relative_folders_stay_as_written() -> None:
    drop = specs(GOOD)[2]
    assert drop.folder == Path("erp-out")


def test_the_guides_example_entries_are_valid() -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "erp-integration.md"
    blocks = re.findall(r"```yaml\n(.*?)```", guide.read_text(), flags=re.DOTALL)
    [example] = [b for b in blocks if b.startswith("channels:")]  # erp.yaml's: elsewhere
    assert [s.kind for s in specs(example)] == ["webhook", "file-drop", "email", "mqtt"]
