"""Slack: a quarantined message in the support channel with "Reintentar"; a third
party's message in the ticket's thread with "Es del cliente"."""

from __future__ import annotations

from typing import Any

from bot.incoming.inbox_items import PermanentInboxError
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Estado
from db.models import CustomerContact, Ticket
from handlers.slack.inbox import LINK_ID, RETRY_ID
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SlackRig, block_actions, rig, thread_messages

__all__ = ["rig"]


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return {"action_id": action_id, "block_id": block.get("block_id", "b"),
                        "type": "button", "value": element["value"], "action_ts": "1.2"}
    raise AssertionError(f"no {action_id} in {message.get('text')}")


async def _writes(rig: SlackRig, body: str, email: str, ticket: int | None = None) -> int:
    result = await rig.services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body=body, external_id=f"<{body}@{email}>", email=email,
        name="", subject="Boleta", ticket_number=ticket))
    await rig.front.drain()
    assert result.ticket is not None
    return result.ticket.number


async def test_quarantine_notice_and_reintentar(rig: SlackRig, team: Team) -> None:
    state = {"broken": True}

    async def processor(entry):  # type: ignore[no-untyped-def]
        if state["broken"]:
            raise PermanentInboxError("sin remitente")
        return None

    inbox = rig.services.inbox
    inbox.register("test", processor)
    item = await inbox.accept(Canal.WHATSAPP, "test", "t:9", summary="+569 · text")
    await inbox.drain()
    [notice] = [m for (ch, _), m in rig.fake.messages.items()
                if ch == CHANNEL and "cuarentena" in m.get("text", "")]
    state["broken"] = False
    await rig.interact(block_actions("UDIEGO", [_button(notice, RETRY_ID)], notice["ts"]))
    assert (await inbox.get(item.id)).status == "procesado"  # type: ignore[union-attr]


async def test_third_party_in_the_thread_and_es_del_cliente(rig: SlackRig, team: Team) -> None:
    number = await _writes(rig, "Mi boleta llegó mal", "ana@cliente.cl")
    await rig.services.tickets.propose(team.admin, number, "Corregida.")
    await rig.front.drain()
    await _writes(rig, "Si", "socio@cliente.cl", ticket=number)
    assert (await Ticket.get(id=number)).estado == Estado.PENDING_CONFORMITY
    thread = thread_messages(rig.fake, await rig.card_ts(number))
    [line] = [m for m in thread if "no es el cliente" in m.get("text", "")]
    await rig.interact(block_actions("UDIEGO", [_button(line, LINK_ID)], line["ts"]))
    assert await CustomerContact.filter(value="socio@cliente.cl").exists()
    await _writes(rig, "Si, gracias", "socio@cliente.cl", ticket=number)
    assert (await Ticket.get(id=number)).estado == Estado.RESOLVED
