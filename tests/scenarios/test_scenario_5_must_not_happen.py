"""Scenario 5: things that must not happen (shared/scenarios.md §5), with every front end
running: strangers and a bad signature change nothing (the people get one polite
answer), duplicates are one interaction, a reply saved but not sent before the process
died goes out exactly once after the restart, and hostile text is literal everywhere.
"""

from __future__ import annotations

import json

import pytest

from bot.app.frontend import wired
from bot.process.domain import InteractionKind
from bot.process.template_names import TemplateName
from bot.services import build_services
from db.models import Interaction, OutboxMessage, Ticket
from handlers.whatsapp import build_front_end as build_whatsapp
from tests.handlers.email.harness import mail
from tests.handlers.whatsapp.harness import text_payload
from tests.reliability.test_bad_input import mrkdwn_texts
from tests.scenarios.desk import CARLA, Desk, desk, until
from tests.servers import telegram_updates as tu

__all__ = ["desk"]

pytestmark = pytest.mark.imap

STRANGER = 4242
HOSTILE = "Hola <b>urgente</b> *bold* <!channel> {{ secret }} </code> & <@UDIEGO>"


async def rows() -> tuple[int, int, int]:
    return (await Ticket.all().count(), await Interaction.all().count(),
            await OutboxMessage.all().count())


async def test_things_that_must_not_happen(desk: Desk) -> None:
    s = desk.services
    assert (await desk.whatsapp_post(text_payload("wamid.N1", "no me llega la boleta"))
            ).status_code == 200
    version = (await s.queries.get(1)).version
    before = await rows()

    # a stranger writes to the Telegram bot; an outsider clicks a Slack card button;
    # a webhook arrives with a bad signature
    sent = len(desk.tg.calls_to("sendMessage"))
    await desk.telegram_post(tu.make_message_update(STRANGER, STRANGER, "hola, ¿quién es?"))
    assert len(desk.tg_sent_to(STRANGER, sent)) == 1
    assert "solo para el equipo" in desk.tg_sent_to(STRANGER, sent)[0]
    await desk.slack_click("UINTRUSO", 1, "atiende_proponer")
    assert len(desk.slack_ephemerals("UINTRUSO")) == 1
    assert "No está registrado" in desk.slack_ephemerals("UINTRUSO")[0]
    bad = await desk.whatsapp_post(text_payload("wamid.N2", "forjado"),
                                   signature="sha256=" + "ab" * 32)
    assert bad.status_code == 401
    assert await rows() == before and (await s.queries.get(1)).version == version
    assert not desk.tg_sent_to(CARLA, sent)  # Carla is not bothered by any of it

    # WhatsApp delivers the same message twice: one interaction
    payload = text_payload("wamid.N3", "¿me pueden llamar?")
    for _ in range(2):
        assert (await desk.whatsapp_post(payload)).status_code == 200
    assert await Interaction.filter(external_id="wamid.N3").count() == 1

    # the mail server shows the same email twice: one interaction (real IMAP)
    assert desk.imap is not None
    imap = desk.imap
    raw = mail(body="Consulta por el plan anual.", message_id="<twice@example.cl>")
    await imap.append(raw)
    await imap.append(raw)

    async def both_read() -> bool:
        return await imap.seen_count() == 2

    await until(both_read)
    await desk.settle()
    assert await Interaction.filter(external_id="<twice@example.cl>").count() == 1

    # killed between saving a reply and sending it: the outbox row survives; the
    # restarted process (new services on the same database) sends it once
    await s.tickets.reply(desk.team.admin, 1, template=TemplateName.ACKNOWLEDGEMENT)
    assert await OutboxMessage.filter(sent_at__isnull=True).count() == 1  # saved, not sent
    messages = len(desk.graph.calls_to("messages"))
    restarted = build_services(s.settings, s.clock)
    wired(restarted, build_whatsapp(restarted))  # registers the WhatsApp sender, as atiende run would
    assert await restarted.outbox.deliver_due() == 1
    assert await restarted.outbox.deliver_due() == 0
    assert await desk.deliver() == 0  # the old process, had it survived, sends nothing more
    assert len(desk.graph.calls_to("messages")) == messages + 1
    outbound = [i for i in await s.queries.history(1) if i.kind is InteractionKind.OUTBOUND]
    assert len(outbound) == 1

    # hostile text: literal in Telegram, escaped or plain in Slack, pings nobody
    assert (await desk.whatsapp_post(text_payload("wamid.N4", HOSTILE, sender="56987654321"))
            ).status_code == 200
    number = max(t.number for t in await s.queries.all())
    assert HOSTILE in (await desk.tg_card(number))["text"]
    failed = [c for c in desk.tg.calls if c.status >= 400 and c.fault is None]
    assert failed == []
    card = await desk.slack_card(number)
    assert "urgente" in json.dumps(card["blocks"], ensure_ascii=False)
    for call in desk.slack.calls_to("chat.postMessage") + desk.slack.calls_to("chat.update"):
        for text in mrkdwn_texts(call.params):
            assert "<!channel>" not in text and "<@UDIEGO>" not in text, text
    assert (await s.queries.get(number)).description == HOSTILE
