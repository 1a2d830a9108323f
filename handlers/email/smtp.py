"""Outbound email: an ``bot.outgoing.outbox.Sender`` over SMTP (aiosmtplib).

The Message-ID is derived from the outbox's idempotency key, so a resend after a crash
carries the same id (the customer's client shows one message, and replies to either
copy thread the same). Temporary failures (4xx, network) raise and the outbox retries
with backoff; permanent ones (5xx) raise ``PermanentSendError`` and show on the ticket.
Customer-supplied text never reaches a header with a CR or LF in it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from bot.outgoing.message_ids import MessageIdSigner
from bot.outgoing.outbox import AmbiguousSendError, OutboundMessage, PermanentSendError, SendResult
from bot.process.clock import Clock
from bot.process.settings import Settings
from bot.process.template_names import TemplateName
from handlers.email.headers import SMTP_IDS
from handlers.email.parse import message_ids

log = logging.getLogger(__name__)

ATIENDE_HEADER = "X-Atiende"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(value: str, limit: int = 300) -> str:
    """Header-safe text: control characters (CR, LF, tabs) become single spaces."""
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


def outbound_message_id(idempotency_key: str, domain: str) -> str:
    """Stable for one outbox row: ``<atiende-12.3f9a0c1b@empresa.cl>``."""
    key = re.sub(r"[^A-Za-z0-9.\-]", "-", idempotency_key)
    digest = hashlib.sha256(f"{idempotency_key}|{domain}".encode()).hexdigest()[:10]
    if not key.startswith("atiende-"):
        key = f"atiende-{key}"
    return f"<{key}.{digest}@{domain}>"


class SmtpSender:
    """Delivers one ``OutboundMessage`` per SMTP transaction."""

    def __init__(self, settings: Settings, clock: Clock,
                 signer: MessageIdSigner | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._signer = signer  # our Message-IDs carry an HMAC (forged bounces fail it)
        self._from_name, self._from_address = parseaddr(settings.smtp_from)
        if "@" not in self._from_address:
            raise ValueError("ATIENDE_SMTP_FROM must be an email address")
        self.domain = self._from_address.rpartition("@")[2].lower()

    def build(self, message: OutboundMessage, message_id: str | None = None) -> EmailMessage:
        """The MIME message for ``message`` (text + HTML alternative)."""
        mail = EmailMessage(policy=SMTP_IDS)
        mail["From"] = Address(one_line(self._from_name or self._settings.company_name),
                               addr_spec=self._from_address)
        try:
            mail["To"] = Address(one_line(message.customer_name), addr_spec=one_line(
                message.recipient, 254))
        except (ValueError, IndexError) as exc:
            raise PermanentSendError(f"dirección no válida: {message.recipient!r}") from exc
        mail["Subject"] = one_line(message.subject, 500) or f"[#{message.ticket_number}]"
        mail["Date"] = format_datetime(self._clock.now())
        mail["Message-ID"] = message_id or outbound_message_id(message.idempotency_key,
                                                               self.domain)
        parents = message_ids(one_line(message.in_reply_to or "", 1000))
        references = [r for ref in message.references for r in message_ids(one_line(ref, 1000))]
        if parents:
            mail["In-Reply-To"] = parents[0]
            references = [r for r in references if r != parents[0]] + [parents[0]]
        if references:
            mail["References"] = " ".join(dict.fromkeys(references[-20:]))
        if message.template == TemplateName.ACKNOWLEDGEMENT.value:
            mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: responders must not answer
        elif message.kind == "closure":  # sent by the system when the case closes
            mail["Auto-Submitted"] = "auto-generated"
        mail[ATIENDE_HEADER] = f"ticket={message.ticket_number}"
        mail.set_content(message.text or "")
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: OutboundMessage) -> SendResult:
        signed = await self._signer.make(message.idempotency_key, self.domain) \
            if self._signer is not None else None
        mail = self.build(message, signed)
        try:
            await self._transmit(mail, message.recipient)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentSendError(f"destinatario rechazado: {exc}") from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"el servidor de correo rechazó el mensaje: "
                                         f"{exc.code} {exc.message}") from exc
            raise
        log.info("email sent ticket=#%s outbox=%s", message.ticket_number, message.outbox_id)
        return SendResult(provider_id=str(mail["Message-ID"]))

    async def _transmit(self, mail: EmailMessage, recipient: str) -> None:
        """One SMTP transaction, step by step: only a failure *after* the message body
        left is ambiguous (the server may have queued it), so only that one is reported
        as uncertain instead of retried; anything earlier is safe to retry."""
        s = self._settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=30,
                               use_tls=s.smtp_security == "tls",
                               start_tls=s.smtp_security == "starttls")
        await smtp.connect()
        try:
            if s.smtp_user:
                await smtp.login(s.smtp_user, s.smtp_password)
            await smtp.mail(self._from_address)
            await smtp.rcpt(recipient)
            try:
                await smtp.data(mail.as_bytes(policy=SMTP_IDS))
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
                raise AmbiguousSendError(f"la conexión se cortó tras enviar el mensaje "
                                         f"({type(exc).__name__})") from exc
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except aiosmtplib.SMTPException:
                    smtp.close()
