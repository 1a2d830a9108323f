"""The shared web server: /healthz, route collection, start and clean stop on a real
loopback port, and how the composition root builds it."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.app.run import configured_front_ends
from bot.process.settings import Settings
from bot.services import Services, build_services
from handlers.web import WebServer, build_web_server
from tests.handlers.whatsapp.harness import wa_settings
from tests.servers.fake_graph import FakeGraph


class _Front:
    def __init__(self, name: str, path: str) -> None:
        self.name, self._path = name, path

    def routes(self) -> list[Route]:
        async def hello(request: object) -> PlainTextResponse:
            return PlainTextResponse(f"hello from {self.name}")
        return [Route(self._path, hello, methods=["POST"])]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _Silent:
    name = "console"

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _on_free_port(services: Services, fronts: list[object]) -> WebServer:
    services.settings.http_port = 0
    web = build_web_server(services, fronts)
    assert web is not None
    return web


async def test_no_routes_no_server(services: Services) -> None:
    assert build_web_server(services, []) is None
    assert build_web_server(services, [_Silent()]) is None


async def test_healthz_and_front_routes_then_clean_stop(services: Services) -> None:
    web = _on_free_port(services, [_Front("slack", "/webhooks/slack")])
    await web.start()
    port = web.port
    try:
        async with httpx.AsyncClient(base_url=web.url) as http:
            health = await http.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "database": "ok",
                                     "instance": services.leases.holder, "leases": []}
            await services.leases.acquire("reminders")
            held = (await http.get("/healthz")).json()["leases"]
            assert [lease["name"] for lease in held] == ["reminders"]
            hello = await http.post("/webhooks/slack")
            assert hello.text == "hello from slack"
            assert (await http.get("/nope")).status_code == 404
    finally:
        await web.stop()
    with socket.socket() as probe:  # the port is free again
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    await web.stop()  # idempotent


async def test_two_front_ends_claiming_one_path_fail_loudly(services: Services) -> None:
    with pytest.raises(RuntimeError, match="/webhooks/x"):
        build_web_server(services, [_Front("a", "/webhooks/x"), _Front("b", "/webhooks/x")])


async def test_busy_port_names_the_setting(services: Services) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        services.settings.http_port = taken.getsockname()[1]
        web = build_web_server(services, [_Front("a", "/a")])
        assert web is not None
        with pytest.raises(RuntimeError, match="ATIENDE_HTTP_PORT"):
            await web.start()


async def test_composition_root_mounts_whatsapp(database: str, settings: Settings,
                                                fake_graph: FakeGraph) -> None:
    services = build_services(wa_settings(settings, fake_graph))
    fronts = configured_front_ends(services)
    assert [f.name for f in fronts] == ["whatsapp", "web"]
    web = fronts[-1]
    assert isinstance(web, WebServer)
    for front in fronts:
        await front.start()
    try:
        async with httpx.AsyncClient(base_url=web.url) as http:
            assert (await http.get("/healthz")).status_code == 200
            unsigned = await http.post("/webhooks/whatsapp", content=b"{}")
            assert unsigned.status_code == 401
    finally:
        for front in reversed(fronts):
            await front.stop()


async def test_console_only_opens_no_port(services: Services) -> None:
    assert configured_front_ends(services) == []
