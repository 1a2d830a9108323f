"""How a message greets the customer: by first name, with a form of address when known.

"Estimado/a Ana Pérez:" reads as mass mail, and "Hola, María José Fernández-Undurraga de
la Fuente Larraín Echeverría." as a form letter. A person is greeted by their first name
("Estimada Ana:" when we know she is *Sra.*, "Hola, Ana:" when we only know the name);
when the name is a company, garbage, or anything we are unsure of, the greeting is
neutral. A wrong first name is worse than none, so every doubt ends in the neutral form.

Pure functions, no I/O: the template context calls ``greetings`` once per message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

NEUTRAL_EMAIL = "De nuestra consideración:"
NEUTRAL_WHATSAPP = "Hola."

_MAX_FIRST_NAME = 40
_MAX_NAME = 200

# "Sr.", "Sra.", "Srta." and how people type them; value: feminine?
_FORMS: dict[str, bool] = {
    "sr": False, "senor": False, "don": False, "sra": True, "senora": True, "srta": True,
    "senorita": True, "dona": True,
}
_TITLES = {"dr", "dra", "ing", "prof", "lic", "mr", "mrs", "ms", "miss"}

# Words that make a name a company's (folded: lower case, no accents, no dots).
_COMPANY_WORDS = {
    "spa", "sa", "ltda", "limitada", "eirl", "inc", "llc", "ltd", "corp", "gmbh", "cia",
    "comercial", "empresa", "empresas", "sociedad", "constructora", "inversiones",
    "servicios", "distribuidora", "importadora", "exportadora", "hnos", "hermanos",
    "group", "grupo", "holding", "consultores", "consultora", "transportes", "industrial",
    "ingenieria", "municipalidad", "universidad", "colegio", "fundacion", "corporacion",
    "banco", "clinica", "farmacia", "restaurant", "restaurante", "tienda", "store", "shop",
    "soporte", "ventas", "contacto", "admin", "info", "noreply", "equipo", "team",
    "cliente", "clientes", "usuario", "desconocido", "unknown", "customer", "user",
    # roles, robots and placeholders ("Hello Support", "Test Name", "Bug Reporter")
    "support", "help", "helpdesk", "ayuda", "test", "prueba", "name", "nombre", "hello",
    "hola", "person", "persona", "card", "news", "noticias", "newsletter", "marketing",
    "notificaciones", "notification", "notifications", "alerts", "alertas", "billing",
    "facturacion", "cobranza", "reporter", "mailer", "daemon", "postmaster", "webmaster",
    "office", "oficina", "directory", "no-reply", "sender", "senders", "bot",
}
# Second words that make a compound first name ("María José", "Juan Pablo").
_COMPOUND_HEADS = {"maria", "jose", "juan", "ana", "luis", "carlos", "francisco", "miguel",
                   "jorge", "pedro", "rosa", "luz"}
_COMPOUND_TAILS = {
    "jose", "paz", "jesus", "luisa", "ignacia", "fernanda", "pablo", "carlos", "ignacio",
    "antonio", "luis", "francisco", "manuel", "andres", "cristobal", "esteban", "elena",
    "teresa", "isabel", "belen", "eugenia", "angelica", "soledad", "alejandra", "cecilia",
    "ines", "pia", "trinidad", "cristina", "constanza", "victoria", "eduardo",
    "enrique", "alberto", "javier", "tomas", "agustin", "martin", "felipe", "ester",
    "gracia", "josefina", "magdalena", "alicia", "ximena", "carolina", "gabriela",
    "antonieta", "fernando", "maria", "miguel", "joaquin", "ramon", "rafael", "alfonso",
    "daniel", "cristian", "patricio", "rodrigo", "sebastian", "vicente",
}
# "María de los Ángeles", "María del Carmen": the particle and the saint's name.
_DEVOTIONAL = {"carmen", "pilar", "rosario", "mar", "angeles", "luz", "paz", "socorro",
               "mercedes", "dolores", "consuelo", "remedios", "lourdes", "fatima"}
_PARTICLES = {"de", "del", "la", "los", "las", "y"}

_WORD = re.compile(r"^[^\W\d_]+(?:['’][^\W\d_]+)?$")


@dataclass(frozen=True)
class Greetings:
    """The opening line of each channel's text."""

    email: str  # "Estimada Ana:", "Hola, Ana:", "De nuestra consideración:"
    whatsapp: str  # "Hola, Ana.", "Hola."
    first_name: str | None


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip(".")


