"""Read side: tickets, listings, search and history, as plain views."""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from bot.process.clock import Clock
from bot.process.domain import Estado, InteractionKind
from bot.process.errors import TicketNotFound
from bot.process.views import InteractionView, Page, TicketView
from bot.storage.prepared import PreparedSelect
from bot.storage.presenters import TICKET_RELATED, interaction_view, ticket_view
from db.models import Attachment, Interaction, Ticket

OPEN_ESTADOS = [e for e in Estado if e.is_open]

# A ticket with its customer and assignee: what a card, a reply and a mail's thread read
# by number. Its SQL is built once (Tortoise builds the join anew each time: ~1 ms of CPU).
BY_NUMBER = PreparedSelect(Ticket, lambda number: Ticket.filter(id=number).select_related(
    *TICKET_RELATED).limit(1), [987_654_321])


@dataclass(frozen=True)
class TicketFilter:
    """What ``/tickets`` may ask for: an Estado, mine, overdue, a customer."""

    estado: Estado | None = None
    assignee_id: int | None = None
    overdue: bool = False
    customer_id: int | None = None
    include_closed: bool = False


class TicketQueries:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def get(self, number: int) -> TicketView:
        ticket = await BY_NUMBER.first(number)
        if ticket is None:
            raise TicketNotFound(number)
        return ticket_view(ticket)

    async def history(self, number: int, limit: int | None = None) -> builtins.list[InteractionView]:
        """The ticket's interactions, oldest first (the last ``limit`` when given)."""
        if not await Ticket.exists(id=number):
            raise TicketNotFound(number)
        query = Interaction.filter(ticket_id=number)
        if limit:
            rows = list(reversed(await query.order_by("-id").limit(limit)))
        else:
            rows = await query.order_by("id")
        files: dict[int, list[Attachment]] = {}
        for a in await Attachment.filter(interaction_id__in=[r.id for r in rows]):
            files.setdefault(a.interaction_id, []).append(a)
        return [interaction_view(r, files.get(r.id)) for r in rows]

    def _filtered(self, f: TicketFilter, now: datetime) -> QuerySet[Ticket]:
        query = Ticket.all()
        if f.estado is not None:
            query = query.filter(estado=f.estado)
        elif not f.include_closed:
            query = query.filter(estado__in=OPEN_ESTADOS)
        if f.assignee_id is not None:
            query = query.filter(assignee_id=f.assignee_id)
        if f.customer_id is not None:
            query = query.filter(customer_id=f.customer_id)
        if f.overdue:
            query = query.filter(
                Q(first_response_at__isnull=True, first_response_due__lt=now)
                | Q(resolution_clock_since__isnull=False, resolution_due__lt=now)
            ).filter(estado__in=OPEN_ESTADOS)
        return query

    async def list(self, f: TicketFilter = TicketFilter(), page: int = 1,
                   per_page: int = 5) -> Page:
        """Tickets newest first, one page at a time."""
        query = self._filtered(f, self._clock.now())
        total = await query.count()
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        rows = await (query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
                      .select_related(*TICKET_RELATED))
        return Page(tuple(ticket_view(t) for t in rows), page, pages, total)

    async def search(self, text: str, limit: int = 10) -> builtins.list[TicketView]:
        """Tickets whose subject, description, messages or customer match ``text``."""
        text = text.strip()
        if not text:
            return []
        if text.lstrip("#").isdigit():
            found = await Ticket.get_or_none(id=int(text.lstrip("#"))).select_related(
                *TICKET_RELATED)
            return [ticket_view(found)] if found else []
        in_history = (Interaction.filter(body__icontains=text).limit(200)
                      .values_list("ticket_id", flat=True))
        ids = set(await in_history)
        query = Ticket.filter(
            Q(subject__icontains=text) | Q(description__icontains=text)
            | Q(customer__name__icontains=text) | Q(customer__email__icontains=text)
            | Q(id__in=list(ids))
        )
        rows = await query.order_by("-id").limit(limit).select_related(*TICKET_RELATED)
        return [ticket_view(t) for t in rows]

    async def for_customer(self, customer_id: int, limit: int = 20) -> builtins.list[TicketView]:
        rows = await (Ticket.filter(customer_id=customer_id).order_by("-id").limit(limit)
                      .select_related(*TICKET_RELATED))
        return [ticket_view(t) for t in rows]

    async def all(self) -> builtins.list[TicketView]:
        """Every ticket, oldest first (exports)."""
        rows = await Ticket.all().order_by("id").select_related(*TICKET_RELATED)
        return [ticket_view(t) for t in rows]

    async def last_customer_message(self, number: int) -> InteractionView | None:
        """The customer's latest words on the ticket (what a card quotes): one query."""
        row = await (Interaction.filter(ticket_id=number, kind=InteractionKind.INBOUND,
                                        automatic=False).exclude(body="")
                     .order_by("-id").first())
        return interaction_view(row) if row else None

    async def interaction(self, interaction_id: int) -> InteractionView:
        row = await Interaction.get(id=interaction_id)
        return interaction_view(row, await Attachment.filter(interaction_id=row.id))
