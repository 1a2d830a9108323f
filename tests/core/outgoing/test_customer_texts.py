"""Every customer message as a customer reads it: each template, each Tipo_Incidencia,
email and WhatsApp (inside and outside the 24-hour window), with edge data: very long
names, no name, company names, "RE: RV:" subjects. The assertions are on the words that
matter: the greeting, the promise, the question, and what must never be written."""

from __future__ import annotations

import pytest

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Estado, TipoIncidencia
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.services import Services
from bot.tickets.replies import OutgoingDraft
from tests.conftest import Team, santiago

TYPES = [None, *TipoIncidencia]
LONG_NAME = "María José Fernández-Undurraga de la Fuente Larraín Echeverría"
CUSTOMERS = {
    # name -> (email greeting, WhatsApp greeting)
    "Ana Pérez": ("Hola, Ana:", "Hola, Ana."),
    LONG_NAME: ("Hola, María José:", "Hola, María José."),
    "Comercial Andes SpA": ("De nuestra consideración:", "Hola."),
    "": ("De nuestra consideración:", "Hola."),
    "jperez_88": ("De nuestra consideración:", "Hola."),
}
SUBJECT = "RE: RV: Fwd: RE: " + "Cobro duplicado en la boleta electrónica de noviembre " * 4
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes")


async def _ticket(services: Services, team: Team, name: str, channel: Canal,
                  tipo: TipoIncidencia | None) -> int:
    if channel is Canal.EMAIL:
        customer = await services.customers.find_or_create(email="cliente@example.cl",
                                                           name=name)
    else:  # the customer writes: that opens WhatsApp's 24-hour window
        result = await services.intake.receive(IncomingMessage(
            Canal.WHATSAPP, "Me cobraron dos veces.", "wamid.T1", phone="+56912345678",
            name=name))
        assert result.ticket is not None
        if tipo is not None:
            await services.tickets.classify(team.admin, result.ticket.number, tipo=tipo)
        return result.ticket.number
    view = await services.tickets.open(team.admin, customer_id=customer.id, channel=channel,
                                       description="Me cobraron dos veces.", subject=SUBJECT,
                                       tipo=tipo)
    return view.number


def _assert_clean(text: str) -> None:
    assert "Estimado/a" not in text
    assert "entenderemos que está conforme" not in text and "tácita" not in text
    assert "sábado" not in text and "domingo" not in text  # never a weekend promise
    assert "18:30" not in text and "17:50" not in text  # promises carry no clock time
    assert "RE:" not in text and "RV:" not in text and "Fwd:" not in text
    assert "None" not in text and "{{" not in text


@pytest.mark.parametrize("tipo", TYPES, ids=lambda t: str(t or "sin_tipo"))
@pytest.mark.parametrize("name", list(CUSTOMERS), ids=["ana", "long", "company", "empty",
                                                       "handle"])
async def test_every_email_for_every_type(services: Services, team: Team, name: str,
                                          tipo: TipoIncidencia | None) -> None:
    """Friday 4 Dec 17:50: the first reply is due Saturday; the resolution falls after the
    8 Dec holiday. Neither a Saturday nor a clock time is promised."""
    number = await _ticket(services, team, name, Canal.EMAIL, tipo)
    hello_email, _ = CUSTOMERS[name]
    for template in TemplateName:
        draft = await services.replies.draft(team.admin, number, template)
        message = draft.message
        assert draft.channel is Canal.EMAIL
        assert message.text.startswith(hello_email + "\n"), (template, message.text[:60])
        assert f"<p>{hello_email}</p>" in message.html
        _assert_clean(message.text)
        _assert_clean(message.subject)
        # subject: no reply chain, the topic cut to ~70 characters on a word, then the tag
        assert message.subject.endswith(f"[#{number}]")
        topic = message.subject.split(" – ", 1)[1].removesuffix(f" [#{number}]")
        assert topic.startswith("Cobro duplicado") and len(topic) <= 71
        assert topic.endswith("…") and not topic.endswith(" …")
        assert "Carla" in message.text and "Hosting Andino" in message.text  # signature


@pytest.mark.parametrize("tipo", TYPES, ids=lambda t: str(t or "sin_tipo"))
async def test_promises_are_business_dates(services: Services, team: Team,
                                           tipo: TipoIncidencia | None) -> None:
    number = await _ticket(services, team, "Ana Pérez", Canal.EMAIL, tipo)
    ack = (await services.replies.draft(team.admin, number,
                                        TemplateName.ACKNOWLEDGEMENT)).message
    for text in (ack.text, ack.whatsapp):
        assert "dentro de las próximas 24 horas" in text
    update = (await services.replies.draft(team.admin, number,
                                           TemplateName.STATUS_UPDATE)).message
    # 48 business hours from Fri 4 Dec 17:50, with Tue 8 Dec a public holiday; a
    # suggestion's update promises no "solution"
    for text in (update.text, update.whatsapp):
        if tipo is TipoIncidencia.SUGERENCIA:
            assert "a más tardar" not in text and "evaluando" in text
        else:
            assert "a más tardar el miércoles 9 de diciembre." in text
    if tipo is TipoIncidencia.RECLAMO:
        assert "una solución a más tardar el miércoles 9 de diciembre." in ack.text


async def test_resolution_deadline_on_a_weekend_is_promised_for_the_next_business_day(
        services: Services, team: Team) -> None:
    number = await _ticket(services, team, "Ana Pérez", Canal.EMAIL, TipoIncidencia.RECLAMO)
    services.settings.business_hours = "lun-vie 09:00-18:00"
    services.clock.set(santiago(2026, 12, 11, 17, 0))  # type: ignore[attr-defined]
    from db.models import Ticket

    await Ticket.filter(id=number).update(resolution_due=santiago(2026, 12, 12, 18, 30))
    text = (await services.replies.draft(team.admin, number,
                                         TemplateName.STATUS_UPDATE)).message.text
    assert "a más tardar el lunes 14 de diciembre." in text
    assert "sábado" not in text


