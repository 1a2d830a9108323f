"""On intake every new ticket carries a suggestion; auto-apply is off unless set; an Alta
suggestion counts as Alta for quiet hours; the morning summary lists unclassified tickets."""

from __future__ import annotations

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, InteractionKind, Prioridad, TipoIncidencia
from bot.process.settings import Settings
from bot.reminders import build_reminders
from bot.services import Services, build_services
from db.models import Ticket, TriageExample
from tests.conftest import Team, santiago
from tests.core.reminders.harness import email_ticket, recorder, step_until


def whatsapp(body: str, n: int = 1) -> IncomingMessage:
    return IncomingMessage(channel=Canal.WHATSAPP, body=body, external_id=f"wamid.t{n}",
                           phone=f"+5698765432{n}", name="Ana")


async def test_a_ticket_opened_by_intake_has_a_suggestion(services: Services,
                                                          team: Team) -> None:
    result = await services.intake.receive(whatsapp(
        "Hola, disculpen la molestia, me cobraron DOS VECES el dominio 🙏"))
    view = result.ticket
    assert view is not None and result.created
    assert (view.tipo, view.prioridad) == (None, None)  # nobody decided yet
    assert (view.suggested_tipo, view.suggested_prioridad) == (TipoIncidencia.RECLAMO,
                                                               Prioridad.ALTA)
    assert view.suggestion is not None and view.suggestion.source == "reglas"
    assert view.suggestion.prioridad_confidence >= 0.8
    assert any("cobraron DOS VECES" in r for r in view.suggestion.reasons)
    row = await Ticket.get(id=view.number)
    assert row.suggestion_reasons["prioridad"] and row.version == 1
    # the customer writing again does not touch the suggestion
    again = await services.intake.receive(IncomingMessage(
        channel=Canal.WHATSAPP, body="¿me responden?", external_id="wamid.t9",
        phone="+56987654321", join_open=True))
    assert again.ticket is not None and again.ticket.number == view.number
    assert again.ticket.suggested_prioridad is Prioridad.ALTA


async def test_a_person_deciding_keeps_an_example_and_ends_the_suggestion(
        services: Services, team: Team) -> None:
    view = (await services.intake.receive(whatsapp("cuánto sale el hosting?"))).ticket
    assert view is not None and view.suggested_tipo is TipoIncidencia.CONSULTA
    after = await services.tickets.classify(team.actor(team.diego), view.number,
                                            tipo=TipoIncidencia.RECLAMO)
    assert after.suggested_tipo is None  # decided
    assert after.suggested_prioridad is Prioridad.BAJA  # still only suggested
    example = await TriageExample.get(ticket_id=view.number)
    assert (example.tipo, example.prioridad, example.accepted) == (TipoIncidencia.RECLAMO,
                                                                   None, False)
    assert example.member_id == team.diego.id and example.text == "cuánto sale el hosting?"  # type: ignore[attr-defined]
    await services.tickets.classify(team.admin, view.number, prioridad=Prioridad.MEDIA)
    assert await TriageExample.filter(ticket_id=view.number).count() == 1  # updated
    assert (await TriageExample.get(ticket_id=view.number)).prioridad is Prioridad.MEDIA


async def test_auto_apply_is_off_by_default(services: Services, team: Team) -> None:
    assert services.settings.triage_auto_apply is False
    view = (await services.intake.receive(whatsapp("la página está caída!!"))).ticket
    assert view is not None and (view.tipo, view.prioridad) == (None, None)
    events = [i for i in await services.queries.history(view.number)
              if i.kind is InteractionKind.EVENT]
    assert events == []


