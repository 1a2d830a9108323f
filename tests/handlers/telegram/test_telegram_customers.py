"""Telegram: /cliente shows a customer's data, /cliente_editar changes one field (team
members only, recorded), /fusionar merges two customers after a confirmation tap."""

from __future__ import annotations

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram
from tests.servers import telegram_updates as tu

STRANGER = 4242
NASTY = "<b>Ana</b> & Cía"


async def test_lookup_shows_the_fields_escaped(desk: Desk) -> None:
    number = await desk.customer_writes("Hola.")
    c = (await desk.services.queries.get(number)).customer
    await desk.services.customers.update(desk.team.admin, c.id, name=NASTY,
                                         rut="12345678-5", form_of_address="Sra.")
    await desk.text("/cliente 12.345.678-5")
    shown = desk.last_message()
    assert NASTY in shown["text"]  # the fake parsed our HTML: the name came through as text
    assert "RUT: 12.345.678-5" in shown["text"] and "Tratamiento: Sra." in shown["text"]
    assert f"#{number}" in shown["text"] and "ana@cliente.cl" in shown["text"]


async def test_edit_one_field_recorded_with_who(desk: Desk) -> None:
    number = await desk.customer_writes("Hola.")
    c = (await desk.services.queries.get(number)).customer
    await desk.text(f"/cliente_editar {c.id} rut 12.345.678-5")
    assert "✓ RUT actualizado" in desk.last_message()["text"]
    await desk.text("/cliente_editar ana@cliente.cl tratamiento Sra.")
    assert "Tratamiento: Sra." in desk.last_message()["text"]
    await desk.text(f"/cliente_editar {c.id} rut 12.345.678-4")
    assert "dígito verificador" in desk.last_message()["text"]
    await desk.text(f"/cliente_editar {c.id} color azul")
    assert "No conozco el campo" in desk.last_message()["text"]
    now = await desk.services.customers.get(c.id)
    assert (now.rut, now.form_of_address) == ("12345678-5", "Sra.")
    changes = await desk.services.customers.changes(c.id)
    assert [(x.field, x.new_value, x.author_name) for x in changes] == [
        ("Tratamiento", "Sra.", "Carla"), ("RUT", "12.345.678-5", "Carla")]


async def test_stranger_cannot_edit_or_merge(desk: Desk, fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("Hola.")
    c = (await desk.services.queries.get(number)).customer
    await desk.text(f"/cliente_editar {c.id} nombre Hackeado", user=STRANGER)
    await desk.text(f"/fusionar {c.id} {c.id}", user=STRANGER)
    assert "solo para el equipo" in desk.last_message(STRANGER)["text"]
    assert (await desk.services.customers.get(c.id)).name == "Ana Pérez"
    assert await desk.services.customers.changes(c.id) == []


async def test_merge_asks_then_merges_on_the_tap(desk: Desk,
                                                fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("No llega la boleta.")
    keep = (await desk.services.queries.get(number)).customer
    other = await desk.services.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "sigo sin boleta", "wamid.7", phone="56912345678", name=NASTY))
    await desk.front.drain()
    assert other.ticket is not None
    drop, moved = other.ticket.customer, other.ticket.number

    await desk.text(f"/fusionar {keep.id} +56 9 1234 5678")
    await desk.text(f"/fusionar {keep.id} +56912345678")
    ask = desk.last_message()
    assert "¿Fusionar" in ask["text"] and NASTY in ask["text"] and "su ticket" in ask["text"]
    assert (await desk.services.queries.get(moved)).customer.id == drop.id  # not yet
    # a stranger pressing a copy of the button changes nothing
    data = desk.button(ask["message_id"], "Fusionar")
    await desk.deliver(tu.make_callback_update(STRANGER, STRANGER, ask["message_id"], data,
                                               message=ask))
    assert (await desk.services.queries.get(moved)).customer.id == drop.id

    await desk.tap(ask["message_id"], "Fusionar")
    assert "Clientes fusionados" in desk.fake.messages[(CARLA, ask["message_id"])]["text"]
    t = await desk.services.queries.get(moved)
    assert t.number == moved and t.customer.id == keep.id
    assert t.customer.phone == "+56912345678"
    await desk.text(f"/cliente {drop.id}")
    assert "No encontré ningún cliente" in desk.last_message()["text"]
    assert desk.failed_calls() == []
