"""Telegram: a whole ticket life by taps only, cards edited in place, notes, commands."""

from __future__ import annotations

from bot.process.domain import Estado, InteractionKind, Prioridad, TipoIncidencia
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram

DIEGO = 1002


async def test_start_up_registers_spanish_commands(desk: Desk,
                                                   fake_telegram: FakeTelegram) -> None:
    (commands,) = fake_telegram.commands.values()
    names = [c["command"] for c in commands]
    assert names[:2] == ["nuevo", "tickets"] and "cancelar" in names and "ayuda" in names
    assert next(c for c in commands if c["command"] == "nuevo")["description"] == \
        "Crear un ticket"


async def test_whole_ticket_life_by_taps(desk: Desk, fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("No me llegó la boleta de noviembre.")
    card = await desk.card(number)
    assert f"#{number}" in card["text"] and "Ana Pérez" in card["text"]
    assert "No me llegó la boleta" in card["text"] and "Nuevo" in card["text"]
    card_id = card["message_id"]

    await desk.tap(card_id, "Reclamo")  # triage: two taps
    await desk.tap(card_id, "Alta")
    view = await desk.services.queries.get(number)
    assert (view.tipo, view.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    card = await desk.card(number)
    assert card["message_id"] == card_id  # edited in place, not re-sent
    desk.button(card_id, "✓ Reclamo")  # the card marks the current choice
    assert "Reclamo · Alta" in card["text"]

    await desk.tap(card_id, "Asignar")
    menu = desk.last_message()
    await desk.tap(menu["message_id"], "Diego")
    assert "asignado a Diego" in desk.fake.messages[(CARLA, menu["message_id"])]["text"]
    card = await desk.card(number)
    assert "Responsable: Diego" in card["text"] and "En proceso" in card["text"]

    await desk.tap(card_id, "Responder")
    menu = desk.last_message()
    await desk.tap(menu["message_id"], "Acuse de recibo")
    preview = desk.fake.messages[(CARLA, menu["message_id"])]
    assert "Acuse de recibo" in preview["text"] and "ana@cliente.cl" in preview["text"]
    assert "Para: Correo electrónico" in preview["text"]
    await desk.tap(menu["message_id"], "Enviar")
    history = await desk.services.queries.history(number)
    assert [i.template for i in history if i.kind is InteractionKind.OUTBOUND] == \
        ["acuse_recibo"]

    await desk.tap(card_id, "Proponer solución")
    proposal = desk.last_message()
    assert "Proponer solución" in proposal["text"]
    await desk.tap(proposal["message_id"], "Enviar")
    card = await desk.card(number)
    assert "Pendiente de conformidad" in card["text"]

    await desk.tap(card_id, "Cliente conforme")
    view = await desk.services.queries.get(number)
    assert view.estado is Estado.RESOLVED and view.resolved_at is not None
    card = await desk.card(number)
    assert "Resuelto" in card["text"] and "Fecha_Resolucion:" in card["text"]
    assert card["message_id"] == card_id
    assert desk.failed_calls() == []
    # the card once, then only the two menus and the proposal: everything else edits
    assert len(fake_telegram.calls_to("sendMessage")) == 4


async def test_customer_message_on_pending_conformity_offers_one_tap_answers(
        desk: Desk) -> None:
    number = await desk.customer_writes("La factura sale con el RUT equivocado.")
    actor = desk.team.admin
    await desk.services.tickets.classify(actor, number, tipo=TipoIncidencia.RECLAMO)
    await desk.services.tickets.propose(actor, number, detalle="Corregimos el RUT.")
    await desk.front.drain()
    await desk.customer_writes("Sigue saliendo mal el RUT.", ticket=number)
    card = await desk.card(number)
    assert "Sigue saliendo mal" in card["text"]
    desk.button(card["message_id"], "Cliente conforme")
    await desk.tap(card["message_id"], "Sigue pendiente")
    assert (await desk.services.queries.get(number)).estado is Estado.IN_PROGRESS


async def test_reply_with_edited_text(desk: Desk) -> None:
    number = await desk.customer_writes("¿Cuál es el horario de atención?")
    card = await desk.card(number)
    await desk.tap(card["message_id"], "Responder")
    menu = desk.last_message()
    await desk.tap(menu["message_id"], "Actualización de estado")
    await desk.tap(menu["message_id"], "Editar texto")
    await desk.text("Atendemos de lunes a viernes, de 9 a 18 h. <Saludos> & gracias.")
    preview = desk.last_message()
    assert "texto editado" in preview["text"] and "<Saludos> & gracias" in preview["text"]
    await desk.tap(preview["message_id"], "Enviar")
    (out,) = [i for i in await desk.services.queries.history(number)
              if i.kind is InteractionKind.OUTBOUND]
    assert out.body == "Atendemos de lunes a viernes, de 9 a 18 h. <Saludos> & gracias."


async def test_discard_asks_for_a_reason_and_reopen(desk: Desk) -> None:
    number = await desk.customer_writes("Gane un premio, haga clic aquí.")
    card_id = (await desk.card(number))["message_id"]
    await desk.tap(card_id, "Descartar")
    assert "¿Por qué descarta" in desk.last_message()["text"]
    assert (await desk.services.queries.get(number)).estado is Estado.NEW  # not yet
    await desk.text("Es spam publicitario")
    view = await desk.services.queries.get(number)
    assert view.estado is Estado.DISCARDED and view.discard_reason == "Es spam publicitario"
    card = await desk.card(number)
    assert "Motivo del descarte: Es spam publicitario" in card["text"]
    await desk.tap(card_id, "Reabrir")
    assert (await desk.services.queries.get(number)).estado is Estado.IN_PROGRESS


async def test_discard_with_a_tapped_reason(desk: Desk) -> None:
    number = await desk.customer_writes("Mensaje repetido.")
    await desk.tap((await desk.card(number))["message_id"], "Descartar")
    await desk.tap(desk.last_message()["message_id"], "Duplicado")
    assert (await desk.services.queries.get(number)).discard_reason == "Duplicado"


async def test_plain_reply_to_a_card_is_an_internal_note(desk: Desk) -> None:
    number = await desk.customer_writes("Necesito la boleta.")
    card = await desk.card(number)
    await desk.text("Llamé al cliente, la envío mañana.", reply_to=card["message_id"])
    notes = [i for i in await desk.services.queries.history(number)
             if i.kind is InteractionKind.NOTE]
    assert [n.body for n in notes] == ["Llamé al cliente, la envío mañana."]
    assert "Nota interna agregada" in desk.last_message()["text"]


async def test_assignee_linked_to_telegram_gets_cards_without_admin_buttons(
        desk: Desk) -> None:
    code = await desk.services.team.create_invite(desk.team.diego.id)
    await desk.text(f"/start {code}", user=DIEGO)
    assert "quedó vinculada" in desk.last_message(DIEGO)["text"]
    number = await desk.customer_writes("Consulta por el plan anual.")
    card_id = (await desk.card(number))["message_id"]
    await desk.tap(card_id, "Asignar")
    await desk.tap(desk.last_message()["message_id"], "Diego")
    diego_card = await desk.card(number, DIEGO)
    assert "Responsable: Diego" in diego_card["text"]
    labels = [b["text"] for row in diego_card["reply_markup"]["inline_keyboard"] for b in row]
    assert "🗑 Descartar" not in labels and "👤 Asignar" in labels
    await desk.tap(diego_card["message_id"], "Consulta", user=DIEGO)
    assert "Consulta" in (await desk.card(number))["text"]  # Carla's card follows


async def test_lookup_commands(desk: Desk) -> None:
    for i in range(7):
        await desk.customer_writes(f"Problema número {i}", email=f"c{i}@cliente.cl")
    await desk.text("/tickets")
    listing = desk.last_message()
    assert "página 1 de 2" in listing["text"] and "#7" in listing["text"]
    await desk.tap(listing["message_id"], "Siguiente")
    assert "página 2 de 2" in desk.fake.messages[(CARLA, listing["message_id"])]["text"]
    await desk.tap(listing["message_id"], "#1")
    assert (await desk.card(1))["message_id"] == desk.last_message()["message_id"]
    await desk.text("/ticket 3")
    assert "Historial del ticket #3" in desk.last_message()["text"]
    await desk.text("/buscar número 4")
    assert "#5" in desk.last_message()["text"]
    await desk.text("/cliente c2@cliente.cl")
    assert "#3" in desk.last_message()["text"]
    await desk.text("/tickets vencidos")
    assert "no hay tickets" in desk.last_message()["text"]
    await desk.text("/ayuda")
    assert "/nuevo" in desk.last_message()["text"]
    await desk.text("/ticket 99")
    assert "No existe el ticket #99" in desk.last_message()["text"]
    assert desk.failed_calls() == []
