"""Scenario 1 end to end on the core: a WhatsApp complaint late on a Friday.

Ticket #1 (Reclamo, Alta, Diego) created Fri 4 Dec 2026 17:50 Santiago: warnings at
Sat 11:50 (75 %) and 15:26 (90 %) to Diego and Carla, the WhatsApp-window notice at
16:50, "vencido" at 17:50 to Diego, the channel and Carla. Had it been Media, Diego
finds one digest on Monday 08:00.
"""

from __future__ import annotations

from bot.process.domain import Prioridad
from bot.reminders import build_reminders
from db.models import SentReminder, Ticket
from tests.conftest import santiago
from tests.core.reminders.harness import recorder, step_until, whatsapp_ticket

DIEGO, CARLA, CHANNEL = "assignee:Diego", "admin:Carla", "channel:canal"


async def test_alta_ticket_over_the_weekend(services, team, clock) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    number = await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    ticket = await Ticket.get(id=number)
    assert ticket.next_reminder_at == santiago(2026, 12, 5, 11, 50)

    await step_until(reminders, clock, santiago(2026, 12, 5, 23, 0))

    sat = [santiago(2026, 12, 5, 11, 50), santiago(2026, 12, 5, 15, 26),
           santiago(2026, 12, 5, 16, 50), santiago(2026, 12, 5, 17, 50)]
    assert sorted({when for when, _ in notes.delivered}) == sat
    assert notes.who_at(sat[0]) == {DIEGO, CARLA}
    assert notes.who_at(sat[1]) == {DIEGO, CARLA}
    assert notes.who_at(sat[2]) == {DIEGO, CARLA}
    assert notes.who_at(sat[3]) == {DIEGO, CARLA, CHANNEL}
    texts = {when: text for when, who, text in notes.lines() if who == DIEGO}
    assert texts[sat[0]] == ("#1 Reclamo · Alta — primera respuesta vence en 6 h "
                             "(sáb 05/12 17:50) · ventana de WhatsApp cierra sáb 05/12 17:50")
    assert texts[sat[1]].startswith("#1 Reclamo · Alta — primera respuesta vence en 2 h 24 min")
    assert texts[sat[2]] == ("#1 Reclamo · Alta — la ventana de WhatsApp cierra en 1 h "
                             "(sáb 05/12 17:50): después solo plantillas aprobadas")
    assert texts[sat[3]].startswith(
        "#1 Reclamo · Alta — plazo de primera respuesta vencido (sáb 05/12 17:50)")
    assert "cerrada" in texts[sat[3]]
    # each moment is one digest per person, never a burst
    assert len(notes.delivered) == 2 + 2 + 2 + 3
    keys = await SentReminder.filter(ticket_id=number).order_by("due_at").values_list(
        "threshold", flat=True)
    assert keys[:3] == ["75", "90", "20261205T205000"] and keys[3] == "100"


async def test_media_ticket_waits_for_monday_digest(services, team, clock) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    number = await whatsapp_ticket(services, team, prioridad=Prioridad.MEDIA)
    assert (await Ticket.get(id=number)).next_reminder_at == santiago(2026, 12, 7, 8, 0)

    await step_until(reminders, clock, santiago(2026, 12, 7, 8, 0))

    monday = santiago(2026, 12, 7, 8, 0)
    diego = [d for when, d in notes.delivered if d.member and d.member.name == "Diego"]
    assert len(diego) == 1 and {when for when, _ in notes.delivered} == {monday}
    (notice,) = diego[0].notices
    assert notice.text.startswith("#1 Reclamo · Media — plazo de primera respuesta vencido "
                                  "hace 1 d 14 h (sáb 05/12 17:50)")
    assert "retenidos por el horario de silencio" in diego[0].title
    # nothing skipped: every threshold reached over the weekend is recorded once
    thresholds = set(await SentReminder.filter(ticket_id=number).values_list(
        "threshold", flat=True))
    assert {"75", "90", "100", "r2"} <= thresholds
    # the window closed on Saturday: its "closes in an hour" notice is not sent late
    assert not any(t.startswith("2026") for t in thresholds)
    # the morning summary went out at the same moment to the channel and Carla
    summaries = [d for _, d in notes.delivered if d.summary]
    assert {d.audience.value for d in summaries} == {"channel", "admin"}
