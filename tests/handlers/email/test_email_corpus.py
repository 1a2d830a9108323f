"""Every email of the shared corpus goes through the real pipeline into a sensible result."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.process.domain import Canal, InteractionKind
from bot.services import Services
from handlers.email.ingest import RAW_FILENAME, EmailIngestor
from tests.conftest import Team, corpus_params, requires_corpus

FILES = corpus_params("email", "*.eml")

# No usable sender address (missing From, or a redacted domain): nobody to answer.
NO_SENDER = {"djmailbox_polish_utf8_jpeg_attachments.eml", "flanker_attached_pdf.eml",
             "mikelmail_bad_encoded_subject.eml", "phpmimemail_image_only_no_from.eml",
             "phpmimemail_autoreply_windows1250_polish.eml"}
# Bulk and list mail (Precedence: bulk, List-Id) besides the bounces and auto-replies.
BULK = {"djmailbox_reply_fwd_quoted_history.eml", "djmailbox_reply_inline_images_related.eml",
        "flanker_from_encoded.eml", "mikelmail_empty_in_reply_to.eml"}
AUTOMATIC_WORDS = ("bounce", "autoreply", "complaint", "read_receipt")

# Decoded text that proves the charset and transfer encoding were honoured.
EXPECTED_TEXT = {
    "djhelpdesk_all_special_chars_utf8.eml": ("Testovácí email", "íářčšáíéřášč"),
    "djhelpdesk_quoted_printable.eml": ("Český test", "českých písmen"),
    "flanker_8bitmime.eml": ("2 RCPT MIME", "Превел"),
    "flanker_inline_picture.eml": ("Mailgun rocks!", "Мейлган! Хахах!"),
    "flanker_bilingual_simple.eml": ("Как ты поживаешь", "А эта линия по-русски."),
    "mikelmail_japanese_iso2022jp.eml": ("まみむめも", "すみません。"),
    "mailparser_html_only_gb2312_base64.eml": ("", "我把镜头拉近些"),
    "phpmimemail_iso8859_qp_pdf.eml": ("", "Pas à pas"),
    "phpmimemail_french_iso8859_subject_attachment.eml": ("Mail avec fichier attaché", ""),
    "djmailbox_invalid_charset_name.eml": ("", "We offer loans"),
    "djhelpdesk_utf8_nondecodable.eml": ("Cyklozaměstnavatel", "Cyklozaměstnavatel"),
    "mikelmail_rfc6532_raw_utf8_headers.eml": ("Säying Hello", "body"),
    "phpmimemail_html_only_inline_png.eml": ("Image", "Inline"),
}


def expected_kind(name: str) -> str:
    if any(word in name for word in AUTOMATIC_WORDS) or name in BULK:
        return "automatic"
    return "no-sender" if name in NO_SENDER else "ticket"


@requires_corpus
def test_corpus_is_there() -> None:
    assert len(FILES) >= 70


@pytest.mark.parametrize("path", FILES, ids=lambda p: getattr(p, "name", "no-corpus"))
async def test_corpus_email_lands_sensibly(path: Path, services: Services, team: Team) -> None:
    result = await EmailIngestor(services).ingest(path.read_bytes())
    tickets = await services.queries.all()
    kind = expected_kind(path.name)
    if kind == "no-sender":  # never dropped: kept in quarantine with the raw message
        assert result.outcome == "quarantined" and tickets == [], (result, kind)
        [listed] = await services.inbox.list("en cuarentena")
        kept = await services.inbox.get(listed.id)
        assert kept is not None and kept.raw == path.read_bytes()
        return
    if kind != "ticket":
        assert result.outcome == "dropped" and tickets == [], (result, kind)
        return
    assert result.outcome == "created" and len(tickets) == 1
    ticket = tickets[0]
    assert ticket.channel is Canal.EMAIL and ticket.customer.email
    [first] = [i for i in await services.queries.history(ticket.number)
               if i.kind is InteractionKind.INBOUND]
    names = [a.filename for a in first.attachments]
    assert RAW_FILENAME in names  # the full original is always kept
    assert first.body.strip() and first.external_id == result.message_id
    assert first.body.strip() != "(correo sin texto)" or len(names) > 1
    subject, text = EXPECTED_TEXT.get(path.name, ("", ""))
    assert subject in ticket.subject
    assert text in first.body
    if path.name in EXPECTED_TEXT:
        assert "\ufffd" not in ticket.subject + first.body
