"""How many SQL statements a triage tap costs, from the press to the card edited.

Counted with ``tests/statements.py`` (data statements; BEGIN/COMMIT apart): the access
guard's look-up of who is asking, the ticket locked with its customer and assignee, the
history row, the labelled example (an UPDATE, plus its INSERT the first time a person
classifies the ticket), the ticket's save, and the card worker's one read of where the
ticket's cards are together with the customer's latest words. The member who tapped is
the one the guard found (no second look-up), and the edit's answer is not read back. A
count is a property of the code, so it is a test; what a tap costs in time is in
``bench/chat_latency.py``.
"""

from __future__ import annotations

from bot.process.domain import Prioridad, TipoIncidencia
from db.models import Ticket, TriageExample
from handlers.telegram import callbacks as cb
from tests.handlers.telegram.harness import Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.statements import count_statements

TAP = 6
FIRST_EXAMPLE = 1  # the ticket's first classification by a person also INSERTs its example


async def test_a_triage_tap_costs_six_statements_to_the_card_edited(desk: Desk) -> None:
    number = await desk.customer_writes("No puedo entrar al panel del hosting.")
    await desk.customer_writes("Sigo sin poder entrar, ¿me ayudan?", ticket=number)
    card = await desk.card(number)

    with count_statements() as first:
        await desk.tap(card["message_id"], "Reclamo")
    card = await desk.card(number)
    with count_statements() as second:
        await desk.tap(card["message_id"], "Alta")

    card = await desk.card(number)  # the work was done: the card shows it, as it is now
    ticket = await Ticket.get(id=number)
    assert desk.button(card["message_id"], "✓ Reclamo")
    assert desk.button(card["message_id"], "✓ Alta")
    assert desk.button(card["message_id"], "Historial") == cb.encode(cb.HISTORY, number,
                                                                     ticket.version)
    assert "Sigo sin poder entrar" in card["text"]  # the customer's latest words
    assert desk.failed_calls() == []
    example = await TriageExample.get(ticket_id=number)  # the labelled example, updated
    assert (example.tipo, example.prioridad) == (TipoIncidencia.RECLAMO, Prioridad.ALTA)
    assert example.member_id == desk.team.carla.id  # type: ignore[attr-defined]
    assert example.updated_at >= example.created_at
    assert first.count == TAP + FIRST_EXAMPLE, str(first)
    assert second.count == TAP, str(second)
