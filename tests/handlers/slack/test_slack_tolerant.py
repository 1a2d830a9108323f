"""Slack: a malformed payload is the sender's fault (one warning, acknowledged); a bug in
the core is not swallowed as "malformed" (logged with its traceback, "error interno" told
privately to whoever clicked)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from handlers.slack.app import INTERNAL_ERROR
from handlers.slack.modals import note_view
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SlackRig, rig, submission

__all__ = ["rig"]


async def _ticket(rig: SlackRig) -> int:
    got = await rig.services.intake.receive(IncomingMessage(
        Canal.EMAIL, "Me cobraron dos veces", "<tol-1@example.cl>", email="ana@example.cl"))
    await rig.front.drain()
    assert got.ticket is not None
    return got.ticket.number


def _ephemerals(rig: SlackRig, user: str) -> list[dict[str, Any]]:
    return [c.params for c in rig.fake.calls_to("chat.postEphemeral")
            if c.params["user"] == user]


async def test_a_malformed_value_is_one_warning_and_an_ack(
        rig: SlackRig, team: Team, caplog: pytest.LogCaptureFixture) -> None:
    number = await _ticket(rig)
    before = (await rig.services.queries.get(number)).version
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        response = await rig.click("UDIEGO", number, "atiende_tipo",
                                   selected_option={"value": "Inventado"})
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name.startswith("handlers.slack")]
    assert len(records) == 1, [r.getMessage() for r in records]
    warning = records[0]
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    assert "malformed tipo" in warning.getMessage() and "Inventado" in warning.getMessage()
    assert "\n" not in warning.getMessage()
    assert (await rig.services.queries.get(number)).version == before
    assert not any(INTERNAL_ERROR in e.get("text", "") for e in _ephemerals(rig, "UDIEGO"))


async def test_a_bug_in_the_core_is_logged_with_its_traceback_and_told(
        rig: SlackRig, team: Team, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    number = await _ticket(rig)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")

    # the kind of error the old wrapper took for a malformed request and swallowed
    monkeypatch.setattr(rig.services.tickets, "classify", broken)
    caplog.clear()
    response = await rig.click("UDIEGO", number, "atiende_tipo",
                               selected_option={"value": "Reclamo"})
    assert response.status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == "slack listener tipo failed"
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is TypeError
    assert not any("malformed" in r.getMessage() for r in caplog.records)
    told = _ephemerals(rig, "UDIEGO")[-1]
    assert told["text"] == INTERNAL_ERROR and told["channel"] == CHANNEL


async def test_a_forged_modal_is_refused_in_words_not_as_a_bug(
        rig: SlackRig, team: Team, caplog: pytest.LogCaptureFixture) -> None:
    number = await _ticket(rig)
    view = note_view(number, CHANNEL)
    view.update(id="V1", private_metadata='{"n": "doce", "c": "C0SOPORTE"}')
    caplog.clear()
    response = await rig.interact(submission("UDIEGO", view, {"nota": "revisado"}))
    assert response.status_code == 200
    assert _ephemerals(rig, "UDIEGO")[-1]["text"] == "No entendí el formulario; vuelva a intentarlo."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [i for i in await rig.services.queries.history(number) if i.body == "revisado"] == []
