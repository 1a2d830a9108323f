"""``atiende console`` beside ``atiende run`` on one database: a reply is sent, or it is
not marked sent. Printing stands in for a customer channel only when nobody configured
it; a configured channel's replies wait for the process that sends on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app.frontend import wired
from bot.app.run import ensure_admin
from bot.process.domain import Canal, DeliveryStatus
from bot.process.settings import Settings
from bot.services import Services, build_services
from db.models import OutboxMessage
from handlers.console import ConsoleFrontEnd, printable_channels
from handlers.email import build_front_end as build_email
from tests.conftest import Team
from tests.core.app.test_cli_export import atiende
from tests.handlers.email.harness import with_smtp
from tests.servers import SmtpServer


async def _reply_queued(services: Services, team: Team) -> OutboxMessage:
    """Sofía answers a customer by email from the running instance: one row queued."""
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=Canal.EMAIL, description="Consulta")
    await services.tickets.reply(team.admin, view.number, text="Le escribo por su consulta.")
    (row,) = await OutboxMessage.all()
    assert row.status == DeliveryStatus.PENDING
    return row


async def _console(services: Services, out: list[str]) -> ConsoleFrontEnd:
    """The console front end, connected and started as ``atiende console`` does."""
    front = wired(services, ConsoleFrontEnd(services, await ensure_admin(services), out.append,
                                            read_stdin=False))
    await front.start()
    return front


def test_only_channels_without_any_setting_are_printed(settings: Settings) -> None:
    assert printable_channels(settings) == [Canal.EMAIL, Canal.WHATSAPP]
    imap_only = settings.model_copy(update={"imap_host": "mail.example.cl"})
    assert printable_channels(imap_only) == [Canal.WHATSAPP]  # no SMTP: still not printed
    wa = settings.model_copy(update={"whatsapp_token": "t", "smtp_host": "smtp.example.cl"})
    assert printable_channels(wa) == []


async def test_console_beside_run_leaves_a_configured_channel_to_run(
        services: Services, team: Team, smtp_server: SmtpServer) -> None:
    run_side = with_smtp(services, smtp_server)
    wired(run_side, build_email(run_side))  # registers the SMTP sender, as `atiende run` does
    console_side = build_services(run_side.settings, services.clock)  # same settings, same db
    out: list[str] = []
    row = await _reply_queued(run_side, team)

    console = await _console(console_side, out)
    assert await console_side.outbox.deliver_due() == 0
    await console.stop()
    await row.refresh_from_db()
    assert (row.status, row.last_error, row.attempts) == (DeliveryStatus.PENDING, "", 0)
    assert not any("→ Correo" in line for line in out)
    assert "Correo electrónico está configurado" in "\n".join(out)

    assert await run_side.outbox.deliver_due() == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ana@example.cl"]]
    await row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT


async def test_console_prints_a_channel_nobody_configured(services: Services,
                                                          team: Team) -> None:
    out: list[str] = []
    row = await _reply_queued(services, team)
    console_side = build_services(services.settings, services.clock)
    console = await _console(console_side, out)
    assert await console_side.outbox.deliver_due() == 1
    await console.stop()
    text = "\n".join(out)
    assert "→ Correo a ana@example.cl" in text and "Le escribo por su consulta." in text
    assert "configurado" not in text
    await row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT


async def test_console_process_beside_run_does_not_claim_configured_mail(
        services: Services, team: Team, settings: Settings) -> None:
    """Two processes on one SQLite file: the test is the running instance, the child is
    ``atiende console``; with SMTP configured it leaves the reply queued, without it
    it prints the reply (and only then marks it sent)."""
    row = await _reply_queued(services, team)
    # the child runs on the real clock: the reply is due for it
    await OutboxMessage.filter(id=row.id).update(
        next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
    env = {"ATIENDE_DATABASE_URL": settings.effective_database_url}
    configured = atiende(settings.data_dir.parent, "console", env={
        **env, "ATIENDE_SMTP_HOST": "127.0.0.1", "ATIENDE_SMTP_PORT": "9"})
    assert configured.returncode == 0, configured.stderr
    assert "Le escribo por su consulta." not in configured.stdout
    assert "Correo electrónico está configurado" in configured.stdout
    await row.refresh_from_db()
    assert (row.status, row.last_error) == (DeliveryStatus.PENDING, "")

    alone = atiende(settings.data_dir.parent, "console", env=env)
    assert alone.returncode == 0, alone.stderr
    assert "→ Correo a ana@example.cl" in alone.stdout
    assert "Le escribo por su consulta." in alone.stdout
    await row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
