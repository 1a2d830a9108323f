"""Test harness for the WhatsApp channel: the real web server (uvicorn on a free
loopback port) with the WhatsApp routes, the fake Graph API, and signed POSTs.

Used by ``tests/handlers/whatsapp/``; fixtures live in each test module that needs them
(``whatsapp`` below builds one harness per test).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from bot.app.frontend import wired
from bot.process.clock import ManualClock
from bot.process.settings import Settings
from bot.services import Services, build_services
from handlers.web import WebServer, build_web_server
from handlers.whatsapp import WhatsAppFrontEnd, build_front_end
from tests.conftest import CORPUS, corpus_params
from tests.servers.fake_graph import FakeGraph, sign_whatsapp

APP_SECRET = "atiende-test-app-secret"
VERIFY_TOKEN = "atiende-verify-token"
APPROVED = {"actualizacion_estado": "atiende_actualizacion_estado",
            "solicitud_conformidad": "atiende_solicitud_conformidad",
            "acuse_recibo": "atiende_acuse_recibo"}
WA_CORPUS = CORPUS / "whatsapp"
CUSTOMER = "56912345678"
PHONE_ID = "1122334455667"


class WhatsAppHarness:
    def __init__(self, services: Services, graph: FakeGraph, front: WhatsAppFrontEnd,
                 web: WebServer, http: httpx.AsyncClient) -> None:
        self.services, self.graph, self.front, self.web, self.http = (
            services, graph, front, web, http)

    async def post(self, payload: dict[str, Any] | bytes, *, secret: str = APP_SECRET,
                   signature: str | None = "sign") -> httpx.Response:
        """POST to the webhook over loopback; signed unless told otherwise."""
        body, headers = webhook_request(payload, secret=secret, signature=signature)
        response = await self.http.post("/webhooks/whatsapp", content=body, headers=headers)
        await self.services.inbox.drain()  # the webhook only stores: wait for the intake
        return response

    async def deliver(self) -> int:
        return await self.services.outbox.deliver_due()


def webhook_request(payload: dict[str, Any] | bytes, *, secret: str = APP_SECRET,
                    signature: str | None = "sign") -> tuple[bytes, dict[str, str]]:
    """A webhook's body and headers as Meta sends them: signed with ``secret`` when
    ``signature`` is "sign", else with the given header value (None: no header)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign_whatsapp(secret, body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return body, headers


def wa_settings(settings: Settings, graph: FakeGraph, **extra: Any) -> Settings:
    return settings.model_copy(update={
        "whatsapp_api_url": graph.api_url, "whatsapp_token": graph.access_token,
        "whatsapp_phone_number_id": graph.phone_number_id,
        "whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_templates": dict(APPROVED), "http_port": 0, **extra})


@pytest_asyncio.fixture
async def whatsapp(database: str, settings: Settings, clock: ManualClock,
                   fake_graph: FakeGraph) -> AsyncIterator[WhatsAppHarness]:
    services = build_services(wa_settings(settings, fake_graph), clock)
    front = wired(services, build_front_end(services))
    web = build_web_server(services, [front])
    assert web is not None
    await front.start()
    await web.start()
    try:
        async with httpx.AsyncClient(base_url=web.url, timeout=10) as http:
            yield WhatsAppHarness(services, fake_graph, front, web, http)
    finally:
        await web.stop()
        await front.stop()


def load(name: str) -> dict[str, Any]:
    """A corpus payload, read in place."""
    return json.loads((WA_CORPUS / name).read_text(encoding="utf-8"))


def corpus_files() -> list[Any]:
    """The WhatsApp corpus payloads (one skipped parameter when the corpus is absent)."""
    return corpus_params("whatsapp", "*.json")


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    """A webhook body around one ``value``, as the Cloud API documents it (the shape of the
    corpus's ``wa_text.json``, written out so these helpers need no corpus)."""
    return {"object": "whatsapp_business_account", "entry": [{
        "id": "1234567890987654321",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "56221234567", "phone_number_id": PHONE_ID},
            **value}}]}]}


def text_payload(wamid: str, body: str, sender: str = CUSTOMER, name: str = "Cliente",
                 **message: Any) -> dict[str, Any]:
    """A customer's message, shaped like the corpus's ``wa_text.json``."""
    payload = envelope({"contacts": [{"profile": {"name": name}, "wa_id": sender}]})
    value = payload["entry"][0]["changes"][0]["value"]
    msg = {"from": sender, "id": wamid, "timestamp": "1796334600", "type": "text",
           "text": {"body": body}}
    msg.update(message)
    value["messages"] = [msg]
    return payload


def image_payload(wamid: str = "wamid.xyzxyz", media_id: str = "65463453",
                  sender: str = CUSTOMER) -> dict[str, Any]:
    """A photo, shaped like the corpus's ``wa_image.json``."""
    return text_payload(wamid, "", sender, type="image", text=None, image={
        "mime_type": "image/jpeg", "sha256": "4654+8g=", "id": media_id})


def button_payload(wamid: str, button_id: str, title: str,
                   sender: str = CUSTOMER) -> dict[str, Any]:
    return text_payload(wamid, "", sender, type="interactive", text=None, interactive={
        "type": "button_reply", "button_reply": {"id": button_id, "title": title}})


def status_payload(wamid: str, status: str, **extra: Any) -> dict[str, Any]:
    """A status of one of our messages, shaped like ``wa_status_delivered.json``."""
    return envelope({"statuses": [{"id": wamid, "status": status, "timestamp": "1796334600",
                                   "recipient_id": CUSTOMER, **extra}]})
