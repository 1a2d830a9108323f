"""Helpers shared by the email tests (no tests here): build messages, wire SMTP settings."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from bot.process.settings import Settings
from bot.services import Services, build_services
from tests.conftest import santiago
from tests.servers import SmtpServer

SUPPORT = "soporte@hostingandino.cl"


def mail(*, sender: str = "Ana Pérez <ana@example.cl>", subject: str = "Consulta por hosting",
         body: str = "Hola, tengo una consulta.", message_id: str | None = "<a1@example.cl>",
         in_reply_to: str | None = None, references: str | None = None,
         html: str | None = None, headers: dict[str, str] | None = None,
         attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
         day: int = 9, hour: int = 10) -> bytes:
    """One customer email as a mail client would send it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = f"Hosting Andino <{SUPPORT}>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(santiago(2026, 12, day, hour, 0))
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def with_smtp(services: Services, server: SmtpServer) -> Services:
    """The same database and clock, with settings pointing at the capturing SMTP server."""
    settings: Settings = services.settings.model_copy(update={
        "smtp_host": server.host, "smtp_port": server.port, "smtp_security": "none",
        "smtp_user": server.user, "smtp_password": server.password,
        "smtp_from": f"Hosting Andino <{SUPPORT}>"})
    return build_services(settings, services.clock)
