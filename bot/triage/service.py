"""The quick analysis on intake: suggest, store, learn from what people decide.

``TicketService.open`` calls ``on_open`` inside its transaction, so the card drawn for
the new ticket already shows the suggestion; ``TicketService.classify`` calls
``on_classify``, so every acceptance or correction by a person is kept as a labelled
example (``TriageExample``). ``run`` retrains the learner in the background from those
examples; a model replaces the rules for a field only while it beats them on held-back
examples (``learner.choose``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tortoise.expressions import Q

from bot.process.clock import Clock
from bot.process.domain import Estado, InteractionKind, Prioridad, TipoIncidencia
from bot.process.settings import Settings
from bot.process.views import Actor
from bot.storage.updates import update_where
from bot.triage.learner import MODEL, LinearModel, Verdict, choose
from bot.triage.normalise import Normalised, normalise
from bot.triage.rules import Suggestion, message_text, suggest_normalised
from db.models import Interaction, Ticket, TriageExample

log = logging.getLogger(__name__)

AUTO_AUTHOR = "Clasificación automática"
MAX_EXAMPLES = 3000  # the most recent decisions are the ones that teach
_TIPOS = tuple(t.value for t in TipoIncidencia)
_PRIOS = tuple(p.value for p in Prioridad)
_SUGGESTION_FIELDS = ("suggested_tipo", "suggested_prioridad", "suggested_tipo_confidence",
                      "suggested_prioridad_confidence", "suggestion_reasons")


@dataclass(frozen=True)
class Applied:
    """A field the suggestion decided on a new ticket (auto-apply)."""

    attr: str  # "tipo" / "prioridad"
    label: str  # as the history names it
    value: str
    confidence: float
    source: str


class TriageService:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._models: dict[str, LinearModel] = {}
        self.verdicts: tuple[Verdict, ...] = ()
        self._pending = 0  # examples kept since the last training
        self._wake = asyncio.Event()
        self.trained = asyncio.Event()  # set after each training (for whoever waits on it)

    # --- suggesting ---------------------------------------------------------------------
    def suggest(self, text: str, subject: str | None = None) -> Suggestion:
        """Rules, with each field replaced by the learner where it proved better."""
        norm = normalise(message_text(subject, text))
        return self.suggest_normalised(norm)

    def suggest_normalised(self, norm: Normalised) -> Suggestion:
        s = suggest_normalised(norm)
        tipo_model, prio_model = self._models.get("tipo"), self._models.get("prioridad")
        if tipo_model is not None:
            label, p, why = tipo_model.predict(norm)
            s = replace(s, tipo=TipoIncidencia(label), tipo_confidence=round(p, 3),
                        tipo_reasons=why, source=MODEL)
        if prio_model is not None:
            label, p, why = prio_model.predict(norm)
            s = replace(s, prioridad=Prioridad(label), prioridad_confidence=round(p, 3),
                        prioridad_reasons=why, source=MODEL)
        return s

    @property
    def using_model(self) -> tuple[str, ...]:
        return tuple(sorted(self._models))

    # --- hooks called by TicketService (inside its transaction) --------------------------
    async def on_open(self, ticket: Ticket) -> None:
        """Store the suggestion on a new ticket already written (see ``suggest_into``)."""
        applied = self.suggest_into(ticket)
        await ticket.save(update_fields=[*_SUGGESTION_FIELDS, *(a.attr for a in applied)])
        await self.record_applied(ticket, applied)

    def suggest_into(self, ticket: Ticket) -> list[Applied]:
        """The suggestion on a new ticket's fields, before it is written (so its insert
        carries it); with auto-apply on and a sure enough suggestion, its Tipo/Prioridad
        too. Returns what was applied: ``record_applied`` writes it in the history once the
        customer's message is there (the history says it was automatic)."""
        if ticket.tipo is not None and ticket.prioridad is not None:
            return []  # the person who opened it already decided
        s = self.suggest(ticket.description, ticket.subject)
        ticket.suggested_tipo, ticket.suggested_prioridad = s.tipo, s.prioridad
        ticket.suggested_tipo_confidence = s.tipo_confidence
        ticket.suggested_prioridad_confidence = s.prioridad_confidence
        ticket.suggestion_reasons = {"tipo": list(s.tipo_reasons),
                                     "prioridad": list(s.prioridad_reasons), "source": s.source}
        if not self._settings.triage_auto_apply:
            return []
        threshold = self._settings.triage_auto_apply_confidence
        applied: list[Applied] = []
        for attr, label, value, confidence in (
                ("tipo", "Tipo_Incidencia", s.tipo, s.tipo_confidence),
                ("prioridad", "Prioridad", s.prioridad, s.prioridad_confidence)):
            if getattr(ticket, attr) is not None or confidence < threshold:
                continue
            setattr(ticket, attr, value)
            applied.append(Applied(attr, label, value.value, confidence, s.source))
        return applied

    async def record_applied(self, ticket: Ticket, applied: Sequence[Applied]) -> None:
        """One history row per field the suggestion decided (``suggest_into``)."""
        for a in applied:
            await Interaction.create(
                ticket=ticket, kind=InteractionKind.EVENT, channel=ticket.channel,
                author_name=AUTO_AUTHOR, field=a.label, old_value="—", new_value=a.value,
                automatic=True, created_at=self._clock.now(),
                meta={"automatic": True, "confidence": a.confidence, "source": a.source})
        if applied:
            log.info("ticket classified automatically ticket=#%s %s", ticket.id,
                     [a.attr for a in applied])

    async def on_classify(self, ticket: Ticket, actor: Actor) -> None:
        """A person classified the ticket: keep (or update) it as a labelled example."""
        if actor.member is None:
            return  # only people teach; automatic classifications do not
        now = self._clock.now()
        accepted = (ticket.suggested_tipo is not None and ticket.tipo == ticket.suggested_tipo
                    and ticket.prioridad == ticket.suggested_prioridad)
        source = str((ticket.suggestion_reasons or {}).get("source", ""))
        values: dict[str, Any] = {"channel": ticket.channel, "subject": ticket.subject[:300],
                  "text": ticket.description, "tipo": ticket.tipo,
                  "prioridad": ticket.prioridad, "suggested_tipo": ticket.suggested_tipo,
                  "suggested_prioridad": ticket.suggested_prioridad, "accepted": accepted,
                  "source": source, "member_id": actor.member.id, "updated_at": now}
        # inside the tap's unit of work: SQL built once (bot/storage/updates.py)
        updated = await update_where(TriageExample, {"ticket_id": ticket.id}, values)
        if not updated:
            await TriageExample.create(ticket_id=ticket.id, created_at=now, **values)
        self._pending += 1
        if self._pending >= self._settings.triage_retrain_every:
            self._wake.set()

    async def backfill(self, limit: int = 1000) -> int:
        """Open, unclassified tickets that never got a suggestion (opened before this
        feature existed): suggest now, so an upgraded desk's cards show one too. Never
        classifies them (auto-apply is for new tickets only)."""
        rows = await (Ticket.filter(estado__in=[e for e in Estado if e.is_open],
                                    suggested_tipo__isnull=True)
                      .filter(Q(tipo__isnull=True) | Q(prioridad__isnull=True))
                      .order_by("id").limit(limit))
        for row in rows:
            s = self.suggest(row.description, row.subject)
            await Ticket.filter(id=row.id, suggested_tipo__isnull=True).update(
                suggested_tipo=s.tipo, suggested_prioridad=s.prioridad,
                suggested_tipo_confidence=s.tipo_confidence,
                suggested_prioridad_confidence=s.prioridad_confidence,
                suggestion_reasons={"tipo": list(s.tipo_reasons),
                                    "prioridad": list(s.prioridad_reasons),
                                    "source": s.source})
        if rows:
            log.info("triage suggestions added to %s older tickets", len(rows))
        return len(rows)

    # --- learning ------------------------------------------------------------------------
    async def examples(self) -> list[tuple[Normalised, str | None, str | None]]:
        rows = await TriageExample.all().order_by("-id").limit(MAX_EXAMPLES)
        return [(normalise(message_text(r.subject, r.text)),
                 r.tipo.value if r.tipo else None,
                 r.prioridad.value if r.prioridad else None) for r in reversed(rows)]

    async def retrain(self) -> tuple[Verdict, ...]:
        """Train on the kept examples (in a thread: it is CPU work) and keep, per field,
        the model only where it beats the rules on held-back examples."""
        data = await self.examples()
        self._pending = 0
        verdicts = await asyncio.to_thread(fit, data)
        self._models = {v.field: v.model for v in verdicts if v.use_model and v.model}
        self.verdicts = verdicts
        self.trained.set()
        log.info("triage retrained examples=%s %s", len(data),
                 "; ".join(v.describe() for v in verdicts))
        return verdicts

    async def run(self, stop: asyncio.Event) -> None:
        """Suggest for older tickets and retrain at start, then after ``triage_retrain_every`` new examples or every
        ``triage_retrain_minutes`` if any arrived; until ``stop``."""
        period = self._settings.triage_retrain_minutes * 60
        first = True
        while not stop.is_set():
            if first or self._pending:
                try:
                    if first:
                        await self.backfill()
                    await self.retrain()
                except Exception:  # a failed training keeps the current suggestions
                    log.exception("triage retraining failed")
            first = False
            self._wake.clear()
            stopping = asyncio.create_task(stop.wait())
            woken = asyncio.create_task(self._wake.wait())
            await asyncio.wait({stopping, woken}, timeout=period,
                               return_when=asyncio.FIRST_COMPLETED)
            for task in (stopping, woken):
                task.cancel()


def fit(data: Sequence[tuple[Normalised, str | None, str | None]]) -> tuple[Verdict, ...]:
    """Both fields' verdicts from ``(text, tipo, prioridad)`` examples, oldest first."""
    rules = {id(norm): suggest_normalised(norm) for norm, _, _ in data}
    tipo = [(norm, t) for norm, t, _ in data if t]
    prio = [(norm, p) for norm, _, p in data if p]
    return (
        choose("tipo", tipo, lambda n: rules[id(n)].tipo.value, _TIPOS),
        choose("prioridad", prio, lambda n: rules[id(n)].prioridad.value, _PRIOS,
               must_keep=Prioridad.ALTA.value),
    )
