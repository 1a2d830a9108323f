"""WhatsApp through the inbox: replies and edits join the ticket they refer to, the first
message keeps its details, a CJK file name is stored, a stranger's tap is recorded only."""

from __future__ import annotations

from bot.process.domain import Estado, InteractionKind
from db.models import Attachment, InboxItem, Interaction, Ticket
from tests.conftest import Team
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    CUSTOMER,
    WhatsAppHarness,
    text_payload,
    whatsapp,
)


async def _two_open_tickets(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await whatsapp.post(text_payload("wamid.F1", "primer problema: la web"))
    await whatsapp.services.tickets.discard(team.admin, 1, "Spam")  # frees the thread
    await whatsapp.post(text_payload("wamid.S1", "segundo problema: el correo"))
    await whatsapp.services.tickets.reopen(team.admin, 1)  # both open now, #2 the latest


async def test_a_reply_joins_the_ticket_it_quotes(whatsapp: WhatsAppHarness,  # noqa: F811
                                                  team: Team) -> None:
    await _two_open_tickets(whatsapp, team)
    quoted = text_payload("wamid.R1", "sobre la web: ya probé", context={
        "from": CUSTOMER, "id": "wamid.F1"})
    assert (await whatsapp.post(quoted)).status_code == 200
    row = await Interaction.get(external_id="wamid.R1")
    assert row.ticket_id == 1  # type: ignore[attr-defined]


async def test_an_edit_joins_the_ticket_of_the_original(whatsapp: WhatsAppHarness,  # noqa: F811
                                                        team: Team) -> None:
    await _two_open_tickets(whatsapp, team)
    edit = text_payload("wamid.E1", "", type="edit", text=None, edit={
        "original_message_id": "wamid.F1",
        "message": {"type": "text", "text": {"body": "primer problema: la web (corregido)"}}})
    assert (await whatsapp.post(edit)).status_code == 200
    row = await Interaction.get(external_id="wamid.E1")
    assert row.ticket_id == 1 and "corregido" in row.body  # type: ignore[attr-defined]


async def test_the_first_message_keeps_its_details(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    first = text_payload("wamid.AD1", "vi su anuncio", context={"forwarded": True},
                         referral={"source_type": "ad", "source_id": "9",
                                   "source_url": "https://x.example/ad", "headline": "Hosting"})
    await whatsapp.post(first)
    row = await Interaction.get(external_id="wamid.AD1")
    assert row.meta.get("forwarded") is True and row.meta["referral"]["source_id"] == "9"


async def test_a_cjk_document_name_is_stored(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    whatsapp.graph.add_media("cjk-1", b"%PDF-1.4 datos", "application/pdf")
    doc = text_payload("wamid.D1", "", type="document", text=None, document={
        "id": "cjk-1", "mime_type": "application/pdf", "filename": "文" * 150 + ".pdf"})
    assert (await whatsapp.post(doc)).status_code == 200
    row = await Interaction.get(external_id="wamid.D1")
    [file] = await Attachment.filter(interaction_id=row.id)
    assert file.stored_path and file.filename.endswith(".pdf")
    assert len(file.filename.encode()) <= 150
    await whatsapp.post(text_payload("wamid.D2", "y otra cosa"))
    assert await Interaction.filter(external_id="wamid.D2").exists()


async def test_a_strangers_reply_to_our_message_is_a_third_party_line(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await whatsapp.post(text_payload("wamid.C1", "no tengo internet"))
    await whatsapp.services.tickets.propose(team.admin, 1, "Cambiamos el router.")
    stranger = text_payload("wamid.X1", "Sí", sender="56987654321", context={
        "from": CUSTOMER, "id": "wamid.C1"})
    assert (await whatsapp.post(stranger)).status_code == 200
    assert (await Ticket.get(id=1)).estado == Estado.PENDING_CONFORMITY
    row = await Interaction.get(external_id="wamid.X1")
    assert row.kind == InteractionKind.THIRD_PARTY and row.ticket_id == 1  # type: ignore[attr-defined]
    assert await InboxItem.filter(key="whatsapp:wamid.X1", status="procesado").exists()
