"""The day-one rules: each category, Spanish from several countries, WhatsApp spellings,
English; anger alone does not raise priority and politeness never lowers it."""

from __future__ import annotations

import pytest

from bot.process.domain import Prioridad, TipoIncidencia
from bot.triage.normalise import normalise
from bot.triage.rules import suggest_rules

C, R, S = TipoIncidencia.CONSULTA, TipoIncidencia.RECLAMO, TipoIncidencia.SUGERENCIA
BAJA, MEDIA, ALTA = Prioridad.BAJA, Prioridad.MEDIA, Prioridad.ALTA


@pytest.mark.parametrize(("text", "tipo", "prioridad", "reason"), [
    # money charged twice or wrongly
    ("Me cobraron dos veces la mensualidad de diciembre", R, ALTA, "cobraron dos veces"),
    ("En mi tarjeta hay un cargo que no reconozco por $89.000", R, ALTA, "no reconozco"),
    # service down
    ("Desde las 9 la página está caída y no estamos vendiendo", R, ALTA, "página está caída"),
    ("no nos llega ningún correo a ninguna casilla", R, ALTA, "ningún correo"),
    # security
    ("Nos hackearon el sitio, aparece publicidad de casino", R, ALTA, "hackearon"),
    # legal and consumer agencies, one per country
    ("Si no me responden voy al SERNAC", R, ALTA, "SERNAC"),
    ("Presentaré una queja ante PROFECO por el cobro", R, ALTA, "PROFECO"),
    ("Voy a reclamar en Defensa del Consumidor", R, ALTA, "Defensa del Consumidor"),
    ("Voy a ir a INDECOPI si no activan el hosting", R, ALTA, "INDECOPI"),
    ("Radicaré una queja ante la SIC", R, ALTA, "SIC"),
    ("Mi abogado está revisando el contrato", R, ALTA, "abogado"),
    # deadlines today / tomorrow
    ("Necesito 200 volantes para mañana temprano, ¿se puede?", C, ALTA, "para mañana"),
    ("El dominio vence HOY y no me deja pagar", R, ALTA, "vence HOY"),
    # repeated complaint: one level up
    ("Es la tercera vez que escribo: el formulario de contacto no envía", R, ALTA,
     "tercera vez"),
    # partial failure, ordinary question, idea, thanks
    ("La casilla ventas@ no me deja enviar correos, las otras andan bien", R, MEDIA, ""),
    ("¿Cuánto sale el plan de hosting básico?", C, BAJA, ""),
    ("Les sugiero que agreguen pago por transferencia", S, BAJA, "sugiero"),
    ("Muchas gracias por la ayuda de ayer, excelente atención", S, BAJA, "gracias"),
])
def test_each_category(text: str, tipo: TipoIncidencia, prioridad: Prioridad,
                       reason: str) -> None:
    s = suggest_rules(text)
    assert (s.tipo, s.prioridad) == (tipo, prioridad), s
    if reason:  # the reason is quoted as the customer wrote it (capitals, accents)
        assert any(reason in r for r in s.tipo_reasons + s.prioridad_reasons), s


def test_voseo() -> None:
    s = suggest_rules("che, la web no anda desde anoche, fijate porfa que tenemos la "
                      "tienda parada")
    assert (s.tipo, s.prioridad) == (R, ALTA)
    s = suggest_rules("Hola! podés pasarme el precio de los stickers? tenés en vinilo?")
    assert (s.tipo, s.prioridad) == (C, BAJA)


def test_whatsapp_spellings_and_emojis() -> None:
    s = suggest_rules("URGENTEEE xq no m llegan los correos a ninguna cuenta!!! 😡😡")
    assert (s.tipo, s.prioridad) == (R, ALTA)
    assert normalise("URGENTEEE xq q porfa mñn Ñandú 🙏").text == \
        "urgente porque que por favor manana nandu por favor"
    s = suggest_rules("porfa necesito la factura hoy xq cierro mes")
    assert s.prioridad is ALTA and any("hoy" in r for r in s.prioridad_reasons)


def test_english_and_mixed() -> None:
    s = suggest_rules("Hi, our website has been down since this morning, we can't take orders")
    assert (s.tipo, s.prioridad) == (R, ALTA)
    s = suggest_rules("hi, i was charged twice for the hosting renewal")
    assert (s.tipo, s.prioridad) == (R, ALTA)
    s = suggest_rules("It would be great if the panel supported two-factor authentication")
    assert (s.tipo, s.prioridad) == (S, BAJA)
    s = suggest_rules("hola!! the page is not loading, mi tienda está down")
    assert (s.tipo, s.prioridad) == (R, ALTA)


@pytest.mark.parametrize("text", [
    "PÉSIMO SERVICIO!!! ¿cuánto cuesta el plan de correo de 10 cuentas??",
    "ES URGENTEEE!!! 😡 quiero saber si hacen tarjetas con relieve",
    "weon contesten, ¿a qué hora cierran la tienda de Providencia?",
])
def test_anger_alone_does_not_raise_priority(text: str) -> None:
    assert suggest_rules(text).prioridad is BAJA


@pytest.mark.parametrize(("polite", "rude"), [
    ("Disculpen la molestia, cuando puedan nomás, creo que me cobraron dos veces el "
     "dominio 🙏", "ME COBRARON DOS VECES EL DOMINIO!!! 😡"),
    ("Hola, sin apuro: la página está caída desde hace dos horas. Gracias de antemano.",
     "LA PAGINA ESTA CAIDA, ARREGLENLA YA"),
])
def test_politeness_never_lowers_priority(polite: str, rude: str) -> None:
    assert suggest_rules(polite).prioridad is suggest_rules(rude).prioridad is ALTA


def test_a_minor_defect_stays_low_but_never_an_alta() -> None:
    assert suggest_rules("una falta de ortografía en la página de inicio, no es grave"
                         ).prioridad is BAJA
    assert suggest_rules("no es grave pero me cobraron dos veces").prioridad is ALTA


def test_huge_message_is_bounded_and_still_read_from_its_start() -> None:
    s = suggest_rules("Nos hackearon la página. " + "bla " * 100_000)
    assert (s.tipo, s.prioridad) == (R, ALTA)
