"""Translate one Cloud API webhook message into what Atiende records (pure, no I/O).

Only this module knows the payload's shapes. Every type becomes a readable line for the
team (in Spanish), so nothing that arrives is dropped silently: unknown and unsupported
types say what arrived. Values are read defensively: a field of the wrong type is
treated as absent, never as a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MEDIA_TYPES = {
    "image": "Imagen", "audio": "Audio", "voice": "Nota de voz", "video": "Video",
    "document": "Documento", "sticker": "Sticker",
}
# Reactions, deletions and WhatsApp's own notices: a quiet line on the customer's
# ticket, never a new ticket (the core's "automatic" messages).
QUIET_TYPES = frozenset({"reaction", "revoke", "system"})


@dataclass(frozen=True)
class MediaRef:
    kind: str
    media_id: str
    mime_type: str
    filename: str | None


@dataclass(frozen=True)
class ParsedMessage:
    wamid: str
    sender: str  # the customer's WhatsApp id (digits), may be invalid in odd payloads
    wa_type: str
    body: str
    media: MediaRef | None = None
    button_id: str | None = None  # the id/payload of a tapped reply button
    button_text: str | None = None
    quiet: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_message(message: dict[str, Any]) -> ParsedMessage | None:
    """None when the message lacks what any handling needs (an id and a sender)."""
    wamid, sender = _str(message.get("id")), _str(message.get("from"))
    if not wamid or not sender:
        return None
    wa_type = _str(message.get("type")) or "unknown"
    meta: dict[str, Any] = {"wa_type": wa_type}
    context = _dict(message.get("context"))
    if _str(context.get("id")):
        meta["reply_to"] = _str(context.get("id"))
    if context.get("forwarded") or context.get("frequently_forwarded"):
        meta["forwarded"] = True
    timestamp = _str(message.get("timestamp"))
    if timestamp.isdigit():
        meta["wa_timestamp"] = int(timestamp)
    parsed = _content(wa_type, message)
    body = parsed.body
    referral = _dict(message.get("referral"))
    if referral:
        meta["referral"] = {k: _str(referral.get(k)) for k in
                            ("source_type", "source_id", "source_url", "headline")}
        headline = _str(referral.get("headline"))
        body += f"\n(Llegó desde un anuncio{': ' + headline if headline else ''})"
    if wa_type == "voice" or (wa_type == "audio" and _dict(message.get("audio")).get("voice")):
        meta["voice"] = True
    return ParsedMessage(wamid, sender, wa_type, body.strip(), parsed.media, parsed.button_id,
                         parsed.button_text, wa_type in QUIET_TYPES, {**meta, **parsed.meta})


@dataclass(frozen=True)
class _Content:
    body: str
    media: MediaRef | None = None
    button_id: str | None = None
    button_text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _content(wa_type: str, message: dict[str, Any]) -> _Content:
    part = _dict(message.get(wa_type))
    if wa_type == "text":
        return _Content(_str(part.get("body")) or "[Mensaje de texto vacío]")
    if wa_type in MEDIA_TYPES:
        return _media(wa_type, part)
    if wa_type == "interactive":
        return _interactive(part, message)
    if wa_type == "button":
        text = _str(part.get("text"))
        return _Content(f"[Botón] {text}".strip(), button_id=_str(part.get("payload")) or None,
                        button_text=text or None)
    if wa_type == "location":
        return _Content(_location(part))
    if wa_type == "contacts":
        return _Content(_contacts(_list(message.get("contacts"))))
    if wa_type == "order":
        return _Content(_order(part))
    if wa_type == "reaction":
        emoji = _str(part.get("emoji"))
        target = _str(part.get("message_id"))
        body = f"[Reacción] {emoji}" if emoji else "[Reacción quitada]"
        return _Content(body, meta={"reaction_to": target})
    if wa_type == "edit":
        return _edit(part)
    if wa_type == "revoke":
        return _Content("[El cliente eliminó un mensaje]",
                        meta={"revoked": _str(part.get("original_message_id"))})
    if wa_type == "system":
        return _Content(f"[Aviso de WhatsApp] {_str(part.get('body')) or _str(part.get('type'))}")
    return _unsupported(wa_type, message)


def _media(wa_type: str, part: dict[str, Any]) -> _Content:
    label = MEDIA_TYPES[wa_type]
    if wa_type == "audio" and part.get("voice"):
        label = MEDIA_TYPES["voice"]
    caption = _str(part.get("caption"))
    media_id = _str(part.get("id")) or (str(part["id"]) if isinstance(part.get("id"), int)
                                        else "")
    media = MediaRef(wa_type, media_id, _str(part.get("mime_type")),
                     _str(part.get("filename")) or None) if media_id else None
    body = f"[{label}] {caption}".strip()
    if media is None:
        body += " (sin archivo: WhatsApp no indicó cuál)"
    return _Content(body, media=media)


def _interactive(part: dict[str, Any], message: dict[str, Any]) -> _Content:
    kind = _str(part.get("type"))
    reply = _dict(part.get(kind)) if kind else {}
    if kind in ("button_reply", "list_reply") and reply:
        title = _str(reply.get("title"))
        description = _str(reply.get("description"))
        label = "Botón" if kind == "button_reply" else "Lista"
        body = f"[{label}] {title}" + (f" — {description}" if description else "")
        return _Content(body, button_id=_str(reply.get("id")) or None, button_text=title or None)
    if kind == "nfm_reply":
        return _Content(f"[Formulario] {_str(reply.get('body')) or _str(reply.get('name'))}")
    return _unsupported("interactive", message)


def _location(part: dict[str, Any]) -> str:
    lat, lon = part.get("latitude"), part.get("longitude")
    where = ", ".join(x for x in (_str(part.get("name")), _str(part.get("address"))) if x)
    body = f"[Ubicación] {where}".strip()
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        body += f" {lat}, {lon} (https://maps.google.com/?q={lat},{lon})"
    return body


def _contacts(cards: list[Any]) -> str:
    lines = []
    for card in cards:
        card = _dict(card)
        name = _str(_dict(card.get("name")).get("formatted_name")) or "(sin nombre)"
        phones = [_str(_dict(p).get("phone")) for p in _list(card.get("phones"))]
        emails = [_str(_dict(e).get("email")) for e in _list(card.get("emails"))]
        details = ", ".join(x for x in phones + emails if x)
        lines.append(f"- {name}" + (f": {details}" if details else ""))
    return "[Contactos compartidos]\n" + ("\n".join(lines) if lines else "(vacío)")


def _order(part: dict[str, Any]) -> str:
    lines = []
    for item in _list(part.get("product_items")):
        item = _dict(item)
        lines.append(f"- {item.get('quantity', '?')} × {_str(item.get('product_retailer_id'))}"
                     f" ({item.get('item_price', '?')} {_str(item.get('currency'))})")
    text = _str(part.get("text"))
    head = f"[Pedido del catálogo {_str(part.get('catalog_id'))}]"
    return "\n".join([head, *lines, *([text] if text else [])])


def _edit(part: dict[str, Any]) -> _Content:
    inner = _dict(part.get("message"))
    inner_type = _str(inner.get("type")) or "unknown"
    content = _content(inner_type, inner) if inner else _Content("")
    return _Content(f"[Mensaje editado] {content.body}".strip(), media=content.media,
                    meta={"edited": _str(part.get("original_message_id"))})


def _unsupported(wa_type: str, message: dict[str, Any]) -> _Content:
    errors = [_dict(e) for e in _list(message.get("errors"))]
    reason = "; ".join(f"{_str(e.get('title')) or _str(e.get('message'))} ({e.get('code')})"
                       for e in errors)
    body = f"[Mensaje de tipo «{wa_type}» que Atiende no puede mostrar]"
    if reason:
        body += f" {reason}"
    return _Content(body + ". Pídale al cliente que lo envíe de otra forma si es necesario.",
                    meta={"unsupported": wa_type, "errors": [e.get("code") for e in errors]})
