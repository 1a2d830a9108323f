"""Customer text -> one comparable form, remembering where each word came from.

Customers write "URGENTEEE", "xq", "q", "porfa", "mñn", with or without accents, with
emojis. Rules and the learner both work on the normalised form (lower case, accents
stripped, letters repeated for emphasis squeezed, WhatsApp abbreviations expanded,
emojis named); every normalised token keeps the span of the customer's own word, so a
reason can be shown exactly as the customer wrote it.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass

MAX_CHARS = 800  # the first lines say what it is about; bounds the cost of a huge email

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?|[\U0001F300-\U0001FAFF\u2600-\u27BF]|[?!]")
_REPEAT3 = re.compile(r"(\w)\1{2,}")
_FINAL_DOUBLE = re.compile(r"([aiueo])\1$")

# WhatsApp spellings and short forms -> the word they stand for.
ABBREVIATIONS: dict[str, str] = {
    "q": "que", "k": "que", "ke": "que", "qe": "que",
    "xq": "porque", "pq": "porque", "pk": "porque", "xk": "porque", "porq": "porque",
    "xke": "porque", "pqe": "porque",
    "x": "por", "porfa": "por favor", "porfis": "por favor", "plis": "por favor",
    "pliss": "por favor", "pls": "por favor", "plz": "por favor", "xfa": "por favor",
    "porfavor": "por favor", "please": "por favor",
    "tb": "tambien", "tmb": "tambien", "tbn": "tambien",
    "msj": "mensaje", "msje": "mensaje", "d": "de", "dnd": "donde", "cdo": "cuando",
    "ud": "usted", "uds": "ustedes", "bn": "bien", "nd": "nada", "dsp": "despues",
    "dps": "despues", "hrs": "horas", "mnn": "manana", "mnna": "manana", "mna": "manana",
    "maniana": "manana", "pag": "pagina", "celu": "celular", "asap": "urgente",
    "urgent": "urgente", "urgentemente": "urgente", "toy": "estoy", "stoy": "estoy",
    "sta": "esta", "nose": "no se", "aki": "aqui", "grax": "gracias", "grs": "gracias",
    "grcs": "gracias", "slds": "saludos", "ola": "hola", "kiero": "quiero",
    "kien": "quien", "wena": "buena", "wenas": "buenas", "bkn": "bacan",
    "altiro": "al tiro", "wn": "weon", "hueon": "weon", "mail": "correo",
    "email": "correo", "emails": "correos", "mails": "correos",
}

# Emojis carry tone; each is named so a rule or the learner can see it.
EMOJI_WORDS: dict[str, str] = {
    **dict.fromkeys("😡🤬😤😠👿", "emo_enojo"),
    **dict.fromkeys("😭😢😩😰😱😕🙁😞😟😫", "emo_triste"),
    **dict.fromkeys("👍🙌👏😊🙂😍❤🥰😃😄🤗😁💪", "emo_feliz"),
    **dict.fromkeys("🚨❗‼⚠🔥", "emo_alerta"),
    "🙏": "por favor", "📎": "adjunto", "🎄": "emo_fiesta", "🎉": "emo_fiesta",
}


@dataclass(frozen=True)
class Normalised:
    """The normalised text (tokens joined by single spaces) and, per token, the span
    of the customer's word it came from."""

    original: str
    text: str
    tokens: tuple[str, ...]
    starts: tuple[int, ...]  # offset of each token in ``text``
    spans: tuple[tuple[int, int], ...]  # each token's (start, end) in ``original``

    def original_of(self, start: int, end: int) -> str:
        """The customer's words behind ``text[start:end]`` (for reasons): the tokens
        that overlap it, found by bisection (``starts`` ascend, tokens never overlap)."""
        first = bisect.bisect_right(self.starts, start) - 1  # the token holding ``start``
        if first < 0 or self.starts[first] + len(self.tokens[first]) <= start:
            first += 1  # ``start`` falls on a space (or before the first token)
        last = bisect.bisect_left(self.starts, end) - 1  # the last token starting before
        if first >= len(self.starts) or last < first:
            return ""
        return self.original[self.spans[first][0]:self.spans[last][1]]


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _plain_table() -> dict[int, str]:
    """Accented Latin letters -> plain lower case, one character each (offsets stay)."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        plain = strip_accents(char).lower()
        if len(plain) == 1 and plain != char:
            table[code] = plain
    table[ord("’")] = "'"
    return table


_PLAIN = _plain_table()


def normalise_word(word: str) -> str:
    """One word: lower case, no accents, emphasis squeezed ("urgenteee" -> "urgente")."""
    w = strip_accents(word.lower()).replace("'", "").replace("’", "")
    return _squeeze(w)


def _squeeze(w: str) -> str:
    w = _REPEAT3.sub(r"\1", w)
    if len(w) > 3 and w[-1] == w[-2] and not w.isdigit():
        w = _FINAL_DOUBLE.sub(r"\1", w)
    return w


def normalise(text: str) -> Normalised:
    """Tokenise and normalise ``text`` (cut to ``MAX_CHARS``)."""
    original = text[:MAX_CHARS]
    plain = original.translate(_PLAIN).lower()
    if len(plain) != len(original):  # a rare letter whose lower case is longer
        plain = original.translate(_PLAIN)
    tokens: list[str] = []
    starts: list[int] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _TOKEN.finditer(plain):
        span = match.span()
        for part in _parts(match.group(0)):
            tokens.append(part)
            starts.append(pos)
            spans.append(span)
            pos += len(part) + 1
    return Normalised(original, " ".join(tokens), tuple(tokens), tuple(starts), tuple(spans))


@functools.lru_cache(maxsize=8192)
def _parts(raw: str) -> tuple[str, ...]:
    """The normalised token(s) one matched word stands for. Customers reuse the same
    few thousand words, so each is worked out once per process (squeezing, accents and
    abbreviations were most of the suggestion's cost on a new ticket)."""
    if raw in EMOJI_WORDS or raw[0] in EMOJI_WORDS:
        words = EMOJI_WORDS.get(raw) or EMOJI_WORDS[raw[0]]
    elif len(raw) == 1 and not raw.isalnum():
        words = raw
    else:
        word = _squeeze(raw.replace("'", "")) if raw.isascii() else normalise_word(raw)
        words = ABBREVIATIONS.get(word, word)
    return tuple(words.split())
