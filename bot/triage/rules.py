"""Day-one suggestion: Tipo_Incidencia and Prioridad from the weighted signals.

Why rules first: they work before the company has labelled anything, they explain
themselves (every reason is a phrase the customer wrote), and they cost well under a
millisecond. The learner (``learner.py``) replaces a field only where it proved better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.process.domain import Prioridad, TipoIncidencia
from bot.triage.normalise import Normalised, normalise
from bot.triage.signals import SIGNALS, Signal

RULES = "reglas"
ALTA_AT = 4.0  # alta evidence needed for Alta
MEDIA_AT = 2.0
MAX_REASONS = 4
_LEVELS = (Prioridad.BAJA, Prioridad.MEDIA, Prioridad.ALTA)


@dataclass(frozen=True)
class Suggestion:
    """A suggested classification, with how sure and why (phrases as written)."""

    tipo: TipoIncidencia
    tipo_confidence: float
    tipo_reasons: tuple[str, ...]
    prioridad: Prioridad
    prioridad_confidence: float
    prioridad_reasons: tuple[str, ...]
    source: str = RULES

    def as_json(self) -> dict[str, object]:
        return {"tipo": self.tipo.value, "tipo_confidence": round(self.tipo_confidence, 3),
                "tipo_reasons": list(self.tipo_reasons), "prioridad": self.prioridad.value,
                "prioridad_confidence": round(self.prioridad_confidence, 3),
                "prioridad_reasons": list(self.prioridad_reasons), "source": self.source}


@dataclass(frozen=True)
class Hit:
    signal: Signal
    phrase: str  # the customer's words


def message_text(subject: str | None, text: str) -> str:
    """What is analysed: the subject (when there is one) and the body."""
    subject = (subject or "").strip().rstrip("…")
    if not subject or text.lstrip().startswith(subject):  # a subject made from the text
        return text
    return f"{subject}\n{text}"


def hits(norm: Normalised) -> list[Hit]:
    found: list[Hit] = []
    text = " " + norm.text  # see ``signals._s``: patterns may start with the space
    for signal in SIGNALS:
        match = signal.pattern.search(text)
        if match is not None:
            start, end = match.span()
            found.append(Hit(signal, norm.original_of(max(0, start - 1), end - 1).strip()))
    return found


def _reasons(weighted: list[tuple[float, Hit]]) -> tuple[str, ...]:
    out: list[str] = []
    for _, hit in sorted(weighted, key=lambda wh: -wh[0]):
        phrase = hit.phrase if hit.phrase and hit.phrase not in ("?", "!") else hit.signal.label
        text = f"{hit.signal.label}: «{phrase[:60]}»" if phrase != hit.signal.label \
            else hit.signal.label
        if text not in out:
            out.append(text)
        if len(out) == MAX_REASONS:
            break
    return tuple(out)


def _softmax_top(scores: dict[TipoIncidencia, float]) -> tuple[TipoIncidencia, float]:
    top = max(scores, key=lambda t: scores[t])
    total = sum(math.exp(v) for v in scores.values())
    return top, math.exp(scores[top]) / total


def decide_tipo(found: list[Hit]) -> tuple[TipoIncidencia, float, tuple[str, ...]]:
    scores = {TipoIncidencia.CONSULTA: 0.5, TipoIncidencia.RECLAMO: 0.0,
              TipoIncidencia.SUGERENCIA: 0.0}
    only_courtesy = all(h.signal.kind in ("thanks", "english") or h.signal.key == "anger"
                        for h in found)
    weighted: dict[TipoIncidencia, list[tuple[float, Hit]]] = {t: [] for t in scores}
    for h in found:
        s = h.signal
        for tipo, w in ((TipoIncidencia.CONSULTA, s.consulta),
                        (TipoIncidencia.RECLAMO, s.reclamo),
                        (TipoIncidencia.SUGERENCIA, s.sugerencia)):
            if s.kind == "thanks" and only_courtesy:
                w *= 3  # nothing else asked: the thanks is the message
            if w:
                scores[tipo] += w
                weighted[tipo].append((w, h))
    tipo, confidence = _softmax_top(scores)
    return tipo, confidence, _reasons(weighted[tipo])


def decide_prioridad(found: list[Hit], tipo: TipoIncidencia,
                     ) -> tuple[Prioridad, float, tuple[str, ...]]:
    alta = [(h.signal.alta, h) for h in found if h.signal.alta]
    media = [(h.signal.media, h) for h in found if h.signal.media]
    repeat = [(1.0, h) for h in found if h.signal.kind == "repeat"]
    minor = [(1.0, h) for h in found if h.signal.kind == "minor"]
    alta_score = sum(w for w, _ in alta)
    media_score = sum(w for w, _ in media)
    if alta_score >= ALTA_AT:
        level, because = 2, alta
        confidence = min(0.97, 0.6 + 0.05 * alta_score)
    elif media_score >= MEDIA_AT or tipo is TipoIncidencia.RECLAMO:
        level, because = 1, media
        confidence = min(0.9, 0.5 + 0.08 * media_score)
        if minor and not repeat:
            level, because, confidence = 0, minor, 0.6
    else:
        level, because = 0, []
        confidence = 0.7 if tipo is not TipoIncidencia.RECLAMO else 0.5
    if repeat and tipo is TipoIncidencia.RECLAMO and level < 2:
        level += 1  # the same unresolved problem again: one level up
        because = repeat + because
        confidence = 0.75
    return _LEVELS[level], confidence, _reasons(because)


def suggest_rules(text: str, subject: str | None = None) -> Suggestion:
    """The rules' suggestion for one message (pure, well under a millisecond)."""
    return suggest_normalised(normalise(message_text(subject, text)))


def suggest_normalised(norm: Normalised) -> Suggestion:
    found = hits(norm)
    tipo, tipo_conf, tipo_reasons = decide_tipo(found)
    prioridad, prio_conf, prio_reasons = decide_prioridad(found, tipo)
    return Suggestion(tipo, round(tipo_conf, 3), tipo_reasons, prioridad, round(prio_conf, 3),
                      prio_reasons)


def is_english(text: str) -> bool:
    """Several English function words: the reasons say the message is in English."""
    norm = normalise(text)
    english = next(s for s in SIGNALS if s.kind == "english")
    return len(english.pattern.findall(norm.text)) >= 3
