"""``atiende inbox list|show|retry`` over a real database file."""

from __future__ import annotations

import argparse

import pytest

from bot.app.commands.inbox import _inbox, register
from bot.incoming.inbox_items import PermanentInboxError
from bot.process.domain import Canal
from bot.services import Services


async def test_list_show_retry(services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    async def poison(entry):  # type: ignore[no-untyped-def]
        raise PermanentInboxError("sin remitente")

    services.inbox.register("t", poison)
    item = await services.inbox.accept(Canal.EMAIL, "t", "t:1", raw=b"From: ?\r\n\r\nhola",
                                       summary="? · hola")
    await services.inbox.drain()
    parser = argparse.ArgumentParser()
    commands = register(parser.add_subparsers(dest="command"))
    assert set(commands) == {"inbox"}
    assert await _inbox(parser.parse_args(["inbox", "list"]), services) == 0
    listed = capsys.readouterr().out
    assert f"{item.id}\ten cuarentena\temail" in listed and "sin remitente" in listed
    assert await _inbox(parser.parse_args(["inbox", "show", str(item.id)]), services) == 0
    shown = capsys.readouterr().out
    assert "original: 15 bytes" in shown and "error: sin remitente" in shown
    assert await _inbox(parser.parse_args(["inbox", "retry", str(item.id)]), services) == 0
    assert (await services.inbox.get(item.id)).status == "pendiente"  # type: ignore[union-attr]
    assert await _inbox(parser.parse_args(["inbox", "show", "999"]), services) == 1
