"""The application writes PTB's persistence after every update; a tap that leaves the
member's ``user_data`` as it was must not write it again (it is on the tap path), and a
change must still be written."""

from __future__ import annotations

from bot.process.clock import ManualClock
from bot.process.domain import TipoIncidencia
from db.models import KeyValue
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401

SPACE = "telegram.user_data"


async def test_a_tap_that_changes_no_user_data_writes_none(desk: Desk,
                                                           clock: ManualClock) -> None:
    number = await desk.customer_writes("No me llega la boleta de noviembre")
    await desk.text("/nuevo")  # the conversation keeps its answers in user_data
    row = await KeyValue.get(namespace=SPACE, key=str(CARLA))
    assert row.value == {"nuevo": {}}
    written = row.updated_at

    clock.advance(minutes=5)
    card = await desk.card(number)
    await desk.tap(card["message_id"], "Reclamo")

    assert (await desk.services.queries.get(number)).tipo is TipoIncidencia.RECLAMO
    assert "Reclamo" in desk.answers()[-1]
    row = await KeyValue.get(namespace=SPACE, key=str(CARLA))
    assert row.value == {"nuevo": {}} and row.updated_at == written  # not written again

    await desk.text("/cancelar")  # user_data changes: written (here: emptied, so deleted)
    assert await KeyValue.get_or_none(namespace=SPACE, key=str(CARLA)) is None
    await desk.text("/nuevo")
    row = await KeyValue.get(namespace=SPACE, key=str(CARLA))
    assert row.value == {"nuevo": {}} and row.updated_at > written
    assert not desk.failed_calls()
