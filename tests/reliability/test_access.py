"""Access: who may do what, checked with every front end running at once.

Unsigned or wrongly signed webhooks (WhatsApp, Slack, the Telegram webhook's secret
token), a Telegram user who is not on the team, a Slack user who is not mapped, and an
agent trying what only the administrator may do (discard, reopen, reassign someone
else's ticket) from Slack and from Telegram: all refused, all logged, nothing changed
(ticket version, history, outbox), and people get one polite answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from bot.process.domain import Estado
from db.models import Interaction, OutboxMessage, Ticket
from tests.handlers.whatsapp.harness import text_payload
from tests.scenarios.desk import CARLA, Desk, block_actions, desk_no_imap, submission
from tests.servers import telegram_updates as tu

__all__ = ["desk_no_imap"]

DIEGO_TG = 1002
STRANGER_TG = 555
NOT_LOGGED = ("product bug: a refused administrator-only action is not logged by any "
              "front end or the core (bot/tickets/lifecycle.py check_allowed raises NotAllowed "
              "without a log line; handlers/slack/actions.py guarded and the Telegram "
              "callbacks only tell the person)")


@dataclass(frozen=True)
class Snapshot:
    version: int
    estado: Estado
    assignee: str | None
    interactions: int
    outbox: int
    tickets: int


async def snapshot(desk: Desk, number: int = 1) -> Snapshot:
    t = await desk.services.queries.get(number)
    return Snapshot(t.version, t.estado, t.assignee.name if t.assignee else None,
                    await Interaction.all().count(), await OutboxMessage.all().count(),
                    await Ticket.all().count())


async def ticket_of_sofia(desk: Desk) -> None:
    """A customer's ticket, assigned by Carla to Sofía (so it is not Diego's)."""
    response = await desk.whatsapp_post(text_payload("wamid.A1", "No puedo entrar al panel."))
    assert response.status_code == 200
    await desk.services.tickets.assign(desk.team.admin, 1, desk.team.sofia.id)
    await desk.settle()


def logged(caplog: pytest.LogCaptureFixture, *words: str) -> bool:
    """Our own log line (INFO or above, from ``bot``/``handlers``) naming all ``words``."""
    return any(all(w in r.getMessage() for w in words) for r in caplog.records
               if r.levelno >= logging.INFO and r.name.startswith(("bot", "handlers")))


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


# --- webhooks --------------------------------------------------------------------------
@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage",
                                       "sha256="])
async def test_whatsapp_webhook_without_valid_signature(desk_no_imap: Desk, signature: Any,
                                                        caplog: pytest.LogCaptureFixture,
                                                        ) -> None:
    desk = desk_no_imap
    caplog.set_level(logging.INFO)
    response = await desk.whatsapp_post(text_payload("wamid.X", "hola"), signature=signature)
    assert response.status_code in (401, 403)
    assert await Ticket.all().count() == 0 and await Interaction.all().count() == 0
    assert logged(caplog, "whatsapp webhook") and "refused" in caplog.text
    no_tracebacks(caplog)


async def test_whatsapp_webhook_signed_with_another_secret(desk_no_imap: Desk,
                                                           caplog: pytest.LogCaptureFixture,
                                                           ) -> None:
    caplog.set_level(logging.INFO)
    response = await desk_no_imap.whatsapp_post(text_payload("wamid.X", "hola"),
                                                secret="not-our-secret")
    assert response.status_code in (401, 403)
    assert await Ticket.all().count() == 0
    assert logged(caplog, "bad signature")


@pytest.mark.parametrize("case", ["wrong_secret", "old_timestamp", "no_headers"])
async def test_slack_request_without_valid_signature(desk_no_imap: Desk, case: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    caplog.set_level(logging.INFO)
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    card = await desk.slack_card(1)
    payload = block_actions("USOFIA", [{"action_id": "atiende_descartar",
                                        "block_id": "atiende_btn:1:2", "type": "button",
                                        "value": "1:2", "action_ts": "1.2"}], card["ts"])
    kw: dict[str, Any] = {"wrong_secret": {"secret": "forged"},
                          "old_timestamp": {"timestamp": 1_600_000_000},
                          "no_headers": {"headers": {"Content-Type":
                                                     "application/x-www-form-urlencoded"}}}[case]
    slack_calls = len(desk.slack.calls)
    caplog.clear()
    response = await desk.slack_interact(payload, **kw)
    assert response.status_code == 401
    assert await snapshot(desk) == before
    assert len(desk.slack.calls) == slack_calls  # no modal, no message, nothing asked
    # the refusal is one short line of ours, naming the reason, without the body
    lines = [r for r in caplog.records if r.levelno >= logging.INFO
             and not r.name.startswith(("httpx", "httpcore"))]
    assert len(lines) == 1, [r.getMessage()[:200] for r in lines]
    assert lines[0].name.startswith("handlers.slack")
    assert "signature" in lines[0].getMessage() and "401" in lines[0].getMessage()
    assert "atiende_descartar" not in lines[0].getMessage()
    no_tracebacks(caplog)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
async def test_telegram_webhook_without_secret_token(desk_no_imap: Desk, secret: str | None,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    caplog.set_level(logging.INFO)
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    card = await desk.tg_card(1)
    data = desk.tg_button(card["message_id"], "Descartar")
    update = tu.make_callback_update(CARLA, CARLA, card["message_id"], data, message=card)
    answers = len(desk.tg.calls_to("answerCallbackQuery"))
    response = await desk.telegram_post(update, secret=secret)
    assert response.status_code in (401, 403)
    assert await snapshot(desk) == before
    assert len(desk.tg.calls_to("answerCallbackQuery")) == answers  # never processed
    no_tracebacks(caplog)


async def test_telegram_webhook_refusal_is_logged(desk_no_imap: Desk,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    update = tu.make_message_update(CARLA, CARLA, "/tickets")
    response = await desk_no_imap.telegram_post(update, secret="wrong-secret")
    assert response.status_code == 403
    assert any("telegram" in r.name and r.levelno >= logging.INFO for r in caplog.records)


# --- people who are not on the team ----------------------------------------------------
async def test_telegram_stranger_gets_one_polite_answer(desk_no_imap: Desk,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    caplog.set_level(logging.INFO)
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    # a message
    sent = len(desk.tg.calls_to("sendMessage"))
    await desk.tg_text("/tickets", user=STRANGER_TG)
    replies = desk.tg_sent_to(STRANGER_TG, sent)
    assert len(replies) == 1 and "solo para el equipo" in replies[0]
    assert "Carla" in replies[0]  # who to ask
    # a forged button press with data copied from Carla's card
    card = await desk.tg_card(1)
    for label in ("Descartar", "Reclamo", "Asignar"):
        answers = len(desk.tg.calls_to("answerCallbackQuery"))
        data = desk.tg_button(card["message_id"], label)
        await desk.telegram_post(tu.make_callback_update(STRANGER_TG, STRANGER_TG, 77, data))
        told = desk.tg.calls_to("answerCallbackQuery")[answers:]
        assert len(told) == 1 and "solo para el equipo" in str(told[0].params.get("text"))
    assert await snapshot(desk) == before
    assert not desk.tg_sent_to(CARLA, sent)  # Carla was not bothered
    assert logged(caplog, "refused", str(STRANGER_TG))
    no_tracebacks(caplog)


async def test_unmapped_slack_user_is_told_and_changes_nothing(
        desk_no_imap: Desk, caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    caplog.set_level(logging.INFO)
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    await desk.slack_click("UEXTRA", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    await desk.slack_click("UEXTRA", 1, "atiende_asignar", selected_user="UEXTRA")
    await desk.slack_click("UEXTRA", 1, "atiende_proponer")
    views = len(desk.slack.calls_to("views.open"))
    await desk.slack_click("UEXTRA", 1, "atiende_descartar")
    told = desk.slack_ephemerals("UEXTRA")
    assert len(told) == 4 and all("No está registrado en el equipo" in t for t in told)
    assert len(desk.slack.calls_to("views.open")) == views  # no modal for a stranger
    assert await snapshot(desk) == before
    assert await desk.services.team.by_slack("UEXTRA") is None
    assert logged(caplog, "UEXTRA")
    no_tracebacks(caplog)


async def test_slack_user_outside_the_team_with_a_known_email_is_not_linked(
        desk_no_imap: Desk) -> None:
    """A Slack account whose email matches nobody on the team stays a stranger."""
    desk = desk_no_imap
    desk.slack.add_user("UOTRO", "otro@empresa.cl", "Otro")
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    await desk.slack_click("UOTRO", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    assert await snapshot(desk) == before
    assert len(desk.slack_ephemerals("UOTRO")) == 1


# --- an agent trying what only the administrator may do -----------------------------
async def agent_refusals_on_slack(desk: Desk) -> list[str]:
    """Diego (agente) reassigns Sofía's ticket to himself, discards it, and reopens a
    resolved one; returns what he was told."""
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    await desk.slack_click("UDIEGO", 1, "atiende_asignar", selected_user="UDIEGO")
    assert await snapshot(desk) == before
    await desk.slack_click("UDIEGO", 1, "atiende_descartar")
    view = desk.slack_last_view()
    await desk.slack_interact(submission("UDIEGO", view, {"motivo": "spam"}))
    assert await snapshot(desk) == before
    # a resolved ticket: Reabrir is the administrator's
    s = desk.services
    await s.tickets.propose(desk.team.admin, 1, detalle="Restablecimos su acceso.")
    await s.tickets.confirm(desk.team.admin, 1)
    await desk.settle()
    resolved = await snapshot(desk)
    assert resolved.estado is Estado.RESOLVED
    card = await desk.slack_card(1)
    version = (await s.queries.get(1)).version
    await desk.slack_interact(block_actions("UDIEGO", [{
        "action_id": "atiende_reabrir", "block_id": f"atiende_btn:1:{version}",
        "type": "button", "value": f"1:{version}", "action_ts": "1.2"}], card["ts"]))
    assert await snapshot(desk) == resolved
    return desk.slack_ephemerals("UDIEGO")


async def test_agent_admin_only_actions_refused_on_slack(desk_no_imap: Desk,
                                                         caplog: pytest.LogCaptureFixture,
                                                         ) -> None:
    caplog.set_level(logging.INFO)
    told = await agent_refusals_on_slack(desk_no_imap)
    assert len(told) == 3, told  # one polite answer each
    assert "reasignar" in told[0] and "administrador" in told[0]
    assert "descartar" in told[1] and "reabrir" in told[2]
    no_tracebacks(caplog)


async def test_agent_admin_only_refusal_on_slack_is_logged(desk_no_imap: Desk,
                                                           caplog: pytest.LogCaptureFixture,
                                                           ) -> None:
    caplog.set_level(logging.DEBUG)
    await agent_refusals_on_slack(desk_no_imap)
    assert logged(caplog, "Diego") or logged(caplog, "UDIEGO"), caplog.text


async def link_diego_on_telegram(desk: Desk) -> None:
    code = await desk.services.team.create_invite(desk.team.diego.id)
    await desk.tg_text(f"/start {code}", user=DIEGO_TG)
    assert "quedó vinculada" in desk.tg_last(DIEGO_TG)["text"]


async def agent_refusals_on_telegram(desk: Desk) -> list[str]:
    """Diego (linked to Telegram) sends the admin buttons' data copied from Carla's card
    (his own cards do not have them): reassign Sofía's ticket to himself, discard it."""
    await link_diego_on_telegram(desk)
    await ticket_of_sofia(desk)
    before = await snapshot(desk)
    card = await desk.tg_card(1)
    start = len(desk.tg.calls_to("answerCallbackQuery"))
    sent = len(desk.tg.calls_to("sendMessage"))
    await desk.tg_press(DIEGO_TG, desk.tg_button(card["message_id"], "Asignar"))
    menu = desk.tg_last(DIEGO_TG)
    pick = next((b["callback_data"] for row in menu.get("reply_markup", {}).get(
        "inline_keyboard", []) for b in row if b["text"].endswith("Diego")), None)
    if pick is not None:  # the menu was offered: pick himself
        await desk.tg_press(DIEGO_TG, pick, menu["message_id"])
    assert await snapshot(desk) == before
    await desk.tg_press(DIEGO_TG, desk.tg_button(card["message_id"], "Descartar"))
    prompt = desk.tg_last(DIEGO_TG)
    if "Por qué descarta" in prompt["text"]:  # the reason is asked before the core refuses
        await desk.tg_press(DIEGO_TG, desk.tg_button(prompt["message_id"], "Spam", DIEGO_TG),
                            prompt["message_id"])
    assert await snapshot(desk) == before
    answers = [str(c.params.get("text", "")) for c in
               desk.tg.calls_to("answerCallbackQuery")[start:]]
    assert not desk.tg_sent_to(CARLA, sent), "nothing went to Carla's chat"
    return [t for t in answers + desk.tg_sent_to(DIEGO_TG, sent)
            + [str(m.get("text")) for (chat, _), m in desk.tg.messages.items()
               if chat == DIEGO_TG] if "administrador" in t]


