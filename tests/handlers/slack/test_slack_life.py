"""A whole ticket life from Slack only, through signed requests to the HTTP endpoint."""

from __future__ import annotations

from bot.process.domain import Canal, Estado, InteractionKind, Prioridad, TipoIncidencia
from db.models import OutboxMessage
from handlers.slack.modals import NEW, REPLY
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SlackRig, rig, submission

__all__ = ["rig"]


async def test_whole_ticket_life_from_slack(rig: SlackRig, team: Team) -> None:
    fake, s = rig.fake, rig.services
    fake.add_user("UCARLA", "carla@empresa.cl", "Carla")  # linked by email on first click

    # /ticket nuevo -> the creation modal
    response = await rig.command("UDIEGO", "nuevo")
    assert response.status_code == 200
    view = fake.views[fake.last("views.open").response["view"]["id"]]
    assert view["callback_id"] == NEW
    response = await rig.interact(submission("UDIEGO", view, {
        "contacto": "ana@example.cl", "nombre": "Ana", "canal": Canal.EMAIL.value,
        "descripcion": "Me cobraron dos veces <!channel> & <@U123>"}))
    assert response.status_code == 200
    ticket = await s.queries.get(1)
    assert ticket.estado is Estado.NEW and ticket.customer.email == "ana@example.cl"
    card = await rig.card(1)
    assert card["blocks"][0]["text"]["text"].startswith("#1")
    assert "<!channel>" not in card["text"]

    # classify and assign from the card's selects
    await rig.click("UDIEGO", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    await rig.click("UDIEGO", 1, "atiende_prioridad", selected_option={"value": "Alta"})
    # Carla (admin) reassigns; Diego could not take a ticket assigned to her
    await rig.click("UCARLA", 1, "atiende_asignar", selected_user="UDIEGO")
    ticket = await s.queries.get(1)
    assert (ticket.tipo, ticket.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    assert ticket.assignee is not None and ticket.assignee.name == "Diego"
    assert ticket.estado is Estado.IN_PROGRESS
    assert (await s.team.by_slack("UCARLA")) is not None
    thread = await rig.thread(1)
    assert any("<@UDIEGO>" in m["text"] for m in thread)

    # Responder -> reply modal -> outbox row
    await rig.click("UDIEGO", 1, "atiende_responder")
    view = fake.views[fake.last("views.open").response["view"]["id"]]
    assert view["callback_id"] == REPLY
    text_block = next(b for b in view["blocks"] if b.get("block_id", "").startswith("text:"))
    assert text_block["element"]["initial_value"].startswith("Hola, Ana:")
    await rig.interact(submission("UDIEGO", view, {
        "tpl": "actualizacion_estado", text_block["block_id"]: "Estamos revisando el cobro."}))
    rows = await OutboxMessage.filter(interaction__ticket_id=1)
    assert len(rows) == 1 and rows[0].recipient == "ana@example.cl"
    ticket = await s.queries.get(1)
    assert ticket.first_response_at is not None

    # propose, then the customer's confirmation registered from the card
    s.clock.advance(hours=2)  # type: ignore[attr-defined]
    await rig.click("UDIEGO", 1, "atiende_proponer")
    assert (await s.queries.get(1)).estado is Estado.PENDING_CONFORMITY
    await rig.click("UDIEGO", 1, "atiende_conforme")
    ticket = await s.queries.get(1)
    assert ticket.estado is Estado.RESOLVED and ticket.resolved_at == s.clock.now()

    card = await rig.card(1)
    assert "Resuelto" in card["blocks"][0]["text"]["text"]
    assert "edited" in card
    history = "\n".join(m["text"] for m in await rig.thread(1))
    for expected in ("Tipo_Incidencia", "Prioridad", "Responsable", "respondió al cliente",
                     "Pendiente de conformidad", "Resuelto", "Fecha_Resolucion"):
        assert expected in history, expected
    history = await s.queries.history(1)
    kinds = [i.kind for i in history]
    # the reply, the conformity request, and the closing message on the confirmation
    assert kinds.count(InteractionKind.OUTBOUND) == 3
    assert [i.template for i in history if i.kind is InteractionKind.OUTBOUND][-1] == "cierre"


async def test_stale_click_redraws_and_changes_nothing(rig: SlackRig, team: Team) -> None:
    s = rig.services
    customer = await s.customers.find_or_create(email="ana@example.cl")
    await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                         description="hola")
    await rig.front.drain()
    old = await rig.card(1)
    await s.tickets.classify(team.admin, 1, tipo=TipoIncidencia.CONSULTA)
    await rig.front.drain()
    rig.fake.messages[(CHANNEL, old["ts"])] = old  # the person still sees the old card
    updates = len(rig.fake.calls_to("chat.update"))
    await rig.click("UDIEGO", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    assert (await s.queries.get(1)).tipo is TipoIncidencia.CONSULTA
    assert "cambió" in rig.fake.last("chat.postEphemeral").params["text"]
    assert len(rig.fake.calls_to("chat.update")) == updates + 1


async def test_agent_refused_by_core_is_told_in_spanish(rig: SlackRig, team: Team) -> None:
    s = rig.services
    customer = await s.customers.find_or_create(email="ana@example.cl")
    await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                         description="hola")
    await rig.front.drain()
    await rig.click("UDIEGO", 1, "atiende_asignar", selected_user="USOFIA")
    assert (await s.queries.get(1)).assignee.name == "Carla"  # type: ignore[union-attr]
    assert "administrador" in rig.fake.last("chat.postEphemeral").params["text"]
