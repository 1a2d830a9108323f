"""A ticket's files in Telegram, each on its own: one that Telegram refuses never stops
the others, the card, or the next event.

Photos go as photos when Telegram can show them (at most 10 MB, width + height at most
10,000, ratio at most 20, per ``sendPhoto``), else as documents; an empty file or one
over 50 MB is named in a line instead ("imagen vacía, ver /ticket 12").
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot.chats.cards import human_size
from bot.process.views import AttachmentView, TicketView
from bot.storage.attachments import AttachmentStore
from handlers.telegram.cards import MAX_CAPTION, fit

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
PHOTO_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp"})


@dataclass(frozen=True)
class FileTarget:
    """Where the files go: a chat, as replies to the ticket's card there."""

    chat_id: int
    card_id: int


async def send_files(bot: Bot, store: AttachmentStore, target: FileTarget, view: TicketView,
                     files: tuple[AttachmentView, ...]) -> None:
    """Each file as a reply to the card; what could not go is named in one message."""
    reply = ReplyParameters(target.card_id, allow_sending_without_reply=True)
    unsent: list[str] = []
    for a in files:
        try:
            why = await _send_one(bot, store, target.chat_id, reply, view, a)
        except TelegramError as exc:  # refused or unreachable: name it, go on
            log.warning("attachment not sent ticket=#%s file=%s: %s", view.number, a.id, exc)
            why = f"Telegram no lo aceptó, véalo con /ticket {view.number}"
        if why:
            unsent.append(f"📎 {a.filename} ({human_size(a.size)}): {why}")
    if unsent:
        text, _ = fit("\n".join(unsent), 4000)
        await bot.send_message(target.chat_id, f"Adjuntos del ticket #{view.number}:\n{text}",
                               reply_parameters=reply)


async def _send_one(bot: Bot, store: AttachmentStore, chat_id: int, reply: ReplyParameters,
                    view: TicketView, a: AttachmentView) -> str:
    """Send one file; returns why it was not sent ("" when it was)."""
    if not a.stored_path:
        return a.note or "no se guardó"
    if a.size == 0:
        return f"archivo vacío, ver /ticket {view.number}"
    if a.size > MAX_DOCUMENT_BYTES:
        return "demasiado grande para Telegram"
    try:
        data = await asyncio.to_thread(store.read, a.stored_path)
    except (OSError, ValueError):
        log.warning("attachment not readable ticket=#%s file=%s", view.number, a.id)
        return "el archivo no está disponible"
    caption, _ = fit(f"📎 {a.filename} · ticket #{view.number}", MAX_CAPTION)
    if _photo_ok(a, data):
        try:
            await bot.send_photo(chat_id, data, caption=caption, filename=a.filename,
                                 reply_parameters=reply)
            return ""
        except BadRequest as exc:  # an image Telegram cannot process: as a document
            log.info("photo refused, sent as document ticket=#%s: %s", view.number, exc)
    await bot.send_document(chat_id, data, caption=caption, filename=a.filename,
                            reply_parameters=reply)
    return ""


def _photo_ok(a: AttachmentView, data: bytes) -> bool:
    """Whether Telegram will show this as a photo (else it goes as a document)."""
    if a.content_type.lower() not in PHOTO_TYPES or len(data) > MAX_PHOTO_BYTES:
        return False
    size = image_size(data)
    if size is None:
        return False
    width, height = size
    return (0 < width and 0 < height and width + height <= MAX_PHOTO_SIDES
            and max(width, height) / min(width, height) <= MAX_PHOTO_RATIO)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from the image's header, None when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