async def test_agent_admin_only_actions_refused_on_telegram(desk_no_imap: Desk,
                                                            caplog: pytest.LogCaptureFixture,
                                                            ) -> None:
    caplog.set_level(logging.INFO)
    told = await agent_refusals_on_telegram(desk_no_imap)
    assert any("reasignar" in t for t in told), told
    assert any("descartar" in t for t in told), told
    no_tracebacks(caplog)


async def test_agent_cannot_reopen_from_telegram(desk_no_imap: Desk) -> None:
    desk = desk_no_imap
    await link_diego_on_telegram(desk)
    await ticket_of_sofia(desk)
    s = desk.services
    await s.tickets.propose(desk.team.admin, 1, detalle="Restablecimos su acceso.")
    await s.tickets.confirm(desk.team.admin, 1)
    await desk.settle()
    before = await snapshot(desk)
    card = await desk.tg_card(1)
    start = len(desk.tg.calls_to("answerCallbackQuery"))
    await desk.tg_press(DIEGO_TG, desk.tg_button(card["message_id"], "Reabrir"))
    assert await snapshot(desk) == before
    told = [str(c.params.get("text", "")) for c in desk.tg.calls_to("answerCallbackQuery")[start:]]
    told += [str(m.get("text")) for (chat, _), m in desk.tg.messages.items() if chat == DIEGO_TG]
    assert sum("reabrir" in t for t in told) == 1, told