async def test_auto_apply_on_classifies_and_the_history_says_automatic(
        settings: Settings, clock, database, team: Team) -> None:  # type: ignore[no-untyped-def]
    auto = build_services(settings.model_copy(update={
        "triage_auto_apply": True, "triage_auto_apply_confidence": 0.9}), clock)
    sure = (await auto.intake.receive(whatsapp("Nos hackearon la página, voy al SERNAC"))).ticket
    assert sure is not None
    assert (sure.tipo, sure.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    history = await auto.queries.history(sure.number)
    changes = [(i.field, i.new_value, i.author_name, i.automatic) for i in history
               if i.kind is InteractionKind.EVENT]
    assert changes == [("Tipo_Incidencia", "Reclamo", "Clasificación automática", True),
                       ("Prioridad", "Alta", "Clasificación automática", True)]
    assert not await TriageExample.exists()  # automatic decisions teach nothing
    # below the threshold a field stays for a person
    unsure = (await auto.intake.receive(whatsapp("hola", n=2))).ticket
    assert unsure is not None and unsure.tipo is None


async def test_an_alta_suggestion_is_not_held_by_quiet_hours(services: Services,
                                                             team: Team, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(santiago(2026, 12, 9, 12, 0))
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    plain = (await services.intake.receive(whatsapp("¿hacen tarjetas con relieve?"))).ticket
    urgent = (await services.intake.receive(whatsapp("la tienda online está caída, no "
                                                     "podemos vender", n=2))).ticket
    assert plain is not None and urgent is not None
    assert urgent.suggested_prioridad is Prioridad.ALTA and urgent.prioridad is None
    assert plain.suggested_prioridad is Prioridad.BAJA
    # both reach 75 % of the first response at Thu 06:00, inside the night window
    await step_until(reminders, clock, santiago(2026, 12, 10, 8, 0))
    six, eight = santiago(2026, 12, 10, 6, 0), santiago(2026, 12, 10, 8, 0)
    at_six = {n.ticket.number for when, d in notes.delivered if when == six
              for n in d.notices}
    assert at_six == {urgent.number}
    assert {(d.audience.value, d.member.name if d.member else "") for when, d in
            notes.delivered if when == six} == {("assignee", "Carla")}
    at_eight = {n.ticket.number for when, d in notes.delivered if when == eight
                for n in d.notices}
    assert plain.number in at_eight
    # once a person says Baja, the suggestion no longer counts
    await services.tickets.classify(team.admin, urgent.number, prioridad=Prioridad.BAJA)
    row = await Ticket.get(id=urgent.number)
    from bot.reminders.policy import ClockState

    assert not ClockState.of(row).is_alta


async def test_morning_summary_lists_unclassified_tickets(services: Services, team: Team,
                                                          clock) -> None:  # type: ignore[no-untyped-def]
    reminders = build_reminders(services)
    recorder(services, clock)
    first = (await services.intake.receive(whatsapp("hola, una consulta"))).ticket
    await email_ticket(services, team, prioridad=Prioridad.BAJA)  # classified by the team
    second = (await services.intake.receive(whatsapp("¿tienen stickers?", n=2))).ticket
    assert first is not None and second is not None
    await services.tickets.classify(team.admin, second.number, tipo=TipoIncidencia.CONSULTA)
    clock.set(santiago(2026, 12, 7, 8, 0))
    channel, _ = await reminders.send_summary()
    assert f"Sin clasificar: 2 (#{first.number}, #{second.number})" in channel.summary
    await services.tickets.classify(team.admin, first.number, tipo=TipoIncidencia.CONSULTA,
                                    prioridad=Prioridad.BAJA)
    await services.tickets.classify(team.admin, second.number, prioridad=Prioridad.BAJA)
    assert "Sin clasificar" not in await reminders.summary.text(clock.now())


async def test_tickets_from_before_the_upgrade_get_a_suggestion(services: Services,
                                                                team: Team) -> None:
    old = (await services.intake.receive(whatsapp("nos hackearon la página"))).ticket
    decided = (await services.intake.receive(whatsapp("hola", n=2))).ticket
    assert old is not None and decided is not None
    await services.tickets.classify(team.admin, decided.number, tipo=TipoIncidencia.CONSULTA,
                                    prioridad=Prioridad.BAJA)
    await Ticket.all().update(suggested_tipo=None, suggested_prioridad=None,
                              suggestion_reasons=None)  # as a database from before triage
    assert (await services.queries.get(old.number)).suggestion is None
    assert await services.triage.backfill() == 1  # only the undecided one
    view = await services.queries.get(old.number)
    assert (view.suggested_tipo, view.suggested_prioridad) == (TipoIncidencia.RECLAMO,
                                                               Prioridad.ALTA)
    assert view.version == old.version and view.tipo is None  # suggested, not classified
    assert await services.triage.backfill() == 0
