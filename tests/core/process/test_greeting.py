"""The greeting and the subject, as pure functions: first names (compound ones too),
forms of address, companies and garbage (neutral when unsure), and reply chains."""

from __future__ import annotations

import pytest

from bot.outgoing.templates import clean_subject
from bot.process.greeting import NEUTRAL_EMAIL, NEUTRAL_WHATSAPP, greetings, split_name


@pytest.mark.parametrize(("name", "first"), [
    ("Ana Pérez", "Ana"),
    ("ANA PEREZ", "Ana"),
    ("María José Fernández-Undurraga de la Fuente Larraín Echeverría", "María José"),
    ("Juan Pablo Rojas", "Juan Pablo"),
    ("Ana María López", "Ana María"),
    ("María de los Ángeles Soto", "María de los Ángeles"),
    ("María del Carmen Díaz", "María del Carmen"),
    ("José Miguel Carrera Verdugo", "José Miguel"),
    ("Sra. Ana Soto", "Ana"),
    ("Ana (oficina)", "Ana"),
    ("Ana 🌸", "Ana"),
    ("Pedro", "Pedro"),
    ("Juan Pérez-Cotapos", "Juan"),
    ("Pérez Soto, Juan", "Juan"),
    ("Fernández-Undurraga, María José", "María José"),
    ("PEDRO", "Pedro"),
])
def test_first_name_is_derived(name: str, first: str) -> None:
    assert split_name(name)[0] == first


@pytest.mark.parametrize("name", [
    "", "   ", "Comercial Andes SpA", "Inversiones Los Robles Ltda.", "Pérez & Cía",
    "jperez_88", "jperez", "x", "12345", "ana@example.cl", "Cliente", "Soporte TI",
    "de la Fuente", "A" * 300, "+56 9 1234 5678", "Constructora Pérez Hnos",
    "Hello Support", "Test Name", "GitHub", "Sra. Pérez", "<USER_DISPLAY_NAME>",
])
def test_unsure_means_neutral(name: str) -> None:
    hello = greetings(name)
    assert (hello.email, hello.whatsapp, hello.first_name) == (
        NEUTRAL_EMAIL, NEUTRAL_WHATSAPP, None)


def test_form_of_address_makes_it_estimada_or_estimado() -> None:
    assert greetings("Ana Pérez", form_of_address="Sra.").email == "Estimada Ana:"
    assert greetings("Ana Pérez", form_of_address="Srta").email == "Estimada Ana:"
    assert greetings("Pedro Soto", form_of_address="Sr.").email == "Estimado Pedro:"
    assert greetings("Sr. Pedro Soto").email == "Estimado Pedro:"
    assert greetings("Ana Pérez").email == "Hola, Ana:"  # gender unknown: no "Estimado/a"
    assert greetings("Ana Pérez", form_of_address="Dr.").email == "Hola, Ana:"
    assert greetings("Pedro Soto", form_of_address="Sr.").whatsapp == "Hola, Pedro."


def test_the_customers_own_fields_win() -> None:
    hello = greetings("Fernández-Undurraga, María José", first_name="Majo",
                      form_of_address="Sra.")
    assert hello.email == "Estimada Majo:" and hello.whatsapp == "Hola, Majo."
    # a company with a contact's first name recorded by the team
    assert greetings("Comercial Andes SpA", first_name="Luis").email == "Hola, Luis:"
    # blank fields fall back to the name
    assert greetings("Ana Pérez", first_name="  ", form_of_address="").email == "Hola, Ana:"


def test_never_estimado_slash_a() -> None:
    for name in ("Ana Pérez", "", "Comercial Andes SpA", "María José Fernández"):
        for form in (None, "Sr.", "Sra.", "x"):
            hello = greetings(name, form_of_address=form)
            assert "/" not in hello.email and "/" not in hello.whatsapp


@pytest.mark.parametrize(("subject", "topic"), [
    ("RE: RE: RV: Fwd: Cobro duplicado", "Cobro duplicado"),
    ("Re: Re: [#12] FW: Boleta", "Boleta"),
    ("AW: TR: Rechnung", "Rechnung"),
    ("RES: ENC: pedido 44", "pedido 44"),
    ("Re[2]: Fwd: factura", "factura"),
    ("Respuesta pendiente", "Respuesta pendiente"),
    ("Réplica de la boleta", "Réplica de la boleta"),
    ("RE:", ""),
    ("Cobro\r\nBcc: x@y.cl", "Cobro Bcc: x@y.cl"),
])
def test_subject_loses_reply_prefixes(subject: str, topic: str) -> None:
    assert clean_subject(subject) == topic


def test_subject_topic_is_cut_on_a_word() -> None:
    long = "Consulta sobre el despacho de mi pedido número 4711 que no ha llegado a la " \
           "dirección indicada en la compra del mes pasado"
    topic = clean_subject("RE: RV: " + long)
    assert len(topic) <= 71 and topic.endswith("…")
    assert long.startswith(topic.removesuffix("…"))
    assert long[len(topic) - 1] == " "  # the cut falls between words
    one_word = clean_subject("x" * 200)
    assert len(one_word) == 71
