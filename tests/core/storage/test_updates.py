"""``update_where`` writes what Tortoise's own ``filter().update()`` writes (dates,
Estado, JSON, NULL, a relation's id), only where every condition holds, on both
databases; anything but a plain column is refused before any SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.process.clock import ManualClock
from bot.process.domain import Canal, Estado
from bot.services import Services
from bot.storage.updates import update_where
from db.models import Ticket
from tests.conftest import Team


async def test_it_writes_like_the_queryset_and_only_where_it_matches(
        services: Services, team: Team, clock: ManualClock) -> None:
    ana = await services.customers.find_or_create(phone="+56955555555")
    view = await services.tickets.open(team.admin, customer_id=ana.id, channel=Canal.WHATSAPP,
                                       description="Sin señal")
    row = await Ticket.get(id=view.number)
    later = clock.now() + timedelta(hours=3)
    values = {"estado": Estado.IN_PROGRESS, "updated_at": later, "first_response_at": None,
              "suggestion_reasons": {"palabras": ["señal"]}, "assignee_id": team.diego.id,
              "version": row.version + 1}
    assert await update_where(Ticket, {"id": row.id, "version": row.version + 7}, values) == 0
    assert await update_where(Ticket, {"id": row.id, "version": row.version}, values) == 1
    after = await Ticket.get(id=row.id)
    assert after.estado == Estado.IN_PROGRESS and after.updated_at == later
    assert after.first_response_at is None and after.version == row.version + 1
    assert after.suggestion_reasons == {"palabras": ["señal"]}
    assert after.assignee_id == team.diego.id
    assert after.description == "Sin señal"  # what was not named stays


async def test_anything_but_a_plain_column_is_refused(services: Services) -> None:
    with pytest.raises(ValueError, match="plain columns"):
        await update_where(Ticket, {"id": 1}, {"customer": None})
    with pytest.raises(ValueError, match="plain columns"):
        await update_where(Ticket, {}, {"estado": Estado.NEW})
