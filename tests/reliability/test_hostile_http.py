"""Every endpoint of the shared web server, with every front end running, against bodies
built to hurt: JSON nested 200,000 deep, and more bytes than any real payload, declared
or streamed. Each is a 4xx in one log line with no traceback, nothing is stored, and the
next real message is handled."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from db.models import Interaction, Ticket
from handlers.telegram.app import SECRET_HEADER
from tests.handlers.whatsapp.harness import APP_SECRET, sign_whatsapp, text_payload
from tests.scenarios.desk import SLACK_SECRET, TG_PATH, TG_SECRET, Desk, desk_no_imap
from tests.servers import signed_headers
from tests.servers.http_raw import MB, deep_json, pieces, raw_post

__all__ = ["desk_no_imap"]

Headers = Callable[[bytes], dict[str, str]]


def _whatsapp(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Hub-Signature-256": sign_whatsapp(APP_SECRET, body)}


def _telegram(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", SECRET_HEADER: TG_SECRET}


def _slack(body: bytes) -> dict[str, str]:
    return signed_headers(SLACK_SECRET, body, content_type="application/json")


PATHS = {"whatsapp": "/webhooks/whatsapp", "telegram": TG_PATH, "slack": "/slack/events"}
ENDPOINTS: dict[str, Headers] = {"whatsapp": _whatsapp, "telegram": _telegram,
                                 "slack": _slack}


def _server_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.INFO
            and not r.name.startswith(("httpx", "httpcore"))]


async def _still_working(desk: Desk) -> None:
    response = await desk.whatsapp_post(text_payload("wamid.AFTER", "Sigo sin servicio."))
    assert response.status_code == 200
    assert await Ticket.all().count() == 1


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_deep_json_with_valid_credentials_is_400(
        desk_no_imap: Desk, endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    body = deep_json()
    caplog.set_level(logging.INFO)
    response = await desk.http.post(PATHS[endpoint], content=body,  # type: ignore[union-attr]
                                    headers=ENDPOINTS[endpoint](body))
    assert response.status_code == 400
    lines = _server_lines(caplog)
    assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
    assert len(lines[0].getMessage()) < 300
    assert await Ticket.all().count() == 0 and await Interaction.all().count() == 0
    await _still_working(desk)


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_oversized_body_is_413_in_one_line(
        desk_no_imap: Desk, endpoint: str, chunked: bool,
        caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    size = 8 * MB
    headers = ENDPOINTS[endpoint](b"")  # credentials of another body: the size decides first
    headers.pop("Content-Length", None)
    if not chunked:
        headers["Content-Length"] = str(size)
    caplog.set_level(logging.INFO)
    result = await raw_post(desk.web.port, PATHS[endpoint], headers, pieces(size),
                            chunked=chunked)
    assert result.status in (401, 413)
    assert result.status == 413 or endpoint == "whatsapp"  # Meta's route may check first
    lines = _server_lines(caplog)
    assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
    assert "aaaa" not in lines[0].getMessage()
    assert await Ticket.all().count() == 0
    await _still_working(desk)
