"""Records from the administrator's Telegram: ``/expediente``, and a person's data
request with its confirmation step, through the real PTB against the fake Bot API."""

from __future__ import annotations

import io
import json
import zipfile

from bot.process.domain import Canal, Rol
from db.models import PersonalDataLog
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram, make_callback_update

AGENT = 2002


def documents(fake: FakeTelegram, chat: int) -> list[tuple[str, bytes, str]]:
    """(file name, bytes, caption) of every records archive the bot sent to ``chat``
    (not the customer's own files, which the card posts as documents too)."""
    sent = [(c.files["document"].filename or "", c.files["document"].data,
             str(c.params.get("caption", "")))
            for c in fake.calls_to("sendDocument")
            if str(c.params.get("chat_id")) == str(chat) and "document" in c.files]
    return [d for d in sent if d[0].startswith(("expediente-", "datos-cliente-"))]


async def test_expediente_sends_the_case_file(desk: Desk) -> None:
    photo = desk.services.attachments.store(b"%PDF-1.4 boleta", "boleta.pdf", "application/pdf")
    number = await desk.customer_writes("Me cobraron <dos> veces", attachments=[photo])
    await desk.text(f"/expediente {number}")
    [(name, data, caption)] = documents(desk.fake, CARLA)
    assert name.startswith(f"expediente-ticket-{number}-") and name.endswith(".zip")
    assert f"#{number}" in caption
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        page = z.read("expediente.html").decode()
        assert any(z.read(n) == b"%PDF-1.4 boleta" for n in z.namelist()
                   if n.startswith("adjuntos/"))
    assert "Me cobraron &lt;dos&gt; veces" in page and "ana@cliente.cl" in page

    menu = str(desk.fake.calls_to("setMyCommands")[-1].params.get("commands"))
    assert all(c in menu for c in ("expediente", "datos_cliente", "anonimizar"))
    await desk.text("/expediente 999")
    assert "No existe el ticket #999" in desk.last_message()["text"]
    assert len(documents(desk.fake, CARLA)) == 1


async def test_datos_cliente_and_anonimizar_ask_first(desk: Desk) -> None:
    number = await desk.customer_writes("Hola, soy Ana")
    await desk.text("/datos_cliente ana@cliente.cl")
    ask = desk.last_message()
    assert "Ana Pérez" in ask["text"] and "¿Exporto" in ask["text"]
    assert documents(desk.fake, CARLA) == []  # nothing until confirmed
    await desk.tap(ask["message_id"], "Exportar")
    [(name, data, _)] = documents(desk.fake, CARLA)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        doc = json.loads(z.read("datos.json"))
    assert doc["cliente"]["correo"] == "ana@cliente.cl" and name.startswith("datos-cliente-")

    await desk.text("/anonimizar ana@cliente.cl")
    ask = desk.last_message()
    assert f"#{number}" in ask["text"] and "No se puede deshacer" in ask["text"]
    await desk.tap(ask["message_id"], "Cancelar")
    assert (await desk.services.customers.find("ana@cliente.cl")).name == "Ana Pérez"

    await desk.text("/anonimizar ana@cliente.cl")
    ask = desk.last_message()
    await desk.tap(ask["message_id"], "Anonimizar")
    view = await desk.services.queries.get(number)
    assert view.customer.email is None and view.customer.name.startswith("Cliente anonimizado")
    assert "anonimizado" in desk.fake.messages[(CARLA, ask["message_id"])]["text"]
    actions = [e.action for e in await PersonalDataLog.all().order_by("id")]
    assert actions == ["exportación", "anonimización"]


async def test_person_requests_refused_to_an_agent(desk: Desk) -> None:
    await desk.services.team.add("Tomás", Rol.AGENT, telegram_user_id=AGENT)
    customer = await desk.services.customers.find_or_create(email="ana@cliente.cl",
                                                            name="Ana Pérez")
    await desk.services.tickets.open(desk.team.admin, customer_id=customer.id,
                                     channel=Canal.EMAIL, description="Hola")
    for command in ("/datos_cliente ana@cliente.cl", "/anonimizar ana@cliente.cl"):
        await desk.text(command, user=AGENT)
        assert "Solo la administración" in desk.last_message(AGENT)["text"]
    # a forged confirmation button from the agent changes nothing either
    await desk.text("/anonimizar ana@cliente.cl")
    data = desk.button(desk.last_message()["message_id"], "Anonimizar")
    await desk.deliver(make_callback_update(AGENT, AGENT, 1, data, message={
        "message_id": 1, "chat": {"id": AGENT, "type": "private"}, "date": 0,
        "text": "x"}))
    assert any("Solo la administración" in a for a in desk.answers())
    assert (await desk.services.customers.get(customer.id)).email == "ana@cliente.cl"
    assert documents(desk.fake, AGENT) == []
    assert await PersonalDataLog.all().count() == 0
