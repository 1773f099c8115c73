"""E-mail over SMTP with STARTTLS: one e-mail per message, to the message's recipients
or the channel's.

The standard library's smtplib runs in a worker thread (one SMTP session per delivery
round), so the event loop never waits on a mail server. Each e-mail carries
``Message-ID: <key@plantos>`` and ``X-PlantOS-Idempotency-Key``, so mail systems and
people can recognise a redelivery. Server answers: 2xx delivered, 4xx and lost
connections retry later, 5xx (unknown mailbox, message refused) rejected.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from plantos.integration.channels.base import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.ordering import OrderGate

EmailRender = Callable[[OutboundMessage], tuple[str, str]]


def render_email(message: OutboundMessage) -> tuple[str, str]:
    """Subject and plain text: the payload's ``subject`` and ``text`` when it has them,
    otherwise the kind and the payload as indented JSON."""
    subject = str(message.payload.get("subject") or f"PlantOS {message.kind}")
    text = message.payload.get("text")
    body = (
        str(text)
        if text
        else json.dumps(dict(message.payload), indent=2, sort_keys=True, default=str)
    )
    return " ".join(subject.split()), body + "\n"


class _SessionLost(Exception):
    """The SMTP connection broke mid-round; the rest of the round is retried later."""


class SmtpChannel:
    """Sends e-mail through one SMTP server (submission port, STARTTLS by default)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        recipients: Sequence[str] = (),
        starttls: bool = True,
        ca_file: Path | None = None,
        username: str | None = None,
        password_env: str | None = None,
        timeout_s: float = 10.0,
        name: str = "email",
        render: EmailRender = render_email,
    ) -> None:
        if password_env is not None and username is None:
            raise ValueError("password_env needs a username")
        if username is not None and not starttls:
            raise ValueError("a password is only sent over STARTTLS; set starttls")
        self._host, self._port = host, port
        self._sender = sender
        self._recipients = tuple(recipients)
        self._starttls = starttls
        self._ca_file = ca_file
        self._username, self._password_env = username, password_env
        self._timeout_s = timeout_s
        self._name = name
        self._render = render

    @property
    def name(self) -> str:
        return self._name

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        return await asyncio.to_thread(self._deliver_all, list(messages))

    async def close(self) -> None:
        """Nothing to close: each delivery round opens and ends its own session."""

    def _deliver_all(self, messages: list[OutboundMessage]) -> list[DeliveryResult]:
        if not messages:
            return []
        server = f"{self._host}:{self._port}"
        try:
            smtp = self._open()
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"cannot open an SMTP session with {server}: {exc}"
            return [DeliveryResult.retry_later(m.key, reason) for m in messages]
        gate, results = OrderGate(), []
        try:
            for index, message in enumerate(messages):
                try:
                    result = gate.held(message) or self._send(smtp, message)
                except _SessionLost as lost:
                    reason = f"SMTP session with {server} lost: {lost}"
                    results += [DeliveryResult.retry_later(m.key, reason) for m in messages[index:]]
                    break
                gate.record(message, result)
                results.append(result)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return results

    def _open(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout_s)
        try:
            smtp.ehlo()
            if self._starttls:
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
                context = ssl.create_default_context(
                    cafile=str(self._ca_file) if self._ca_file else None
                )
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._username is not None:
                smtp.login(self._username, self._password())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _password(self) -> str:
        if self._password_env is None:
            return ""
        value = os.environ.get(self._password_env)
        if value is None:
            raise smtplib.SMTPException(f"the password variable {self._password_env} is not set")
        return value

    def _send(self, smtp: smtplib.SMTP, message: OutboundMessage) -> DeliveryResult:
        recipients = message.recipients or self._recipients
        if not recipients:
            return DeliveryResult.rejected(message.key, "no recipient for this e-mail")
        try:
            mail = self._compose(message, recipients)
        except (ValueError, TypeError) as exc:
            return DeliveryResult.rejected(message.key, f"cannot compose the e-mail: {exc}")
        try:
            refused = smtp.send_message(mail, self._sender, list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            reason = f"every recipient refused: {_answers(exc.recipients)}"
            if all(code >= 500 for code in codes):
                return DeliveryResult.rejected(message.key, reason)
            return DeliveryResult.retry_later(message.key, reason)
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
            if exc.smtp_code >= 500:
                return DeliveryResult.rejected(message.key, reason)
            return DeliveryResult.retry_later(message.key, reason)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _SessionLost(str(exc)) from exc
        if refused:
            reason = f"delivered except to {_answers(refused)}"
            return DeliveryResult(message.key, Outcome.DELIVERED, reason)
        return DeliveryResult.delivered(message.key)

    def _compose(self, message: OutboundMessage, recipients: Sequence[str]) -> EmailMessage:
        subject, body = self._render(message)
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = ", ".join(recipients)
        mail["Subject"] = subject
        mail["Date"] = email.utils.format_datetime(message.created)
        mail["Message-ID"] = f"<{message.key}@plantos>"
        mail["X-PlantOS-Kind"] = message.kind
        mail["X-PlantOS-Idempotency-Key"] = str(message.key)
        mail.set_content(body)
        return mail


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _answers(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in refused.items())
