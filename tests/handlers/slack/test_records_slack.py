"""The "Expediente" button on the Slack card: the case file lands in the card's
thread through files_upload_v2 on the fake Slack Web API."""

from __future__ import annotations

import io
import zipfile

from bot.process.domain import Canal
from handlers.slack.blocks import CASE_FILE_ID
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SlackRig, rig

__all__ = ["rig"]


async def test_expediente_button_uploads_to_the_thread(rig: SlackRig, team: Team) -> None:
    s = rig.services
    customer = await s.customers.find_or_create(email="ana@example.cl", name="Ana <!here>")
    stored = s.attachments.store(b"foto del medidor", "medidor.jpg", "image/jpeg")
    view = await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                description="Cobro <@U123> duplicado", attachments=[stored])
    await rig.front.drain()
    response = await rig.click("UDIEGO", view.number, CASE_FILE_ID)
    assert response.status_code == 200
    [upload] = [u for u in rig.fake.uploads.values() if u.filename.startswith("expediente")]
    assert upload.channel_id == CHANNEL and upload.thread_ts == await rig.card_ts(view.number)
    assert upload.filename.startswith(f"expediente-ticket-{view.number}-")
    assert "Diego" in (upload.initial_comment or "")
    with zipfile.ZipFile(io.BytesIO(upload.data or b"")) as z:
        page = z.read("expediente.html").decode()
        assert b"foto del medidor" in [z.read(n) for n in z.namelist()
                                       if n.startswith("adjuntos/")]
    assert "Cobro &lt;@U123&gt; duplicado" in page and "Ana &lt;!here&gt;" in page


async def test_expediente_button_refused_to_a_stranger(rig: SlackRig, team: Team) -> None:
    customer = await rig.services.customers.find_or_create(email="ana@example.cl")
    view = await rig.services.tickets.open(team.admin, customer_id=customer.id,
                                           channel=Canal.EMAIL, description="hola")
    await rig.front.drain()
    await rig.click("USTRANGER", view.number, CASE_FILE_ID)
    assert not [u for u in rig.fake.uploads.values() if u.filename.startswith("expediente")]
    told = [c.params for c in rig.fake.calls_to("chat.postEphemeral")]
    assert any(p.get("user") == "USTRANGER" and "No está registrado" in str(p.get("text"))
               for p in told)
