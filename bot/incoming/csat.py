"""Satisfaction (CSAT): once a ticket is Resuelto, ask the customer once to rate it 1-5.

Asking. On the event that makes a ticket Resuelto (never Descartado), the ticket is
claimed by setting ``csat_requested_at`` where it is still NULL, so it is asked at most
once, whatever reopens and closes it later or however many processes run. The request
goes through the outbox on the ticket's channel: WhatsApp inside the 24-hour window as
a list (1 to 5), outside it as the approved template ``encuesta_satisfaccion`` (quick
replies; skipped, not asked, when none is configured); email as a one-line request,
answered by replying with a number.

Answering. ``take_answer`` is the one call intake makes: a message from the ticket's
own customer on a Resuelto ticket that was asked, which is a rating (a list tap, or a
first meaningful line that starts with 1-5, read like the conformity answer), is
recorded on the ticket without reopening it. The first rating is kept; a second one is
recorded as a message and changes nothing. Anything that is not a rating goes the usual
way (it reopens the ticket, as before). A rating of 1 or 2 alerts the administrator at
once through the notifiers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, cast

from tortoise.transactions import in_transaction

from bot.incoming.conformity_answer import first_meaningful_line
from bot.outgoing.outbox import queue
from bot.process.domain import Canal, DeliveryStatus, Estado, InteractionKind
from bot.process.events import EventKind, TicketEvent
from bot.process.notify import Audience, Digest
from bot.process.views import Actor
from db.models import Interaction, Ticket

if TYPE_CHECKING:
    from bot.incoming.intake import IncomingMessage, IntakeResult, IntakeService
    from bot.outgoing.outbox import OutboxWorker
    from bot.people.team import TeamService
    from bot.process.clock import Clock
    from bot.process.events import EventBus
    from bot.process.notify import Notifier
    from bot.process.settings import Settings
    from bot.tickets.queries import TicketQueries
    from bot.tickets.replies import Replies


class CsatNeeds(Protocol):
    """What asking and alerting take from the assembled services (``bot.services``
    sits above this layer, so it is named by what it offers, not imported)."""

    settings: Settings
    clock: Clock
    replies: Replies
    outbox: OutboxWorker
    queries: TicketQueries
    bus: EventBus
    team: TeamService
    notifiers: list[Notifier]

log = logging.getLogger(__name__)

TEMPLATE = "encuesta_satisfaccion"  # key in ATIENDE_WHATSAPP_TEMPLATES outside the window
KIND = "csat_request"  # the outbox payload kind the WhatsApp sender draws as a list
ANSWER_WINDOW = timedelta(days=14)  # a "5" a month later is not an answer to this
MISSED_WINDOW = timedelta(hours=24)  # ask_missed looks back this far
LOW = 2  # 1 or 2 alerts the administrator
MAX_COMMENT = 500
LABELS = {5: "Muy buena", 4: "Buena", 3: "Regular", 2: "Mala", 1: "Muy mala"}
_PREFIX = "csat"
_WORDS = {"uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5}
# "5", "4/5", "3 de 5", "5 estrellas", "4 - muy atentos", "[Botón] 5", "cinco".
_RATING = re.compile(
    r"^(?:\[[^\]]{1,12}\]\s*)?(?P<n>[1-5]|uno|dos|tres|cuatro|cinco)(?![\d.,]\d)"
    r"(?:\s*(?:/\s*5|de\s+5|estrellas?|⭐+))?(?P<rest>.*)$", re.IGNORECASE)
_SEPARATED = re.compile(r"^\s*(?:[-–—:.,;!)·]+\s*|$)(?P<comment>.*)$")
# "2 veces que escribo", "5 de diciembre": a count or a date, not a rating.
_UNITS = re.compile(r"^\s+(veces|vez|dias|días|horas|semanas|meses|años|minutos|"
                    r"productos|cargos|cobros|correos|mensajes|facturas|boletas|"
                    r"de|del|al|a|en|por|para|pesos|lucas|mil|millones)\b", re.I)


# --- pure parsing (the WhatsApp reply id, a written answer) -------------------------------
def reply_id(ticket: int, rating: int) -> str:
    return f"{_PREFIX}:{ticket}:{rating}"


def whatsapp_rating(button_id: str | None) -> tuple[int, int] | None:
    """``csat:12:4`` (a list row or button we drew) -> (ticket 12, rating 4); else None."""
    parts = (button_id or "").split(":")
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    if parts[2] not in ("1", "2", "3", "4", "5"):
        return None
    return int(parts[1]), int(parts[2])


def parse_rating(text: str) -> tuple[int, str] | None:
    """``(rating, comment)`` when the first meaningful line is a 1-5 rating; else None."""
    line = first_meaningful_line(text).strip().lstrip("¡¿*_ ")
    match = _RATING.match(line)
    if match is None:
        return None
    raw, rest = match.group("n").lower(), match.group("rest")
    if _UNITS.match(rest):
        return None
    separated = _SEPARATED.match(rest)
    if separated is not None:
        comment = separated.group("comment")
    elif rest[:1].isspace() and not any(ch.isdigit() for ch in rest):
        comment = rest  # "5 muy amables"
    else:
        return None
    rating = _WORDS.get(raw) or int(raw)
    return rating, comment.strip()[:MAX_COMMENT]


def request_text(number: int) -> str:
    return (f"¿Cómo calificaría la atención de su ticket #{number}? Responda con un número "
            "del 1 (muy mala) al 5 (muy buena) y, si lo desea, un comentario.")


# --- asking -------------------------------------------------------------------------------
class CsatService:
    """Asks after closing and alerts on low ratings; ``build_csat`` wires it once."""

    def __init__(self, services: CsatNeeds) -> None:
        self._s = services

    async def on_event(self, event: TicketEvent) -> None:
        meta = event.interaction.meta if event.interaction is not None else {}
        if event.kind is EventKind.CUSTOMER_MESSAGE and meta.get("csat_new"):
            if int(str(meta.get("csat", 0))) <= LOW:
                await self._alert(event)
            return
        if (event.kind is EventKind.UPDATED and event.ticket.estado is Estado.RESOLVED
                and event.ticket.csat_requested_at is None):
            await self.ask(event.ticket.number)

    async def ask(self, number: int) -> bool:
        """Queue the request if this ticket was never asked; True when queued now."""
        s, replies = self._s.settings, self._s.replies
        if not s.csat_enabled:
            return False
        now = self._s.clock.now()
        async with in_transaction():
            ticket = await Ticket.get_or_none(id=number).select_related("customer")
            if ticket is None or ticket.csat_requested_at is not None or \
                    Estado(ticket.estado) is not Estado.RESOLVED:
                return False
            channel, recipient = replies.route(ticket)
            approved = None
            if channel is Canal.WHATSAPP and not replies.window_open(ticket):
                approved = s.whatsapp_templates.get(TEMPLATE)
                if approved is None:
                    log.info("csat not asked ticket=#%s: WhatsApp window closed and no "
                             "approved template %r", number, TEMPLATE)
                    return False
            claimed = await Ticket.filter(id=number, csat_requested_at__isnull=True).update(
                csat_requested_at=now)
            if not claimed:
                return False
            text = request_text(number)
            row = await Interaction.create(
                ticket=ticket, kind=InteractionKind.OUTBOUND, channel=channel,
                author_name=s.company_name, body=text, template=TEMPLATE, automatic=True,
                delivery_status=DeliveryStatus.PENDING, created_at=now,
                meta={"csat_request": True, "approved_template": approved})
            last_in = await (Interaction.filter(ticket_id=number, channel=channel,
                                                kind=InteractionKind.INBOUND,
                                                external_id__isnull=False)
                             .order_by("-id").first())
            await queue(row, channel, recipient, {
                "customer_name": ticket.customer.name, "kind": KIND, "text": text,
                "html": "", "whatsapp": text, "template": TEMPLATE,
                "subject": f"[#{number}] ¿Cómo lo atendimos?",
                "whatsapp_template": approved,
                "template_params": [ticket.customer.name or "cliente", str(number)],
                "in_reply_to": last_in.external_id if last_in else None,
                "extra": {"rows": [[reply_id(number, r), f"{r} · {LABELS[r]}"]
                                   for r in (5, 4, 3, 2, 1)]},
            }, now)
        self._s.outbox.wake()
        log.info("csat asked ticket=#%s channel=%s", number, channel.value)
        view = await self._s.queries.get(number)
        await self._s.bus.publish(TicketEvent(EventKind.OUTBOUND, view, Actor.system(),
                                              await self._s.queries.interaction(row.id)))
        return True

    async def ask_missed(self) -> int:
        """At start-up: tickets that became Resuelto while no process could ask (a crash
        between the commit and its event). Only recent ones: a survey days later is noise."""
        since = self._s.clock.now() - MISSED_WINDOW
        numbers = cast(list[int], await Ticket.filter(
            estado=Estado.RESOLVED, csat_requested_at__isnull=True,
            resolved_at__gte=since).values_list("id", flat=True))
        return sum([await self.ask(n) for n in numbers])

    async def _alert(self, event: TicketEvent) -> None:
        t, meta = event.ticket, event.interaction.meta if event.interaction else {}
        admin = await self._s.team.admin()
        if admin is None:
            return
        comment = str(meta.get("csat_comment") or "")
        digest = Digest(Audience.ADMIN, admin,
                        f"Calificación baja · #{t.number}: {meta.get('csat')} de 5",
                        summary=f"{t.customer.display} · {t.subject}"
                                + (f"\n«{comment}»" if comment else ""))
        notifier = next((n for n in self._s.notifiers if n.can_reach(digest)), None)
        if notifier is None:
            log.warning("low csat ticket=#%s: no notifier reaches the administrator", t.number)
            return
        try:
            await notifier.deliver(digest)
        except Exception:
            log.exception("low csat alert failed ticket=#%s", t.number)


def build_csat(services: CsatNeeds) -> CsatService:
    """The CSAT service, subscribed to ticket events (call once per process)."""
    service = CsatService(services)
    services.bus.subscribe_local(service.on_event)
    return service


# --- answering (the one call intake makes) ----------------------------------------------
async def take_answer(intake: IntakeService, msg: IncomingMessage,
                      target: Ticket | None) -> IntakeResult | None:
    """Record a rating on the ticket it answers (no reopening); None: not a rating."""
    if msg.automatic:
        return None
    tapped = whatsapp_rating(str(msg.meta.get("button_id") or "")) \
        if msg.channel is Canal.WHATSAPP else None
    if tapped is not None and (target is None or target.id != tapped[0]):
        target = await Ticket.get_or_none(id=tapped[0]).select_related("customer")
    if target is None or target.csat_requested_at is None or \
            Estado(target.estado) is not Estado.RESOLVED:
        return None
    now = intake.clock.now()
    if now - target.csat_requested_at > ANSWER_WINDOW or not await intake.speaks_for(msg, target):
        return None
    if tapped is not None:
        parsed: tuple[int, str] | None = (tapped[1], "") if tapped[0] == target.id else None
    else:
        parsed = parse_rating(msg.body)
    if parsed is None:
        return None
    rating, comment = parsed
    new = bool(await Ticket.filter(id=target.id, csat_rating__isnull=True).update(
        csat_rating=rating, csat_comment=comment or None, csat_answered_at=now))
    log.info("csat answer ticket=#%s rating=%s%s", target.id, rating,
             "" if new else " (already rated: kept the first)")
    meta = {**msg.meta, "csat": rating, "csat_new": new, "csat_comment": comment}
    return await intake.append(replace(msg, meta=meta), target.id)


