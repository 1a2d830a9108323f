"""What the Bot API refuses, for the fake Telegram: each limit cites where Telegram
documents it (https://core.telegram.org/bots/api), and each refusal uses the
description Telegram answers with, so a test that makes an invalid call fails the way
production would.

Lengths are counted in UTF-16 code units, as Telegram counts entity offsets and text
lengths ("characters after entities parsing").
"""

from __future__ import annotations

import struct
from typing import Any

# sendMessage / editMessageText: "Text of the message, 1-4096 characters after entities parsing"
TEXT_MAX = 4096
# sendPhoto / sendDocument / editMessageCaption: "Caption, 0-1024 characters after entities parsing"
CAPTION_MAX = 1024
# InlineKeyboardButton.callback_data: "Data to be sent in a callback query, 1-64 bytes"
CALLBACK_DATA_BYTES = (1, 64)
# answerCallbackQuery.text: "Text of the notification ... 0-200 characters"
ANSWER_TEXT_MAX = 200
# An inline keyboard of more than 100 buttons is refused (REPLY_MARKUP_TOO_LONG); a row
# holds at most 8 buttons (Telegram's clients and server cap; BUTTON_TYPE_INVALID past it).
KEYBOARD_BUTTONS_MAX = 100
ROW_BUTTONS_MAX = 8
# sendPhoto: "The photo must be at most 10 MB in size. The photo's width and height must
# not exceed 10000 in total. Width and height ratio must be at most 20."
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000
PHOTO_MAX_RATIO = 20
# "Bots can currently send files of any type of up to 50 MB in size" (sending files)
UPLOAD_MAX_BYTES = 50 * 1024 * 1024


class Refused(ValueError):
    """Telegram's 400 description for a request it refuses."""


def units(text: str) -> int:
    """Length in UTF-16 code units (how Telegram measures text)."""
    return len(text.encode("utf-16-le")) // 2


def check_length(text: str, limit: int, what: str) -> None:
    if units(text) > limit:
        raise Refused(f"Bad Request: {what} is too long")


def check_keyboard(markup: Any) -> None:
    """An ``inline_keyboard`` as Telegram validates it."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise Refused("Bad Request: can't parse inline keyboard button: field \"inline_keyboard\""
                      " must be an Array of Arrays")
    if sum(len(r) for r in rows) > KEYBOARD_BUTTONS_MAX:
        raise Refused("Bad Request: REPLY_MARKUP_TOO_LONG")
    for row in rows:
        if len(row) > ROW_BUTTONS_MAX:
            raise Refused("Bad Request: BUTTON_TYPE_INVALID")
        for button in row:
            _check_button(button)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not str(button.get("text") or "").strip():
        raise Refused("Bad Request: BUTTON_TEXT_INVALID")
    if "callback_data" in button:
        data = str(button["callback_data"]).encode()
        low, high = CALLBACK_DATA_BYTES
        if not low <= len(data) <= high:
            raise Refused("Bad Request: BUTTON_DATA_INVALID")
    elif not any(k in button for k in ("url", "switch_inline_query", "web_app", "copy_text",
                                        "switch_inline_query_current_chat", "pay",
                                        "login_url", "callback_game")):
        raise Refused("Bad Request: can't parse inline keyboard button: Text buttons are "
                      "unallowed in the inline keyboard")


def check_upload(data: bytes) -> None:
    if not data:
        raise Refused("Bad Request: file must be non-empty")
    if len(data) > UPLOAD_MAX_BYTES:
        raise Refused("Request Entity Too Large")


def check_photo(data: bytes) -> None:
    """A photo upload: size, then dimensions read from the image header."""
    check_upload(data)
    if len(data) > PHOTO_MAX_BYTES:
        raise Refused("Bad Request: PHOTO_SAVE_FILE_INVALID")
    size = image_size(data)
    if size is None:
        raise Refused("Bad Request: IMAGE_PROCESS_FAILED")
    width, height = size
    if (width + height > PHOTO_MAX_SIDES or min(width, height) == 0
            or max(width, height) / min(width, height) > PHOTO_MAX_RATIO):
        raise Refused("Bad Request: PHOTO_INVALID_DIMENSIONS")


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP, from its header; None if unreadable."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    return None
