"""How many SQL statements a customer's WhatsApp text costs, end to end.

Counted (``tests/statements.py``): every data statement from the webhook's POST to the
inbox worker having processed the message, with the wiring of ``atiende run`` (the
reminder planner and the satisfaction survey subscribed, the worker running in the
process): everything ``IntakeService.receive`` does with the text (customer, ticket,
message, the reminder plan, the events) and the inbox's row, inserted already processed
in the same commit. Not counted: transaction control
(BEGIN/COMMIT, listed apart), chat front ends redrawing cards (none is wired here) and
the outbox delivering an acknowledgement (off by default, as here). A count is a
property of the code, not a timing: it belongs in a test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from bot.app.frontend import wired
from bot.incoming.csat import build_csat
from bot.process.clock import ManualClock
from bot.process.domain import Estado, InteractionKind
from bot.process.settings import Settings
from bot.reminders import build_reminders
from bot.services import Services, build_services
from db.models import InboxItem, Interaction, Ticket
from handlers.web import build_web_server
from handlers.whatsapp import build_front_end
from tests.conftest import Team
from tests.handlers.whatsapp.harness import APP_SECRET, text_payload, wa_settings
from tests.servers.fake_graph import FakeGraph, sign_whatsapp
from tests.statements import Statements, count_statements

# What the intake does with the text (one read for the sender, their latest ticket and
# the administrator; the writes) and the inbox's row, stored processed with it: 5 to open
# a ticket for a new customer, 4 to join one.
OPENS_A_TICKET = 5
JOINS_A_TICKET = 4


@dataclass
class Desk:
    services: Services
    http: httpx.AsyncClient

    async def text(self, wamid: str, body: str, sender: str = "56912345678") -> Statements:
        """POST one signed text and wait for the running worker to process it."""
        raw = json.dumps(text_payload(wamid, body, sender=sender)).encode()
        with count_statements() as seen:
            response = await self.http.post(
                "/webhooks/whatsapp", content=raw,
                headers={"X-Hub-Signature-256": sign_whatsapp(APP_SECRET, raw)})
            assert response.status_code == 200
            await self.services.inbox.settle()
        return seen


@pytest_asyncio.fixture
async def desk(database: str, settings: Settings, clock: ManualClock, fake_graph: FakeGraph,
               team: Team) -> AsyncIterator[Desk]:
    services = build_services(wa_settings(settings, fake_graph), clock)
    build_reminders(services)  # as `atiende run`: the planner and the survey listen
    build_csat(services)
    front = wired(services, build_front_end(services))
    web = build_web_server(services, [front])
    assert web is not None
    stop = asyncio.Event()
    worker = asyncio.create_task(services.inbox.run(stop, idle_seconds=3600))
    await front.start()
    await web.start()
    try:
        async with httpx.AsyncClient(base_url=web.url, timeout=10) as http:
            await _until_running(services)
            yield Desk(services, http)
    finally:
        stop.set()
        await worker
        await web.stop()
        await front.stop()


async def _until_running(services: Services) -> None:
    await asyncio.sleep(0)  # one turn of the loop: the worker task's first step
    assert services.inbox.running
    await services.inbox.settle()


def _inbox_rows(seen: Statements) -> list[str]:
    return [sql.split(" (")[0] for sql in seen.sql
            if sql.startswith(('UPDATE "inbox"', 'INSERT INTO "inbox"', 'SELECT')) and
            '"inbox"' in sql.split(" WHERE")[0]]


async def test_a_text_that_opens_a_ticket_stays_within_its_statements(desk: Desk) -> None:
    seen = await desk.text("wamid.N1", "Hola, no me funciona el correo")
    ticket = await Ticket.get(id=1).select_related("customer", "assignee")
    assert ticket.customer.phone == "+56912345678" and ticket.assignee is not None
    assert ticket.next_reminder_at is not None  # planned in the same write
    assert ticket.suggested_tipo is not None  # the triage suggestion, same write
    item = await InboxItem.get(key="whatsapp:wamid.N1")
    assert (item.status, item.ticket_id_ref, item.attempts) == ("procesado", 1, 1)
    assert _inbox_rows(seen) == ['INSERT INTO "inbox"'], seen  # no claim, no mark
    assert seen.count <= OPENS_A_TICKET, f"{seen.count} statements:\n{seen}"


async def test_a_text_that_joins_its_ticket_stays_within_its_statements(desk: Desk) -> None:
    await desk.text("wamid.J1", "Hola, no me funciona el correo")
    before = await Ticket.get(id=1)
    seen = await desk.text("wamid.J2", "Sigue sin funcionar")
    after = await Ticket.get(id=1)
    rows = await Interaction.filter(ticket_id=1, kind=InteractionKind.INBOUND).order_by("id")
    assert [r.external_id for r in rows] == ["wamid.J1", "wamid.J2"]
    assert after.version == before.version + 1 and after.estado == Estado.NEW
    assert await Ticket.all().count() == 1
    assert _inbox_rows(seen) == ['INSERT INTO "inbox"'], seen
    assert seen.count <= JOINS_A_TICKET, f"{seen.count} statements:\n{seen}"


async def test_a_redelivered_text_is_recognised_without_a_second_row(desk: Desk) -> None:
    """The intake reads no duplicate first on the plain path: the database refuses it."""
    await desk.text("wamid.D1", "Hola, no me funciona el correo")
    item = await InboxItem.get(key="whatsapp:wamid.D1")
    await InboxItem.filter(id=item.id).update(status="pendiente")  # as after a crash
    assert await desk.services.inbox.process_item(item.id) == 1
    assert await Interaction.filter(external_id="wamid.D1").count() == 1
    assert (await InboxItem.get(id=item.id)).status == "procesado"
    assert await Ticket.all().count() == 1
