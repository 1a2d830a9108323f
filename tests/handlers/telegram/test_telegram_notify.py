"""Telegram: reminders (the Notifier), attachments with cards, persistence in the DB."""

from __future__ import annotations

from bot.process.notify import Audience, Digest, Notice
from bot.storage.attachments import NewAttachment
from db.models import ChatCard
from handlers.telegram.persistence import KvPersistence
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram
from tests.servers.images import png


async def test_digest_is_one_message_with_each_tickets_buttons(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    first = await desk.customer_writes("Uno <urgente>", email="a@cliente.cl")
    second = await desk.customer_writes("Dos", email="b@cliente.cl")
    views = [await desk.services.queries.get(n) for n in (first, second)]
    digest = Digest(Audience.ADMIN, desk.team.carla, "2 avisos de plazo", tuple(
        Notice(v, "primera_respuesta", "aviso", f"vence pronto <{v.customer.email}> & más")
        for v in views))
    notifier = desk.front.notifier
    assert desk.services.notifiers[-1] is notifier
    assert notifier.can_reach(digest)
    assert not notifier.can_reach(Digest(Audience.CHANNEL, None, "canal"))
    assert not notifier.can_reach(Digest(Audience.ASSIGNEE, desk.team.diego, "sin Telegram"))
    fake_telegram.clear()
    await notifier.deliver(digest)
    (call,) = fake_telegram.calls_to("sendMessage")
    assert call.params["chat_id"] == CARLA and call.status == 200
    shown = desk.fake.messages[(CARLA, call.response["result"]["message_id"])]
    assert "vence pronto <a@cliente.cl> & más" in shown["text"]
    rows = shown["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == [f"🎫 #{first}", f"🎫 #{second}"]
    await desk.tap(shown["message_id"], "Responder")  # the digest's buttons work
    assert "elija la plantilla" in desk.last_message()["text"]


async def test_morning_summary_without_member_reaches_the_admin(desk: Desk) -> None:
    digest = Digest(Audience.ADMIN, None, "Resumen de la mañana", summary="3 abiertos")
    assert desk.front.notifier.can_reach(digest)
    await desk.front.notifier.deliver(digest)
    assert "3 abiertos" in desk.last_message()["text"]


async def test_stopped_front_end_reaches_nobody(desk: Desk) -> None:
    await desk.front.stop()
    assert not desk.front.notifier.can_reach(Digest(Audience.ADMIN, desk.team.carla, "x"))


async def test_attachments_arrive_with_the_card(desk: Desk, fake_telegram: FakeTelegram) -> None:
    store = desk.services.attachments
    photo = store.store(png(800, 600), "foto boleta.png", "image/png")
    pdf = store.store(b"%PDF-1.4 contrato", "contrato.pdf", "application/pdf")
    voice = store.store(b"OggS voice", "nota de voz.ogg", "audio/ogg")
    huge = NewAttachment("video.mp4", "video/mp4", 80 * 1024 * 1024, "0" * 64,
                         pdf.stored_path)  # said to be 80 MB: over Telegram's 50 MB
    dropped = NewAttachment("respaldo.zip", "application/zip", 30_000_000, "1" * 64, None,
                            note="No se guardó: supera el máximo.")
    number = await desk.customer_writes("Adjunto lo que pidieron", attachments=(
        photo, pdf, voice, huge, dropped))
    card = await desk.card(number)
    (sent_photo,) = fake_telegram.calls_to("sendPhoto")
    documents = fake_telegram.calls_to("sendDocument")
    assert sent_photo.files["photo"].data == png(800, 600)
    assert [d.files["document"].filename for d in documents] == ["contrato.pdf",
                                                                 "nota de voz.ogg"]
    assert all(c.params["reply_parameters"]["message_id"] == card["message_id"]
               for c in (sent_photo, *documents))
    note = desk.last_message()["text"]
    assert "video.mp4 (80,0 MB)" in note and "respaldo.zip (28,6 MB)" in note
    assert desk.failed_calls() == []


async def test_persistence_round_trip(desk: Desk) -> None:
    p = KvPersistence(desk.services.kv, namespace="prueba")
    await p.update_conversation("nuevo", (5, 5), "nuevo:canal")
    await p.update_conversation("nuevo", (6, 6), {"paso": 2})
    await p.update_user_data(5, {"nuevo": {"customer_id": 3, "channel": None}})
    await p.update_callback_data(([("abc", 1.5, {"k": "v"})], {"q": "abc"}))
    fresh = KvPersistence(desk.services.kv, namespace="prueba")
    assert await fresh.get_conversations("nuevo") == {(5, 5): "nuevo:canal",
                                                     (6, 6): {"paso": 2}}
    assert await fresh.get_user_data() == {5: {"nuevo": {"customer_id": 3, "channel": None}}}
    assert await fresh.get_callback_data() == ([("abc", 1.5, {"k": "v"})], {"q": "abc"})
    await fresh.update_conversation("nuevo", (5, 5), None)
    await fresh.update_user_data(5, {})
    assert await fresh.get_conversations("nuevo") == {(6, 6): {"paso": 2}}
    assert await fresh.get_user_data() == {}


async def test_failed_delivery_is_reported_on_the_card(desk: Desk,
                                                       fake_telegram: FakeTelegram) -> None:
    from dataclasses import replace

    from bot.process.domain import DeliveryStatus
    from bot.process.events import EventKind, TicketEvent
    from bot.process.views import Actor

    number = await desk.customer_writes("Hola")
    view = await desk.services.queries.get(number)
    (first,) = await desk.services.queries.history(number)
    fake_telegram.clear()
    ok = replace(first, delivery_status=DeliveryStatus.DELIVERED)
    await desk.services.bus.publish(TicketEvent(EventKind.DELIVERY, view, Actor.system(), ok))
    await desk.front.drain()
    assert fake_telegram.calls == []  # nothing on the card changes
    failed = replace(first, delivery_status=DeliveryStatus.FAILED)
    await desk.services.bus.publish(TicketEvent(EventKind.DELIVERY, view, Actor.system(),
                                                failed))
    await desk.front.drain()
    assert "No se pudo entregar" in desk.last_message()["text"]


async def test_one_refused_attachment_blocks_nothing(desk: Desk,
                                                     fake_telegram: FakeTelegram) -> None:
    """A long screenshot (ratio over 20), an empty file and a broken image: each goes
    its own way, the rest still arrive, and the card reaches the assignee too."""
    store = desk.services.attachments
    screenshot = store.store(png(200, 4500), "captura larga.png", "image/png")
    empty = store.store(b"", "vacio.txt", "text/plain")
    broken = store.store(b"\x89PNG not really", "rota.png", "image/png")
    fine = store.store(png(640, 480), "foto.png", "image/png")
    number = await desk.customer_writes("Adjunto capturas", attachments=(
        screenshot, empty, broken, fine))
    card = await desk.card(number)
    photos = fake_telegram.calls_to("sendPhoto")
    documents = fake_telegram.calls_to("sendDocument")
    assert [c.files["photo"].filename for c in photos] == ["foto.png"]
    assert sorted(d.files["document"].filename for d in documents) == ["captura larga.png",
                                                                       "rota.png"]
    note = desk.last_message()["text"]
    assert "vacio.txt" in note and "archivo vacío" in note and f"/ticket {number}" in note
    assert card["message_id"] and desk.failed_calls() == []


async def test_a_ticket_no_chat_shows_gets_its_card_on_the_next_change(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    """Its first card was never posted (Telegram was down, or the instance relaying
    events died before posting): the next change posts it instead of editing nothing."""
    number = await desk.customer_writes("Sin tarjeta todavía", email="c@cliente.cl")
    # the card's record gone, as if it had never been posted
    await ChatCard.filter(platform="telegram", ticket_id=number).delete()
    fake_telegram.clear()
    view = await desk.services.queries.get(number)
    await desk.services.tickets.note(desk.team.admin, number, "revisando",
                                     expected_version=view.version)
    await desk.front.drain()
    (sent,) = fake_telegram.calls_to("sendMessage")
    assert sent.params["chat_id"] == CARLA and f"#{number}" in sent.params["text"]
    assert (await desk.card(number))["message_id"] == sent.response["result"]["message_id"]
