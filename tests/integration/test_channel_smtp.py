"""The e-mail channel against a real aiosmtpd server that requires STARTTLS (with a
certificate made in the test) and a login: e-mails arrive with their idempotency key,
an unknown mailbox is a rejection, a busy server and one that is down are retried."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from plantos.integration.channels import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.smtp import SmtpChannel
from tests.support.certs import make_ca, make_server_certificate
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.timeout(60)

CREATED = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


class Mailbox:
    """aiosmtpd handler: keeps what arrives; some addresses are unknown or busy."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy@"):
            return "451 4.3.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def authenticate(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    ca_file, ca_key, ca_cert = make_ca(tmp_path, "mail-ca")
    cert, key = make_server_certificate(tmp_path, ca_key, ca_cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, ca_file


@contextmanager
def mail_server(mailbox: Mailbox, port: int, context: ssl.SSLContext) -> Iterator[None]:
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        yield
    finally:
        controller.stop()


def message(*recipients: str, **payload: Any) -> OutboundMessage:
    return OutboundMessage(
        uuid4(), "maintenance_alert", payload, CREATED, ordering_key="cnc-07",
        recipients=tuple(recipients),
    )  # fmt: skip


def channel(port: int, ca_file: Path, **options: Any) -> SmtpChannel:
    settings: dict[str, Any] = {
        "sender": "plantos@plant-a.example", "recipients": ["maintenance@plant-a.example"],
        "ca_file": ca_file, "username": "plantos", "password_env": "PLANTOS_TEST_SMTP_PASSWORD",
        "timeout_s": 5.0,
    }  # fmt: skip
    return SmtpChannel("127.0.0.1", port, **{**settings, **options})


def deliver(ch: SmtpChannel, batch: list[OutboundMessage]) -> list[DeliveryResult]:
    return asyncio.run(ch.deliver(batch))


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTOS_TEST_SMTP_PASSWORD", "s3cret")


def test_e_mails_arrive_over_starttls_with_their_key(tls: tuple[ssl.SSLContext, Path]) -> None:
    context, ca_file = tls
    mailbox, port = Mailbox(), free_port()
    alert = message(subject="CNC 7: bearing wear\r\nBcc: x@evil", text="Open WO-42 now.")
    plain = message("planner@plant-a.example", order_id="4711", good=118)
    with mail_server(mailbox, port, context):
        results = deliver(channel(port, ca_file), [alert, plain])
    assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
    (to_first, raw_first), (to_second, raw_second) = mailbox.received
    assert to_first == ["maintenance@plant-a.example"]
    assert to_second == ["planner@plant-a.example"]
    first = email.message_from_bytes(raw_first, policy=email.policy.default)
    assert first["Subject"] == "CNC 7: bearing wear Bcc: x@evil"
    assert first["Bcc"] is None
    assert first["Message-ID"] == f"<{alert.key}@plantos>"
    assert first["X-PlantOS-Idempotency-Key"] == str(alert.key)
    assert first.get_content().replace("\r\n", "\n") == "Open WO-42 now.\n"
    second = email.message_from_bytes(raw_second, policy=email.policy.default)
    assert second["Subject"] == "PlantOS maintenance_alert"
    assert '"good": 118' in second.get_content()


def test_an_unknown_mailbox_is_rejected_and_a_busy_one_retried(
    tls: tuple[ssl.SSLContext, Path],
) -> None:
    context, ca_file = tls
    mailbox, port = Mailbox(), free_port()
    batch = [message("nobody@plant-a.example"), message("busy@plant-a.example"), message()]
    with mail_server(mailbox, port, context):
        unknown, busy, held = deliver(channel(port, ca_file), batch)
    assert unknown.outcome is Outcome.REJECTED
    assert "550 5.1.1 no such mailbox" in unknown.reason
    assert busy.outcome is Outcome.RETRY_LATER
    assert "451" in busy.reason
    assert held.outcome is Outcome.RETRY_LATER  # same asset, after a message to retry
    assert held.reason.startswith(f"held behind {batch[1].key}")
    assert mailbox.received == []


def test_a_server_that_is_down_then_back_gets_every_e_mail_once(
    tls: tuple[ssl.SSLContext, Path],
) -> None:
    context, ca_file = tls
    mailbox, port = Mailbox(), free_port()
    batch = [message(), message()]
    down = deliver(channel(port, ca_file), batch)
    assert [r.outcome for r in down] == [Outcome.RETRY_LATER] * 2
    assert "cannot open an SMTP session" in down[0].reason
    with mail_server(mailbox, port, context):
        back = deliver(channel(port, ca_file), batch)
    assert [r.outcome for r in back] == [Outcome.DELIVERED] * 2
    assert len(mailbox.received) == 2


def test_a_server_certificate_the_plant_ca_did_not_sign_is_refused(
    tls: tuple[ssl.SSLContext, Path], tmp_path: Path
) -> None:
    context, _ca_file = tls
    other_ca, _key, _cert = make_ca(tmp_path, "other-ca")
    mailbox, port = Mailbox(), free_port()
    with mail_server(mailbox, port, context):
        [result] = deliver(channel(port, other_ca), [message()])
    assert result.outcome is Outcome.RETRY_LATER
    assert "CERTIFICATE_VERIFY_FAILED" in result.reason
    assert mailbox.received == []


def test_a_wrong_password_is_retried_with_the_reason(
    tls: tuple[ssl.SSLContext, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    context, ca_file = tls
    monkeypatch.setenv("PLANTOS_TEST_SMTP_PASSWORD", "wrong")
    mailbox, port = Mailbox(), free_port()
    with mail_server(mailbox, port, context):
        [result] = deliver(channel(port, ca_file), [message()])
    assert result.outcome is Outcome.RETRY_LATER
    assert "535" in result.reason


def test_a_message_without_recipient_is_rejected(tls: tuple[ssl.SSLContext, Path]) -> None:
    context, ca_file = tls
    mailbox, port = Mailbox(), free_port()
    with mail_server(mailbox, port, context):
        [result] = deliver(channel(port, ca_file, recipients=()), [message()])
    assert result.outcome is Outcome.REJECTED
    assert result.reason == "no recipient for this e-mail"


def test_a_password_is_never_sent_without_starttls() -> None:
    with pytest.raises(ValueError, match="only sent over STARTTLS"):
        SmtpChannel("127.0.0.1", sender="p@x", username="u", starttls=False)
