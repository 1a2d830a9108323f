"""Telegram: the /nuevo conversation, /cancelar, and a restart in the middle."""

from __future__ import annotations

from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401


async def test_new_ticket_by_conversation(desk: Desk) -> None:
    await desk.text("/nuevo")
    assert "¿Quién es el cliente?" in desk.last_message()["text"]
    await desk.text("+56 9 8765 4321")
    question = desk.last_message()
    assert "Cliente nuevo" in question["text"]
    await desk.text("Pedro Soto")
    channels = desk.last_message()
    await desk.tap(channels["message_id"], "Teléfono")
    await desk.text("No puede entrar al portal <desde ayer> & pide ayuda.")
    step = desk.last_message()
    await desk.tap(step["message_id"], "Consulta")
    await desk.tap(step["message_id"], "Media")
    assert "¿Crear este ticket?" in desk.fake.messages[(CARLA, step["message_id"])]["text"]
    await desk.tap(step["message_id"], "Crear")
    view = await desk.services.queries.get(1)
    assert view.customer.name == "Pedro Soto" and view.customer.phone == "+56987654321"
    assert (view.channel, view.tipo, view.prioridad) == (Canal.PHONE, TipoIncidencia.CONSULTA,
                                                         Prioridad.MEDIA)
    assert view.description == "No puede entrar al portal <desde ayer> & pide ayuda."
    assert "Ticket #1 creado" in desk.fake.messages[(CARLA, step["message_id"])]["text"]
    card = await desk.card(1)  # the new ticket's card arrives like any other
    assert "<desde ayer> & pide ayuda" in card["text"]
    assert desk.failed_calls() == []


async def test_new_ticket_picks_a_known_customer_by_name(desk: Desk) -> None:
    await desk.services.customers.find_or_create(email="ana@cliente.cl", name="Ana Pérez")
    await desk.services.customers.find_or_create(email="anabel@cliente.cl", name="Anabel Ruiz")
    await desk.text("/nuevo")
    await desk.text("ana")
    pick = desk.last_message()
    await desk.tap(pick["message_id"], "Anabel")
    await desk.tap(pick["message_id"], "Correo electrónico")
    await desk.text("Pide copia del contrato.")
    step = desk.last_message()
    await desk.tap(step["message_id"], "Todavía no")
    await desk.tap(step["message_id"], "Todavía no")
    await desk.tap(step["message_id"], "Crear")
    view = await desk.services.queries.get(1)
    assert view.customer.name == "Anabel Ruiz" and view.tipo is None
    assert view.estado is Estado.NEW


async def test_cancel_leaves_any_step_and_creates_nothing(desk: Desk) -> None:
    await desk.text("/nuevo")
    await desk.text("ana@cliente.cl")
    await desk.text("/cancelar")
    assert "No se creó nada" in desk.last_message()["text"]
    await desk.text("Esto ya no es parte de /nuevo")
    assert "No entendí" in desk.last_message()["text"]
    await desk.text("/cancelar")
    assert "No hay nada que cancelar" in desk.last_message()["text"]
    page = await desk.services.queries.list()
    assert page.total == 0


async def test_bad_email_is_refused_and_the_step_repeats(desk: Desk) -> None:
    await desk.text("/nuevo")
    await desk.text("ana@sin-dominio")
    assert "no es una dirección de correo válida" in desk.last_message()["text"]
    await desk.text("ana@cliente.cl")
    assert "Cliente nuevo" in desk.last_message()["text"]


async def test_restart_in_the_middle_resumes_the_conversation(desk: Desk) -> None:
    await desk.text("/nuevo")
    await desk.text("ana@cliente.cl")
    await desk.text("Ana Pérez")
    channels = desk.last_message()
    await desk.tap(channels["message_id"], "WhatsApp")

    await desk.restart()  # a new application on the same database
    await desk.text("Quiere cambiar su plan.")
    step = desk.last_message()
    assert "Tipo_Incidencia" in step["text"]

    await desk.restart()  # and again, now on a button step
    await desk.tap(step["message_id"], "Sugerencia")
    await desk.tap(step["message_id"], "Baja")
    await desk.tap(step["message_id"], "Crear")
    view = await desk.services.queries.get(1)
    assert (view.customer.email, view.channel) == ("ana@cliente.cl", Canal.WHATSAPP)
    assert view.description == "Quiere cambiar su plan."
    assert view.tipo is TipoIncidencia.SUGERENCIA


async def test_text_asked_by_a_button_survives_a_restart(desk: Desk) -> None:
    number = await desk.customer_writes("Spam")
    await desk.tap((await desk.card(number))["message_id"], "Descartar")
    await desk.restart()
    await desk.text("Publicidad no solicitada")
    assert (await desk.services.queries.get(number)).discard_reason == \
        "Publicidad no solicitada"