def parse_form_of_address(value: str | None) -> bool | None:
    """``Sr.`` -> False, ``Sra.``/``Srta.`` -> True (feminine); anything else -> None."""
    if not value:
        return None
    return _FORMS.get(_fold(value.strip()).rstrip("."))


def _capitalised(word: str) -> str:
    """"ANA" / "ana" -> "Ana"; a mixed-case word ("McArthur") as typed."""
    if word.isupper() or word.islower():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


@lru_cache(maxsize=4096)
def split_name(name: str) -> tuple[str | None, bool | None]:
    """The first name in ``name`` and the form of address it carries ("Sra. Ana Soto").

    ``(None, ...)`` when unsure: a company, an address, digits, symbols, one word that
    is not a name, or a name too long to be one. Remembered: every card and event of a
    ticket shows its customer's name again (a pure function of the text).
    """
    # Emoji and other symbols of a WhatsApp profile name ("Ana 🌸") say nothing.
    text = "".join(c for c in (name or "") if not unicodedata.category(c).startswith("S")
                   and c not in "\u200d\ufe0f")
    text = " ".join(text.split())
    text = re.sub(r"\s*[(\[].*?[)\]]\s*", " ", text).strip()  # "Ana (oficina)"
    if not text or len(text) > _MAX_NAME or "@" in text or any(c.isdigit() for c in text):
        return None, None
    if text.count(",") == 1:  # "Pérez Soto, Juan": the given name comes after the comma
        surname, given = (part.strip() for part in text.split(","))
        text = f"{given} {surname}".strip()
    words = text.replace(",", " ").split()
    form: bool | None = None
    while words and (_fold(words[0]) in _FORMS or _fold(words[0]) in _TITLES):
        head = _fold(words.pop(0))
        if head in _FORMS:
            form = _FORMS[head]
    if form is not None and len(words) == 1:
        return None, form  # "Sra. Pérez": a surname, not a first name
    if not words or any(_fold(w) in _COMPANY_WORDS for w in words) or "&" in text:
        return None, form
    if not all(_WORD.match(part) for w in words for part in w.split("-") if part) or \
            any(not part for w in words for part in w.split("-")):
        return None, form
    folded = [_fold(w) for w in words]
    first = [words[0]]
    if len(words) >= 3 and folded[1] == "del" and folded[2] in _DEVOTIONAL:
        first = words[:3]  # "María del Carmen"
    elif (len(words) >= 4 and folded[1] == "de" and folded[2] in ("los", "la", "las")
          and folded[3] in _DEVOTIONAL):
        first = words[:4]  # "María de los Ángeles"
    elif len(words) >= 2 and folded[0] in _COMPOUND_HEADS and folded[1] in _COMPOUND_TAILS:
        first = words[:2]  # "María José", "Juan Pablo"
    if len(words) == 1 and (len(words[0]) < 2 or words[0].islower()
                            or not re.search(r"[aeiouy]", folded[0])
                            or (not words[0].isupper() and not words[0][1:].islower())):
        return None, form  # "x", "jperez", "GitHub": a handle or a brand, not a name
    if _fold(first[0]) in _PARTICLES:
        return None, form
    result = " ".join(_capitalised(w) if _fold(w) not in _PARTICLES else w.lower()
                      for w in first)
    if len(result) > _MAX_FIRST_NAME:
        return None, form
    return result, form


def greetings(name: str, first_name: str | None = None,
              form_of_address: str | None = None) -> Greetings:
    """The greeting for a customer called ``name``.

    ``first_name`` and ``form_of_address`` ("Sr."/"Sra.") are the customer's own fields
    when the team filled them in; otherwise both are derived from ``name``.
    """
    derived_first, derived_form = split_name(name)
    given = " ".join((first_name or "").split())
    first = given[:_MAX_FIRST_NAME] if given else derived_first
    feminine = parse_form_of_address(form_of_address)
    if feminine is None:
        feminine = derived_form
    if not first:
        return Greetings(NEUTRAL_EMAIL, NEUTRAL_WHATSAPP, None)
    if feminine is None:
        email = f"Hola, {first}:"
    else:
        email = f"{'Estimada' if feminine else 'Estimado'} {first}:"
    return Greetings(email, f"Hola, {first}.", first)


def derive_first_name(name: str) -> str:
    """The given name in a person's name, as the greeting reads it ("María José Pérez"
    -> "María José", "Sra. Ana Soto" -> "Ana"); "" when the name does not look like a
    person's (a company, an address, digits)."""
    first, _ = split_name(name)
    return (first or "")[:100]
