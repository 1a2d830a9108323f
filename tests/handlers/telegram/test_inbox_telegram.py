"""Telegram: a quarantined message reaches the administrator with "Reintentar"; a
third party's message is marked, and "Es del cliente" links its sender."""

from __future__ import annotations

from bot.incoming.inbox_items import PermanentInboxError
from bot.process.domain import Canal, Estado, InteractionKind
from db.models import CustomerContact, Interaction, Ticket
from tests.conftest import Team  # noqa: F401
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401


async def test_quarantine_is_shown_and_reintentar_processes(desk: Desk) -> None:
    state = {"broken": True}

    async def processor(entry):  # type: ignore[no-untyped-def]
        if state["broken"]:
            raise PermanentInboxError("sin remitente")
        return None

    inbox = desk.services.inbox
    inbox.register("test", processor)
    item = await inbox.accept(Canal.EMAIL, "test", "t:1", summary="Ana · Consulta")
    await inbox.drain()
    assert (await inbox.get(item.id)).status == "en cuarentena"  # type: ignore[union-attr]
    notice = desk.last_message(CARLA)
    assert "cuarentena" in notice["text"] and "Ana · Consulta" in notice["text"]
    state["broken"] = False
    await desk.tap(notice["message_id"], "Reintentar")
    assert (await inbox.get(item.id)).status == "procesado"  # type: ignore[union-attr]
    assert any("Procesado" in a for a in desk.answers())


async def test_third_party_line_and_es_del_cliente(desk: Desk) -> None:
    number = await desk.customer_writes("Mi boleta llegó mal.")
    await desk.services.tickets.propose(desk.team.admin, number, "Corregida.")
    await desk.front.drain()
    await desk.customer_writes("Sí", email="otro@externo.cl", ticket=number)
    assert (await Ticket.get(id=number)).estado == Estado.PENDING_CONFORMITY
    line = desk.last_message(CARLA)
    assert "Mensaje de un tercero" in line["text"] and "no es el cliente" in line["text"]
    row = await Interaction.get(ticket_id=number, kind=InteractionKind.THIRD_PARTY)
    await desk.tap(line["message_id"], "Es del cliente")
    assert await CustomerContact.filter(value="otro@externo.cl").exists()
    assert row.meta["sender"] == "otro@externo.cl"
    await desk.customer_writes("Sí, gracias", email="otro@externo.cl", ticket=number)
    assert (await Ticket.get(id=number)).estado == Estado.RESOLVED
