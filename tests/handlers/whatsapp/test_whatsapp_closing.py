"""WhatsApp outside the 24-hour window: the conformity request goes as the approved
template with every body parameter and two quick-reply buttons that name the ticket; a
tap on them answers it; the closing message follows, and a closure without answer uses
its own approved template (or the history says why nothing went out)."""

from __future__ import annotations

from bot.process.domain import ConformityKind, Estado, InteractionKind
from db.models import Interaction, Ticket
from tests.conftest import Team, santiago
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    CUSTOMER,
    WhatsAppHarness,
    text_payload,
    whatsapp,
)


def _template_tap(wamid: str, payload: str, title: str) -> dict:  # type: ignore[type-arg]
    """A tap on an approved template's quick reply (shaped like the corpus's
    ``wa_template_quick_reply_button.json``): type ``button`` with the payload we set."""
    return text_payload(wamid, "", CUSTOMER, type="button", text=None,
                        button={"payload": payload, "text": title},
                        context={"from": "15550000000", "id": "wamid.OUT"})


async def _pending_outside_window(wa: WhatsAppHarness, team: Team) -> dict:  # type: ignore[type-arg]
    wa.services.clock.set(santiago(2026, 12, 9, 10, 0))  # type: ignore[attr-defined]
    assert (await wa.post(text_payload("wamid.IN1", "no tengo internet",
                                       name="Ana Pérez"))).status_code == 200
    await wa.services.tickets.assign(team.admin, 1, team.diego.id)
    wa.services.clock.set(santiago(2026, 12, 10, 15, 0))  # type: ignore[attr-defined]
    await wa.services.tickets.propose(team.actor(team.diego), 1, detalle="Reiniciamos el equipo.")
    assert await wa.deliver() == 1
    return wa.graph.last("messages").params


async def test_conformity_template_carries_every_parameter_and_the_buttons(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    sent = await _pending_outside_window(whatsapp, team)
    assert sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == "atiende_solicitud_conformidad"
    body, yes, no = template["components"]
    assert [p["text"] for p in body["parameters"]] == [
        "Hola, Ana.", "solicitud", "1", "Reiniciamos el equipo.", "jueves 17 de diciembre",
        "Diego · Atención al Cliente de Hosting Andino"]
    assert (yes["type"], yes["sub_type"], yes["index"]) == ("button", "quick_reply", "0")
    assert yes["parameters"] == [{"type": "payload", "payload": "conf:yes:1"}]
    assert (no["index"], no["parameters"][0]["payload"]) == ("1", "conf:no:1")


async def test_a_tap_on_the_template_confirms_and_the_closing_message_follows(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _pending_outside_window(whatsapp, team)
    whatsapp.services.clock.advance(hours=1)  # type: ignore[attr-defined]
    tap = _template_tap("wamid.TAP1", "conf:yes:1", "Sí, está resuelto")
    assert (await whatsapp.post(tap)).status_code == 200
    assert (await whatsapp.post(tap)).status_code == 200  # redelivered: changes nothing

    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.RESOLVED
    assert ticket.conformity_kind == ConformityKind.EXPLICIT
    assert await whatsapp.deliver() == 1  # the tap reopened the window: free text
    closing = whatsapp.graph.last("messages").params
    assert closing["type"] == "text"
    assert closing["text"]["body"].startswith("Hola, Ana.")
    assert "Gracias por confirmarnos" in closing["text"]["body"]
    assert await Interaction.filter(ticket_id=1, template="cierre").count() == 1


async def test_closure_without_answer_outside_the_window(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    services = whatsapp.services
    await _pending_outside_window(whatsapp, team)
    services.settings.conformity_reminder_business_days = 0
    services.clock.set(santiago(2026, 12, 17, 15, 0))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == [(1, "sin respuesta")]
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.RESOLVED
    assert ticket.conformity_kind == ConformityKind.NO_ANSWER
    # no approved template for it: nothing pretends to have gone out, the history says so
    assert await Interaction.filter(ticket_id=1, template="cierre").count() == 0
    notes = await Interaction.filter(ticket_id=1, kind=InteractionKind.NOTE)
    assert "No se envió el mensaje de cierre" in notes[-1].body
    assert "«cierre_sin_respuesta»" in notes[-1].body
    assert "ATIENDE_WHATSAPP_TEMPLATES" in notes[-1].body


async def test_closure_without_answer_uses_its_own_approved_template(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    services = whatsapp.services
    services.settings.whatsapp_templates["cierre_sin_respuesta"] = "atiende_cierre_sr_v1"
    await _pending_outside_window(whatsapp, team)
    services.settings.conformity_reminder_business_days = 0
    services.clock.set(santiago(2026, 12, 17, 15, 0))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == [(1, "sin respuesta")]
    assert await whatsapp.deliver() == 1
    sent = whatsapp.graph.last("messages").params
    assert sent["template"]["name"] == "atiende_cierre_sr_v1"
    params = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert params == ["Hola, Ana.", "solicitud", "1",
                      "Diego · Atención al Cliente de Hosting Andino"]
    assert len(sent["template"]["components"]) == 1  # no buttons on a closure
