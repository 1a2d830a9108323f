"""``/ticket reporte`` on Slack: charts uploaded to the channel with the summary; the
figures as text; refused for people who are not on the team."""

from __future__ import annotations

from bot.process.domain import Canal
from handlers.slack.identity import NOT_ON_TEAM
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SlackRig, rig

__all__ = ["rig"]

PNG = b"\x89PNG\r\n\x1a\n"


async def test_ticket_reporte_uploads_charts(rig: SlackRig, team: Team) -> None:
    customer = await rig.services.customers.find_or_create(email="a@b.cl", name="<Ana & co>")
    await rig.services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                    description="x")
    response = await rig.command("UDIEGO", "reporte semana", channel_id=CHANNEL)
    assert response.status_code == 200
    files = [f for f in rig.fake.uploads.values() if f.channel_id == CHANNEL]
    assert sorted(f.filename for f in files) == sorted(
        f"{n}.png" for n in ("cumplimiento", "volumen", "antiguedad", "personas", "cierres",
                             "satisfaccion"))
    assert all(f.data and f.data.startswith(PNG) and len(f.data) < 300_000 for f in files)
    comment = files[0].initial_comment or ""
    assert "Reporte · últimos 7 días" in comment and "Tickets nuevos: 1" in comment
    tables = rig.fake.last("chat.postMessage").params["text"]
    assert "Cumplimiento de plazos" in tables and "Satisfacción" in tables


async def test_ticket_reporte_refusals(rig: SlackRig, team: Team) -> None:
    rig.fake.add_user("USTRANGER", "someone@else.cl", "Stranger")
    await rig.command("USTRANGER", "reporte", channel_id=CHANNEL)
    await rig.command("UDIEGO", "reporte 2026-13", channel_id=CHANNEL)
    told = [c.params for c in rig.fake.calls_to("chat.postEphemeral")]
    assert told[0]["text"] == NOT_ON_TEAM
    assert "Mes inválido" in told[1]["text"]
    assert rig.fake.uploads == {}


async def test_weekly_report_reaches_the_support_channel(rig: SlackRig, team: Team) -> None:
    from bot.jobs.weekly_report import WeeklyReport
    from tests.conftest import santiago

    rig.services.clock.set(santiago(2026, 12, 14, 9, 0))  # type: ignore[attr-defined]
    digests = await WeeklyReport(rig.services).send_if_due()
    assert [d.audience.value for d in digests] == ["channel", "admin"]
    files = [f for f in rig.fake.uploads.values() if f.channel_id == CHANNEL]
    assert len(files) == 6
    assert "semana del 07/12/2026 al 13/12/2026" in (files[0].initial_comment or "")
    assert await WeeklyReport(rig.services).send_if_due() == []
    assert len(rig.fake.uploads) == 6
