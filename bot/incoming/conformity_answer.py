"""Is a customer's written answer to the conformity request a clear yes, a clear no, or neither?

Chat front ends show buttons; email has only words. A wrong "yes" closes a ticket the
customer still needs, so this is deliberately conservative: only the first meaningful
line counts, it must be short, and anything hedged ("sí, pero...", "creo que sí") is
neither. Neither means the message simply lands on the ticket and the team decides.
Pure function, no I/O: the email channel calls it, and so can any other text channel.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class ConformityAnswer(StrEnum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


# Lines that carry no answer: greetings, salutations, quoted text, signature markers.
_GREETING = re.compile(
    r"^(hola|buen[oa]s? (dias|tardes|noches)|buen dia|estimad[oa]s?( \w+)?|senor(es|a)?( \w+)?|"
    r"saludos|gracias|muchas gracias|hi|hello|dear \w+)$")
_MAX_WORDS = 10  # a long first line is an explanation, not an answer

_YES = [
    r"si", r"si+", r"sip", r"claro( que si)?", r"conforme", r"estoy conforme",
    r"quedo conforme", r"de acuerdo", r"ok", r"okay", r"okey", r"vale", r"perfecto",
    r"excelente", r"listo", r"correcto", r"confirmo", r"lo confirmo", r"confirmado",
    r"(si )?(ya )?(esta|quedo|queda|fue) (todo )?(resuelto|solucionado|arreglado|listo)",
    r"(si )?(ya )?(se )?(resolvio|soluciono|arreglo)( el problema)?",
    r"(si )?(ya )?funciona( bien| correctamente| perfecto)?( ahora)?",
    r"(si )?todo (bien|ok|correcto|perfecto|en orden|listo|resuelto|solucionado)",
    r"si esta resuelto", r"si resuelto", r"resuelto", r"solucionado",
    r"yes", r"yes (it is|it's) (fixed|resolved|solved)", r"(it is |it's )?(fixed|resolved|solved)",
]
_NO = [
    r"no", r"no+", r"nop", r"negativo", r"no conforme", r"no estoy conforme",
    r"no (esta|quedo|queda|fue) (resuelto|solucionado|arreglado|listo)",
    r"(todavia|aun) no( (esta|queda) (resuelto|solucionado))?",
    r"no (se ha |se )?(resolvio|soluciono|arreglo)( el problema)?",
    r"no (se ha|ha sido|han) (resuelto|solucionado|arreglado)( el problema)?",
    r"(no|todavia no|aun no|sigue sin) funciona(r)?( bien)?",
    r"(el problema )?(sigue|continua|persiste)( (igual|pendiente|el problema|sin resolver|"
    r"fallando|sin funcionar))?",
    r"(no )?sigue pendiente", r"sigue (con el )?(mismo )?(problema|error)",
    r"no,? (sigue|continua) (igual|pendiente|el problema|fallando|sin funcionar)",
    r"nada", r"no funciona", r"not (fixed|resolved|solved)", r"no it is not",
]
_YES_RE = re.compile(r"^(?:" + "|".join(_YES) + r")$")
_NO_RE = re.compile(r"^(?:" + "|".join(_NO) + r")$")
# Words that turn a yes into something the team must read ("sí, pero ...").
_HEDGE = re.compile(r"\b(pero|aunque|sin embargo|creo|quizas|tal vez|parece|no se( si)?$|no se si|but)\b")
# Courtesy that may follow a clear answer and changes nothing.
_TAIL = re.compile(
    r"( (muchas|mil)? ?gracias( por (todo|la ayuda|su ayuda|la atencion|su atencion))?"
    r"( a (usted|ustedes|todos))?| saludos( cordiales)?| un saludo| atte)+$")
_HEAD = re.compile(r"^((muchas|mil) )?gracias( por (todo|la ayuda|su ayuda))? ")
_QUOTE_START = re.compile(r"^(el|on|le|am) .+(escribio|wrote|a ecrit|schrieb)\s*:?$")


def _fold(text: str) -> str:
    """Lower case, no accents, punctuation to spaces: "¡Sí, está RESUELTO!" -> "si esta resuelto"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^\w\s]", " ", plain)
    return re.sub(r"\s+", " ", plain).strip()


def first_meaningful_line(text: str) -> str:
    """The first line that is not empty, a greeting, or the start of quoted history."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(">"):
            continue
        if line in ("--", "-- ") or line.startswith("-----"):
            break
        folded = _fold(line)
        if _QUOTE_START.match(folded):
            break
        if not folded or _GREETING.match(folded):
            continue
        return line
    return ""


def classify_conformity_answer(text: str) -> ConformityAnswer:
    """YES or NO only when the first meaningful line says so plainly; else UNCLEAR."""
    line = first_meaningful_line(text)
    if not line:
        return ConformityAnswer.UNCLEAR
    # The answer is the first sentence: "Sí. Gracias por todo" -> "Sí".
    sentence = re.split(r"[.!;\n]", line.strip("¡¿ "), maxsplit=1)[0] or line
    folded = _fold(sentence)
    if not folded or len(folded.split()) > _MAX_WORDS or _HEDGE.search(folded):
        return ConformityAnswer.UNCLEAR
    folded = _TAIL.sub("", folded).strip() or folded
    folded = _HEAD.sub("", folded).strip() or folded
    # "Sí, todo bien" / "No, sigue igual": the leading word and the rest must agree.
    if _YES_RE.match(folded) or _all_match(folded, _YES_RE):
        return ConformityAnswer.YES
    if _NO_RE.match(folded) or _all_match(folded, _NO_RE):
        return ConformityAnswer.NO
    return ConformityAnswer.UNCLEAR


def _all_match(folded: str, pattern: re.Pattern[str]) -> bool:
    """"si conforme gracias"-style: every comma-free chunk of a short line is the same answer."""
    head, _, rest = folded.partition(" ")
    return bool(rest) and bool(pattern.match(head)) and bool(pattern.match(rest))
