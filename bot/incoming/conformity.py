"""Unanswered conformity requests: remind the customer, then close without an answer.

After ``conformity_reminder_business_days`` the customer gets the polite reminder
(once); after ``conformity_tacit_business_days`` the ticket becomes Resuelto, recorded
as *cerrado sin respuesta del cliente* (``ConformityKind.NO_ANSWER``): silence is not
acceptance (Ley 19.496, art. 3 a), so reports keep it apart from the customer's expressed
conformity. The closing message goes out with the change ("si necesita retomarlo, basta
con responder a este mensaje"). Zero turns either off. Idempotent: safe to run often and
from more than one process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.calendar import sla
from bot.incoming.conformity_answer import ConformityAnswer, classify_conformity_answer
from bot.process.clock import Clock
from bot.process.domain import Canal, ConformityKind, Estado
from bot.process.errors import DomainError
from bot.process.settings import Settings
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.tickets.service import TicketService
from db.models import Ticket

if TYPE_CHECKING:  # the intake calls apply_answer: no import cycle at run time
    from bot.incoming.intake import IntakeResult

log = logging.getLogger(__name__)


class ConformitySweeper:
    def __init__(self, settings: Settings, clock: Clock, tickets: TicketService) -> None:
        self._settings = settings
        self._clock = clock
        self._tickets = tickets

    async def sweep(self) -> list[tuple[int, str]]:
        """Do what is due now; returns ``(ticket, "recordatorio"|"sin respuesta")`` pairs."""
        done: list[tuple[int, str]] = []
        now = self._clock.now()
        pending = await Ticket.filter(estado=Estado.PENDING_CONFORMITY,
                                      conformity_requested_at__isnull=False)
        actor = Actor.system()
        for ticket in pending:
            asked = ticket.conformity_requested_at
            assert asked is not None
            close_days = self._settings.conformity_tacit_business_days
            remind_days = self._settings.conformity_reminder_business_days
            try:
                if close_days and now >= sla.add_business_days(asked, close_days, self._settings):
                    await self._tickets.confirm(actor, ticket.id,
                                                kind=ConformityKind.NO_ANSWER)
                    done.append((ticket.id, ConformityKind.NO_ANSWER.value))
                elif (remind_days and ticket.conformity_reminded_at is None
                      and now >= sla.add_business_days(asked, remind_days, self._settings)):
                    await self._remind(ticket.id)
                    done.append((ticket.id, "recordatorio"))
            except DomainError as exc:  # changed meanwhile by someone else
                log.info("conformity sweep skipped ticket=#%s: %s", ticket.id, exc)
        return done

    async def _remind(self, number: int) -> None:
        # Claim first, so two sweepers never both send the reminder.
        claimed = await Ticket.filter(id=number, conformity_reminded_at__isnull=True).update(
            conformity_reminded_at=self._clock.now())
        if not claimed:
            return
        await self._tickets.reply(Actor.system(), number,
                                  template=TemplateName.CUSTOMER_REMINDER, automatic=True)
        log.info("conformity reminder sent ticket=#%s", number)


async def apply_answer(tickets: TicketService, result: IntakeResult, text: str, channel: Canal,
                       author: str = "") -> ConformityAnswer | None:
    """A customer's plain yes/no to the conformity request, from any channel.

    Clearly yes records the confirmation; clearly no sends the ticket back to En
    proceso; anything else just lands (the team has one-tap buttons). A message older
    than the request (a re-delivery) cannot answer it.
    """
    ticket, interaction = result.ticket, result.interaction
    if ticket is None or interaction is None or ticket.estado is not Estado.PENDING_CONFORMITY:
        return None
    asked = ticket.conformity_requested_at
    if asked is not None and interaction.created_at < asked:
        return None
    answer = classify_conformity_answer(text)
    actor = Actor.system(author or channel.label)
    try:
        if answer is ConformityAnswer.YES:
            await tickets.confirm(actor, ticket.number)
        elif answer is ConformityAnswer.NO:
            await tickets.reject(actor, ticket.number,
                                 reason=f"el cliente respondió por {channel.label} que sigue "
                                        "pendiente")
        else:
            return None
    except DomainError as exc:  # changed meanwhile by someone else
        log.warning("conformity answer not applied ticket=#%s: %s", ticket.number, exc)
        return None
    log.info("conformity answer ticket=#%s channel=%s answer=%s", ticket.number, channel.value,
             answer.value)
    return answer
