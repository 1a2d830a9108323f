"""The yes/no classifier for written conformity answers (bot/incoming/conformity_answer.py), and
the quote stripper it relies on in email."""

from __future__ import annotations

import pytest

from bot.incoming.conformity_answer import ConformityAnswer, classify_conformity_answer
from handlers.email.quotes import strip_quotes

YES = ["Sí", "si", "SÍ.", "¡Sí!", "Sí, está resuelto", "Conforme", "conforme, gracias",
       "Está resuelto", "ESTÁ RESUELTO.", "Todo bien, gracias", "todo ok", "Ya funciona",
       "Sí, ya funciona bien", "Quedó solucionado", "Listo, muchas gracias",
       "Perfecto. Muchas gracias por todo", "Hola,\n\nSí, está resuelto.\nSaludos",
       "De acuerdo", "Muchas gracias, todo resuelto",
       "Sí\n\nEl jue, 10 dic 2026 a las 15:00, Hosting Andino escribió:\n> ¿Está resuelto?"]
NO = ["No", "no.", "NO!", "No, sigue igual", "No está resuelto", "Todavía no",
      "Aún no funciona", "Sigue pendiente", "No, sigue pendiente", "El problema persiste",
      "No funciona", "No se ha resuelto", "No estoy conforme",
      "Buenos días:\nNo, sigue igual.\n> Le solicitamos su conformidad"]
UNCLEAR = ["", "Hola", "Sí, pero ahora el correo llega tarde", "Creo que sí",
           "No sé si está resuelto", "¿Me pueden llamar?", "Gracias",
           "Les escribo porque tengo otra consulta sobre la factura de diciembre que no entiendo",
           "> Sí\n> conforme", "Tal vez mañana lo pruebo"]


@pytest.mark.parametrize("text", YES)
def test_clear_yes(text: str) -> None:
    assert classify_conformity_answer(text) is ConformityAnswer.YES


@pytest.mark.parametrize("text", NO)
def test_clear_no(text: str) -> None:
    assert classify_conformity_answer(text) is ConformityAnswer.NO


@pytest.mark.parametrize("text", UNCLEAR)
def test_anything_else_is_unclear(text: str) -> None:
    assert classify_conformity_answer(text) is ConformityAnswer.UNCLEAR


@pytest.mark.parametrize(("text", "expected"), [
    ("Gracias, lo reviso.\n\nEl mié, 9 dic 2026 a las 11:00, Soporte <s@x.cl> escribió:\n"
     "> Estimada Ana", "Gracias, lo reviso."),
    ("Ok.\n\nOn Wed, Dec 9, 2026 at 11:00 AM Soporte\n<s@x.cl> wrote:\n> hi", "Ok."),
    ("Adjunto datos.\n\n________________________________\nDe: Soporte <s@x.cl>\n"
     "Enviado: miércoles\nPara: Ana\nAsunto: RE: [#2]\n\ntexto", "Adjunto datos."),
    ("Nuevo texto\n-----Mensaje original-----\nDe: x", "Nuevo texto"),
    ("Nuevo\n\n-- \nAna Pérez\nGerente", "Nuevo"),
    ("Respuesta arriba\n\nEnviado desde mi iPhone", "Respuesta arriba"),
    ("> cita\nmi respuesta en línea\n> otra cita\notra respuesta",
     "mi respuesta en línea\notra respuesta"),
    ("> todo citado\n> nada nuevo", "> todo citado\n> nada nuevo"),  # nothing left: keep all
])
def test_strip_quotes(text: str, expected: str) -> None:
    assert strip_quotes(text) == expected
