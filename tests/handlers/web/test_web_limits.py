"""The shared web server against hostile requests: bodies bounded in size and in time,
signatures checked before anything is parsed, parse failures as 4xx, one short log line
per refusal, and a connection limit. Requests go over real sockets (raw HTTP where the
point is what a client can do that httpx would not: lie about sizes, stall, stream)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app.frontend import wired
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.services import Services, build_services
from handlers.slack.app import SlackFrontEnd, build
from handlers.web import WebServer, build_app
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SECRET, block_actions, card_action, card_ts
from tests.servers import FakeSlack, signed_headers
from tests.servers.http_raw import MB, deep_json, pieces, raw_post


def lines_at_info(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server side logged at INFO and above (the test's own client is not it)."""
    return [r for r in caplog.records if r.levelno >= logging.INFO
            and not r.name.startswith(("httpx", "httpcore"))]


def assert_one_short_line(caplog: pytest.LogCaptureFixture, *words: str) -> None:
    records = lines_at_info(caplog)
    assert len(records) == 1, [r.getMessage()[:200] for r in records]
    message = records[0].getMessage()
    assert len(message) < 300 and "aaaa" not in message and "[[[[" not in message, message
    assert records[0].exc_info is None
    for word in words:
        assert word in message, message


# --- servers -----------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def serving(routes: list[Any], **kwargs: Any) -> AsyncIterator[WebServer]:
    server_kwargs = {k: kwargs.pop(k) for k in ("max_connections", "head_timeout")
                     if k in kwargs}
    web = WebServer(build_app(routes, **kwargs), "127.0.0.1", 0, **server_kwargs)
    await web.start()
    try:
        yield web
    finally:
        await web.stop()


async def echo(request: Request) -> JSONResponse:
    """A route as a careless front end would write it: reads everything, parses JSON."""
    body = await request.body()
    return JSONResponse({"length": len(body), "kind": type(json.loads(body)).__name__})


ECHO = [Route("/echo", echo, methods=["POST"])]


@pytest.fixture
async def slack_web(services: Services, team: Team,
                    fake_slack: FakeSlack) -> AsyncIterator[tuple[SlackFrontEnd, WebServer]]:
    """Slack as in production: ``process_before_response=False`` (bolt answers at ack()
    and runs the listener afterwards), on the shared web server."""
    settings = services.settings.model_copy(update={
        "slack_bot_token": fake_slack.token, "slack_signing_secret": SECRET,
        "slack_api_url": fake_slack.api_url, "slack_channel": CHANNEL, "http_port": 0})
    slack_services = build_services(settings, services.clock)
    front = wired(slack_services, build(slack_services, pace_seconds=0))
    await front.start()
    async with serving(front.routes()) as web:
        yield front, web
    await front.stop()


