"""The learner replaces the rules only where it beats them on held-back examples of the
company's own decisions: both cases, pure and through real classifications."""

from __future__ import annotations

from itertools import cycle

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.services import Services
from bot.triage.learner import features, train
from bot.triage.normalise import normalise
from bot.triage.rules import suggest_rules
from bot.triage.service import fit
from db.models import TriageExample
from tests.conftest import Team

MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre"]
BOLETA = ["no me llegó la boleta de {}", "¿me reenvían la boleta de {}?",
          "necesito la boleta de {} porfa", "la boleta de {} no aparece en mi correo"]
ORDINARY = ["¿cuánto sale el plan de hosting de {}?", "¿tienen tarjetas para {}?",
            "¿a qué hora abren en {}?", "hola, ¿hacen pendones para {}?"]


def house_examples(n: int = 48) -> list[tuple[str, TipoIncidencia, Prioridad]]:
    """This company treats every missing boleta as a Reclamo Alta (a tax deadline of
    theirs the day-one rules cannot know); ordinary questions as the rules do."""
    rows = []
    boleta, ordinary = cycle(BOLETA), cycle(ORDINARY)
    for i in range(n):
        month = MONTHS[i % 12]
        if i % 2:
            rows.append((next(boleta).format(month), TipoIncidencia.RECLAMO, Prioridad.ALTA))
        else:
            rows.append((next(ordinary).format(month), TipoIncidencia.CONSULTA,
                         Prioridad.BAJA))
    return rows


VARIED = ["la página está caída desde {}", "les sugiero abrir en {}",
          "me cobraron dos veces en {}", "el formulario falla desde {}"]


def as_rules_say(rows: list[tuple[str, TipoIncidencia, Prioridad]],
                 ) -> list[tuple[str, TipoIncidencia, Prioridad]]:
    """The same texts, some swapped for other kinds of message, labelled exactly as the
    rules suggest (nothing left to learn)."""
    out = []
    varied = cycle(VARIED)
    for i, (text, _, _) in enumerate(rows):
        text = next(varied).format(MONTHS[i % 12]) if i % 3 == 0 else text
        s = suggest_rules(text)
        out.append((text, s.tipo, s.prioridad))
    return out


def test_rules_alone_get_the_house_rule_wrong() -> None:
    s = suggest_rules("no me llegó la boleta de noviembre")
    assert (s.tipo, s.prioridad) != (TipoIncidencia.RECLAMO, Prioridad.ALTA)


def test_pure_fit_uses_the_model_only_when_it_beats_the_rules() -> None:
    def data(rows):  # type: ignore[no-untyped-def]
        return [(normalise(t), tipo.value, prio.value) for t, tipo, prio in rows]

    better = fit(data(house_examples()))
    assert all(v.use_model and v.model is not None for v in better), better
    assert all(v.model_accuracy > v.rules_accuracy for v in better)
    same = fit(data(as_rules_say(house_examples())))
    assert not any(v.use_model for v in same), same
    assert all(v.rules_accuracy == 1.0 for v in same)
    too_few = fit(data(house_examples(12)))
    assert not any(v.use_model for v in too_few)  # 3 held back: not enough to judge


def test_linear_model_explains_with_the_customers_words() -> None:
    rows = house_examples()
    model = train([(normalise(t), tipo.value) for t, tipo, _ in rows],
                  [t.value for t in TipoIncidencia])
    label, probability, why = model.predict(normalise("No me llegó la BOLETA de diciembre"))
    assert label == "Reclamo" and probability > 0.5
    assert why and all(w.startswith("aprendido: «") for w in why)
    assert any("BOLETA" in w or "llegó" in w for w in why), why
    assert features(normalise("")) == {}


async def _decide(services: Services, team: Team,
                  rows: list[tuple[str, TipoIncidencia, Prioridad]], start: int = 0) -> None:
    """Each text arrives by WhatsApp; Diego classifies it as the company would."""
    diego = team.actor(team.diego)
    for i, (text, tipo, prioridad) in enumerate(rows, start):
        result = await services.intake.receive(IncomingMessage(
            channel=Canal.WHATSAPP, body=text, external_id=f"wamid.learn{i}",
            phone=f"+5699{i:07d}"))
        assert result.ticket is not None and result.created
        await services.tickets.classify(diego, result.ticket.number, tipo=tipo,
                                        prioridad=prioridad)


async def test_company_decisions_teach_and_the_model_takes_over(services: Services,
                                                                 team: Team) -> None:
    await _decide(services, team, house_examples())
    assert await TriageExample.all().count() == 48
    assert await TriageExample.filter(accepted=False).count() == 24  # the boleta ones
    verdicts = await services.triage.retrain()
    assert [v.use_model for v in verdicts] == [True, True]
    assert services.triage.using_model == ("prioridad", "tipo")
    s = services.triage.suggest("Hola, ¿me reenvían la boleta de octubre?")
    assert (s.tipo, s.prioridad, s.source) == (TipoIncidencia.RECLAMO, Prioridad.ALTA,
                                               "modelo")
    # the next ticket that arrives carries the learned suggestion
    result = await services.intake.receive(IncomingMessage(
        channel=Canal.WHATSAPP, body="no aparece la boleta de marzo", external_id="wamid.new",
        phone="+56911112222"))
    assert result.ticket is not None and result.ticket.suggestion is not None
    assert result.ticket.suggestion.source == "modelo"
    assert result.ticket.suggested_prioridad is Prioridad.ALTA


async def test_decisions_that_agree_with_the_rules_keep_the_rules(services: Services,
                                                                   team: Team) -> None:
    await _decide(services, team, as_rules_say(house_examples()))
    assert await TriageExample.filter(accepted=True).count() == 48
    verdicts = await services.triage.retrain()
    assert [v.use_model for v in verdicts] == [False, False]
    assert services.triage.using_model == ()
    assert services.triage.suggest("¿me reenvían la boleta de octubre?").source == "reglas"


async def test_background_loop_retrains_after_enough_new_examples(
        settings, clock, database, team: Team) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.services import build_services

    services = build_services(settings.model_copy(update={"triage_retrain_every": 48}), clock)
    stop = asyncio.Event()
    loop = asyncio.create_task(services.triage.run(stop))
    await asyncio.wait_for(services.triage.trained.wait(), 30)  # the start-up training
    assert services.triage.using_model == ()
    services.triage.trained.clear()
    await _decide(services, team, house_examples()[:47])
    assert not services.triage.trained.is_set()  # 47 < 48: not yet
    await _decide(services, team, house_examples()[47:48], start=47)
    await asyncio.wait_for(services.triage.trained.wait(), 30)
    assert services.triage.using_model == ("prioridad", "tipo")
    stop.set()
    await asyncio.wait_for(loop, 10)