@pytest.mark.parametrize("tipo", TYPES, ids=lambda t: str(t or "sin_tipo"))
async def test_every_whatsapp_text_inside_the_window(services: Services, team: Team,
                                                     tipo: TipoIncidencia | None) -> None:
    number = await _ticket(services, team, LONG_NAME, Canal.WHATSAPP, tipo)
    for template in TemplateName:
        draft = await services.replies.draft(team.admin, number, template)
        assert draft.channel is Canal.WHATSAPP and draft.free_text_allowed
        text = draft.message.whatsapp
        assert text.startswith("Hola, María José.\n"), template
        assert LONG_NAME not in text
        _assert_clean(text)
        assert len(text) <= 1024
    ack = (await services.replies.draft(team.admin, number,
                                        TemplateName.ACKNOWLEDGEMENT)).message.whatsapp
    # the deadline line is its own paragraph, not glued to the sentence before it
    before, _, _ = ack.partition("dentro de las próximas 24 horas")
    assert before.endswith(("\n\nLe responderemos ", "\n\nLe escribiremos ",
                            "\n\nNos comunicaremos con usted ")), before[-60:]


async def test_conformity_request_on_whatsapp_says_tap_a_button(services: Services,
                                                                team: Team) -> None:
    for tipo, question in ((TipoIncidencia.CONSULTA, "¿Podemos dar por resuelto su caso?"),
                           (TipoIncidencia.RECLAMO, "¿Podemos dar por resuelto su reclamo?"),
                           (TipoIncidencia.SUGERENCIA,
                            "¿Podemos dar por atendida su sugerencia?")):
        number = await _ticket(services, team, "Ana Pérez", Canal.WHATSAPP, tipo)
        text = (await services.replies.draft(team.admin, number,
                                             TemplateName.CONFORMITY_REQUEST)).message.whatsapp
        assert question in text
        assert "Toque un botón o responda" in text
        assert ("daremos por cerrado el caso; si necesita retomarlo, basta con responder a "
                "este mensaje") in text
        assert "conforme y cerraremos" not in text


async def test_outside_the_window_every_parameter_goes(services: Services,
                                                       team: Team) -> None:
    services.settings.whatsapp_templates = {
        "solicitud_conformidad": "atiende_conformidad_v2",
        "cierre": {"name": "atiende_cierre_v2", "params": ["saludo", "numero", "firma"]},
    }
    number = await _ticket(services, team, "Sra. Ana Pérez", Canal.WHATSAPP,
                           TipoIncidencia.RECLAMO)
    services.clock.advance(days=2)  # type: ignore[attr-defined]
    draft: OutgoingDraft = await services.replies.draft(
        Actor.of(team.diego), number, TemplateName.CONFORMITY_REQUEST)
    assert not draft.free_text_allowed
    assert draft.whatsapp_template == "atiende_conformidad_v2"
    saludo, tipo, numero, detalle, plazo, firma = draft.template_params
    assert (saludo, tipo, numero, detalle) == ("Hola, Ana.", "reclamo", str(number), "-")
    assert plazo.split()[0] in WEEKDAYS and "de diciembre" in plazo
    assert firma == "Diego · Atención al Cliente de Hosting Andino"
    closing = await services.replies.draft(team.admin, number, TemplateName.CLOSURE)
    assert closing.template_params == ("Hola, Ana.", str(number),
                                       "Carla · Atención al Cliente de Hosting Andino")
    none = await services.replies.draft(team.admin, number, TemplateName.INFO_REQUEST)
    assert none.whatsapp_template is None and none.template_params == ()


async def test_a_wrong_template_mapping_fails_loudly() -> None:
    from bot.process.settings import Settings, SettingsError, load_settings

    with pytest.raises((ValueError, SettingsError)):
        Settings(_env_file=None,  # type: ignore[call-arg]
                 whatsapp_templates='{"cierre": {"name": "x", "params": ["telefono"]}}')
    with pytest.raises((ValueError, SettingsError)):
        Settings(_env_file=None,  # type: ignore[call-arg]
                 whatsapp_templates='{"no_existe": "x"}')
    assert load_settings  # the loader wraps the same validation for the CLI


async def test_free_text_reply_subject_has_one_re(services: Services, team: Team) -> None:
    number = await _ticket(services, team, "Ana Pérez", Canal.EMAIL, None)
    await services.tickets.reply(team.admin, number, text="Lo revisamos.")
    history = await services.queries.history(number)
    subject = [i for i in history if i.template is None and i.kind.value == "saliente"][0]
    from db.models import OutboxMessage

    row = await OutboxMessage.all().order_by("-id").first()
    assert row is not None
    assert row.payload["subject"].startswith("Re: Cobro duplicado")
    assert row.payload["subject"].count("Re:") == 1 and "RV:" not in row.payload["subject"]
    assert subject.body == "Lo revisamos."
    assert (await services.queries.get(number)).estado is Estado.IN_PROGRESS


async def test_a_missed_deadline_is_not_promised_again(services: Services,
                                                       team: Team) -> None:
    number = await _ticket(services, team, "Ana Pérez", Canal.EMAIL, TipoIncidencia.RECLAMO)
    services.clock.set(santiago(2026, 12, 10, 12, 0))  # type: ignore[attr-defined]
    ack = (await services.replies.draft(team.admin, number,
                                        TemplateName.ACKNOWLEDGEMENT)).message.text
    assert "dentro de las próximas" not in ack and "a la brevedad" in ack
    assert "a más tardar" not in ack  # the 9 Dec resolution deadline is past