# --- body size -----------------------------------------------------------------------------
async def test_unsigned_20mb_post_to_slack_costs_no_memory_and_one_line(
        slack_web: tuple[SlackFrontEnd, WebServer], fake_slack: FakeSlack,
        caplog: pytest.LogCaptureFixture) -> None:
    _, web = slack_web
    caplog.set_level(logging.INFO)
    headers = {"Content-Type": "application/json", "Content-Length": str(20 * MB),
               "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"}
    tracemalloc.start()
    try:
        result = await raw_post(web.port, "/slack/events", headers, pieces(20 * MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status in (401, 413)
    assert peak < 10 * MB, f"{peak / MB:.1f} MB traced while refusing"
    assert_one_short_line(caplog, "/slack/events", str(result.status))
    assert not fake_slack.calls  # bolt never saw it (not even auth.test)


async def test_unsigned_chunked_20mb_post_to_slack_is_refused_early(
        slack_web: tuple[SlackFrontEnd, WebServer], caplog: pytest.LogCaptureFixture) -> None:
    _, web = slack_web
    caplog.set_level(logging.INFO)
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "1",
               "X-Slack-Signature": "v0=00"}
    tracemalloc.start()
    try:
        result = await raw_post(web.port, "/slack/events", headers, pieces(20 * MB),
                                chunked=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == 413
    assert peak < 10 * MB, f"{peak / MB:.1f} MB traced while refusing"
    assert_one_short_line(caplog, "413")


async def test_chunked_body_over_the_cap_is_413_without_waiting_for_its_end(
        slack_web: tuple[SlackFrontEnd, WebServer]) -> None:
    """1.5 MB of a body that never ends: only a server that stops at the cap answers
    (one that reads on would wait until the body timeout and answer 408)."""
    _, web = slack_web
    result = await raw_post(web.port, "/slack/events", {"Content-Type": "application/json"},
                            pieces(3 * MB // 2), chunked=True, finish=False)
    assert result.status == 413
    async with serving(ECHO, max_body_bytes=MB) as echo_web:  # any route, via BodyGuard
        result = await raw_post(echo_web.port, "/echo", {}, pieces(3 * MB // 2),
                                chunked=True, finish=False)
    assert result.status == 413


async def test_declared_length_over_the_cap_is_refused_unread(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with serving(ECHO, max_body_bytes=MB) as web:
        caplog.clear()
        result = await raw_post(web.port, "/echo", {"Content-Length": str(MB + 1)},
                                iter(()), finish=False)
        assert result.status == 413
        assert_one_short_line(caplog, "413")
        caplog.clear()
        bad = await raw_post(web.port, "/echo", {"Content-Length": "x"}, iter(()),
                             finish=False)
        assert bad.status == 400  # h11 refuses it before BodyGuard sees it
        assert_one_short_line(caplog)
        caplog.clear()
        async with httpx.AsyncClient(base_url=web.url) as http:
            small = await http.post("/echo", content=b'{"a": 1}')
        assert small.status_code == 200 and small.json() == {"length": 8, "kind": "dict"}
        assert lines_at_info(caplog) == []


async def test_the_refusal_line_holds_no_sender_text_beyond_a_short_path(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = "/echo%0A2026-12-01%20FAKE%20LOG%20LINE" + "x" * 5000
    async with serving(ECHO, max_body_bytes=10) as web:
        caplog.clear()
        result = await raw_post(web.port, path, {"Content-Length": "11"}, iter(()),
                                finish=False)
        assert result.status in (404, 413)
        records = lines_at_info(caplog)
    assert len(records) == 1
    message = records[0].getMessage()
    assert "\n" not in message and len(message) < 400, message


# --- parsing -----------------------------------------------------------------------------------
async def test_deep_json_is_400_on_any_route_and_on_slack(
        slack_web: tuple[SlackFrontEnd, WebServer], fake_slack: FakeSlack,
        caplog: pytest.LogCaptureFixture) -> None:
    _, web = slack_web
    body = deep_json()
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(base_url=web.url) as http:
        signed = await http.post("/slack/events", content=body, headers=signed_headers(
            SECRET, body, content_type="application/json"))
        assert signed.status_code == 400
        assert_one_short_line(caplog, "nested too deeply")
        caplog.clear()
        unsigned = await http.post("/slack/events", content=body,
                                   headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401
        assert_one_short_line(caplog, "signature")
        caplog.clear()
        form = b"payload=" + body
        signed_form = await http.post("/slack/events", content=form, headers=signed_headers(
            SECRET, form, content_type="application/x-www-form-urlencoded"))
        assert signed_form.status_code == 400
    assert not fake_slack.calls
    async with serving(ECHO) as echo_web, httpx.AsyncClient(base_url=echo_web.url) as http:
        caplog.clear()
        response = await http.post("/echo", content=body)
        assert response.status_code == 400
        assert_one_short_line(caplog, "nested too deeply")


async def test_non_utf8_signed_body_is_400_and_unsigned_401(
        slack_web: tuple[SlackFrontEnd, WebServer], caplog: pytest.LogCaptureFixture) -> None:
    _, web = slack_web
    body = b"\xff\xfe{\"type\": \"event_callback\"}"
    async with httpx.AsyncClient(base_url=web.url) as http:
        signed = await http.post("/slack/events", content=body, headers=signed_headers(
            SECRET, body, content_type="application/json"))
        forged = await http.post("/slack/events", content=body, headers={
            "X-Slack-Request-Timestamp": "nope", "X-Slack-Signature": b"v0=\xe9"})
    assert (signed.status_code, forged.status_code) == (400, 401)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# --- time and connections ----------------------------------------------------------------
async def test_slow_body_times_out(caplog: pytest.LogCaptureFixture) -> None:
    """10 of 100 announced bytes, then silence: refused when the body timeout passes
    (a real server timer, set short here), on any route and on Slack's."""
    caplog.set_level(logging.INFO)
    async with serving(ECHO, body_timeout=0.3) as web:
        caplog.clear()
        result = await raw_post(web.port, "/echo", {"Content-Length": "100"},
                                iter([b"[1,2,3,4,5"]), finish=False)
        assert result.status == 408
        assert_one_short_line(caplog, "/echo", "408")


async def test_slow_body_to_slack_times_out(services: Services, team: Team,
                                            fake_slack: FakeSlack) -> None:
    settings = services.settings.model_copy(update={
        "slack_bot_token": fake_slack.token, "slack_signing_secret": SECRET,
        "slack_api_url": fake_slack.api_url, "slack_channel": CHANNEL})
    live = build_services(settings, services.clock)
    front = wired(live, build(live, pace_seconds=0))
    async with serving(front.routes(), body_timeout=0.3) as web:
        result = await raw_post(web.port, "/slack/events", {"Content-Length": "100"},
                                iter([b"{}"]), finish=False)
    assert result.status == 408


async def test_a_request_head_that_never_ends_is_cut_off() -> None:
    """Half a request head, on a new connection and on a kept-alive one: the server
    closes the connection when the head timeout passes (uvicorn alone would wait
    forever once a byte arrived)."""
    async with serving(ECHO, head_timeout=0.3) as web:
        reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]")
        async with asyncio.timeout(10):
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            while (await reader.readline()) != b"\r\n":
                pass
            assert await reader.readexactly(len(b'{"length":2,"kind":"list"}'))
            writer.write(b"POST /echo HTTP/1.1\r\nHo")  # the next request stalls
            assert await reader.read() == b""
        writer.close()


async def test_connections_past_the_limit_get_503() -> None:
    async with serving(ECHO, max_connections=2) as web:
        idle = [await asyncio.open_connection("127.0.0.1", web.port) for _ in range(2)]
        try:
            async with httpx.AsyncClient(base_url=web.url) as http:
                busy = await http.post("/echo", content=b"[]")
        finally:
            for _, writer in idle:
                writer.close()
        async with httpx.AsyncClient(base_url=web.url) as http:
            for _ in range(50):  # uvicorn forgets the closed ones as it notices them
                free = await http.post("/echo", content=b"[]")
                if free.status_code == 200:
                    break
    assert busy.status_code == 503
    assert free.status_code == 200


# --- Slack's production path -------------------------------------------------------------
async def test_production_slack_path_acks_then_acts(
        slack_web: tuple[SlackFrontEnd, WebServer], fake_slack: FakeSlack,
        team: Team) -> None:
    """process_before_response=False: the 200 comes at ack(); the work follows."""
    front, web = slack_web
    services = front.ctx.services
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Consulta", external_id="<p1@example.cl>",
        email=customer.email, name="Ana", subject="Consulta"))
    await front.drain()
    ts = await card_ts(services, 1)
    card = fake_slack.messages[(CHANNEL, ts)]
    action = card_action(card, "atiende_tipo", selected_option={"value": "Reclamo"})
    body = urlencode({"payload": json.dumps(block_actions("UDIEGO", [action], ts))}).encode()
    updates = len(fake_slack.calls_to("chat.update"))
    async with httpx.AsyncClient(base_url=web.url) as http:
        response = await http.post("/slack/events", content=body, headers=signed_headers(
            SECRET, body, content_type="application/x-www-form-urlencoded"))
    assert response.status_code == 200
    await fake_slack.wait_for("chat.update", count=updates + 1, timeout=10)  # the redraw
    ticket = await services.queries.get(1)
    assert ticket.tipo is not None and ticket.tipo.value == "Reclamo"


async def test_bolt_request_loggers_are_quiet_after_the_app_is_built(
        services: Services, team: Team, fake_slack: FakeSlack,
        caplog: pytest.LogCaptureFixture) -> None:
    """bolt gives its loggers the root's level when it builds an app (INFO in
    production), and logs a rejected body at INFO: ours raises them to WARNING."""
    caplog.set_level(logging.INFO)
    settings = services.settings.model_copy(update={
        "slack_bot_token": fake_slack.token, "slack_signing_secret": SECRET,
        "slack_api_url": fake_slack.api_url, "slack_channel": CHANNEL})
    build(build_services(settings, services.clock), pace_seconds=0)
    for name in ("slack_bolt.RequestVerification", "slack_bolt.AsyncApp"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
