"""Logs: one line per event, JSON lines by setting, never a customer's message at INFO."""

from __future__ import annotations

import io
import json
import logging

from bot.app import logs
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.services import Services
from tests.conftest import Team

SECRET = "mi número de tarjeta es 4111 1111 1111 1111"


async def test_json_lines_and_no_customer_text(services: Services, team: Team) -> None:
    logs.configure("INFO", "json")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        result = await services.intake.receive(IncomingMessage(
            channel=Canal.WHATSAPP, body=SECRET, external_id="wamid.log", phone="56912345678",
            join_open=True))
        await services.tickets.note(team.admin, result.ticket.number, SECRET)  # type: ignore[union-attr]
    finally:
        logging.getLogger().handlers.clear()
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any("ticket opened ticket=#1" in r["message"] for r in records)
    assert any("note added ticket=#1 by=Carla" in r["message"] for r in records)
    assert all(SECRET not in r["message"] for r in records)
    assert {"time", "level", "logger", "message"} <= set(records[0])
