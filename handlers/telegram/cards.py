"""HTML for Telegram: ticket cards, lists and history, escaped and cut to Telegram's limits.

Every piece of customer or team text goes through ``esc`` (HTML parse mode). Telegram
refuses a message over 4,096 characters (captions: 1,024), counted in UTF-16 code units:
a card cuts the customer's message and points to ``/ticket N``; long listings and
histories are split into several messages.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chats.cards import (
    ACCEPT_LABEL,
    SUGGESTED,
    history_line,
    local,
    suggestion_pending,
    ticket_card,
)
from bot.outgoing.fitting import cut
from bot.process.domain import Estado, InteractionKind, Prioridad, TipoIncidencia
from bot.process.settings import Settings
from bot.process.views import Actor, InteractionView, MemberView, TicketView
from bot.tickets.lifecycle import Action, allowed_actions
from handlers.telegram import callbacks as cb

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_POPUP = 200  # answerCallbackQuery text: 0-200 characters
MAX_REASON = 600  # a discard reason on a card or a confirmation (the rest: /ticket N)
_CUT = "…"


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fit(plain: str, budget: int) -> tuple[str, bool]:
    """``plain`` escaped, cut so the escaped form fits ``budget``; (html, was_cut)."""
    if tg_len(esc(plain)) <= budget:
        return esc(plain), False
    lo, hi = 0, len(plain)
    while lo < hi:  # the longest prefix whose escaped form (plus "…") fits
        mid = (lo + hi + 1) // 2
        if tg_len(esc(plain[:mid])) + len(_CUT) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return esc(plain[:lo]) + _CUT, True


def popup(text: str) -> str:
    """A button's pop-up answer, cut on a word to Telegram's 200 characters."""
    return cut(text, MAX_POPUP, measure=tg_len)


def split_plain(plain: str, limit: int = MAX_TEXT) -> list[str]:
    """Escaped chunks of ``plain``, each within ``limit``, cut at line ends when possible."""
    chunks: list[str] = []
    rest = plain
    while rest:
        piece, cut = fit(rest, limit)
        if not cut:
            chunks.append(piece)
            break
        taken = len(html.unescape(piece[: -len(_CUT)]))
        newline = rest.rfind("\n", 0, taken)
        if newline > taken // 2:
            taken = newline + 1
        chunks.append(esc(rest[:taken]))
        rest = rest[taken:]
    return chunks or [""]


def join_blocks(blocks: Iterable[str], limit: int = MAX_TEXT) -> list[str]:
    """Pack ready HTML blocks (each within ``limit``) into as few messages as possible."""
    out: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n{block}" if current else block
        if current and tg_len(candidate) > limit:
            out.append(current)
            candidate = block
        current = candidate
    if current:
        out.append(current)
    return out


# --- the ticket card -----------------------------------------------------------------
def card_html(t: TicketView, now: datetime, settings: Settings, message: str = "",
              limit: int = MAX_TEXT) -> str:
    """The card: number, customer, channel, type, priority, Estado, assignee, deadlines,
    and the customer's latest words (cut, with a pointer to ``/ticket N``, if too long)."""
    c = ticket_card(t, now, settings, message)
    lines = [f"🎫 <b>{esc(c.title)}</b>" + (" ⚠️ <b>VENCIDO</b>" if c.overdue else "")]
    lines += [f"<b>{esc(label)}:</b> {esc(value)}" for label, value in c.fields]
    if t.resolved_at is not None:
        kind = f" ({t.conformity_kind.label})" if t.conformity_kind else ""
        lines.append(f"<b>Fecha_Resolucion:</b> {esc(local(t.resolved_at, settings.zone))}"
                     f"{esc(kind)}")
    if t.estado is Estado.DISCARDED and t.discard_reason:
        lines.append(f"<b>Motivo del descarte:</b> {fit(t.discard_reason, MAX_REASON)[0]}")
    head = "\n".join(lines)
    if not c.message.strip():
        return head
    pointer = f"\n(texto completo: /ticket {t.number})"
    prefix = "\n\n💬 "
    budget = limit - tg_len(head) - tg_len(prefix)
    body, cut = fit(c.message.strip(), budget)
    if cut:
        body, _ = fit(c.message.strip(), budget - tg_len(pointer))
        body += esc(pointer)
    return head + prefix + body


# A keyboard as rows of (label, callback data): what the card's buttons are, before they
# become PTB objects (a new card) or the Bot API's JSON directly (a redraw, ``keyboard_markup``:
# building and serialising PTB's frozen objects cost about 0.2 ms per card edit).
Buttons = list[list[tuple[str, str]]]


def _button(text: str, action: str, t: TicketView, arg: str | int = "") -> tuple[str, str]:
    return text, cb.encode(action, t.number, t.version, arg)


def card_keyboard(t: TicketView, member: MemberView | None) -> InlineKeyboardMarkup:
    """The card's buttons, drawn with the same rules the core enforces."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)
                                  for text, data in row] for row in card_buttons(t, member)])


Markup = dict[str, list[list[dict[str, str]]]]


def keyboard_markup(buttons: Buttons) -> Markup:
    """The same keyboard as the Bot API's ``reply_markup`` object (plain JSON data)."""
    return {"inline_keyboard": [[{"text": text, "callback_data": data} for text, data in row]
                                for row in buttons]}


def card_buttons(t: TicketView, member: MemberView | None) -> Buttons:
    """The card's buttons as (label, callback data), for ``member`` (None: no buttons
    but the history)."""
    allowed = set(allowed_actions(t, Actor.of(member))) if member else set()
    rows: Buttons = []
    if Action.CONFIRM in allowed:
        rows.append([_button("✅ Cliente conforme", cb.CONFIRM, t),
                     _button("↩️ Sigue pendiente", cb.REJECT, t)])
    if t.is_open and Action.CLASSIFY in allowed:
        rows.append([_button(_mark(t.tipo, t.suggested_tipo, tipo), cb.TIPO, t,
                             tipo.value[0]) for tipo in TipoIncidencia])
        rows.append([_button(_mark(t.prioridad, t.suggested_prioridad, p), cb.PRIO, t,
                             p.value[0]) for p in Prioridad])
        if suggestion_pending(t):
            rows.append([_button(f"👍 {ACCEPT_LABEL}", cb.ACCEPT, t)])
    work = []
    if Action.ASSIGN in allowed:
        work.append(_button("👤 Asignar", cb.ASSIGN_MENU, t))
    if Action.REPLY in allowed:
        work.append(_button("✉️ Responder", cb.REPLY_MENU, t))
    if work:
        rows.append(work)
    if Action.PROPOSE in allowed:
        rows.append([_button("🏁 Proponer solución", cb.PROPOSE, t)])
    last = [_button("📜 Historial", cb.HISTORY, t)]
    if Action.DISCARD in allowed:
        last.append(_button("🗑 Descartar", cb.DISCARD, t))
    if Action.REOPEN in allowed:
        last.append(_button("🔄 Reabrir", cb.REOPEN, t))
    rows.append(last)
    return rows


def _mark(chosen: object, suggested: object, option: TipoIncidencia | Prioridad) -> str:
    """``✓ Reclamo`` once decided; ``☆ Reclamo (sugerido)`` while only suggested."""
    if chosen is option:
        return f"✓ {option.value}"
    if suggested is option:
        return f"☆ {option.value} ({SUGGESTED})"
    return option.value


def open_button(t: TicketView) -> InlineKeyboardButton:
    """One button that shows a ticket's card (lists, search results, digests)."""
    return InlineKeyboardButton(f"🎫 #{t.number}", callback_data=cb.encode(cb.CARD, t.number))


# --- lists and history ---------------------------------------------------------------
def row_html(t: TicketView, now: datetime) -> str:
    mark = " ⚠️" if t.first_response_overdue(now) or t.resolution_overdue(now) else ""
    tipo = t.tipo.value if t.tipo else "sin tipo"
    prio = t.prioridad.value if t.prioridad else "sin prioridad"
    who = t.assignee.name if t.assignee else "sin asignar"
    subject = t.subject if len(t.subject) <= 60 else t.subject[:60] + _CUT
    return (f"<b>#{t.number}</b> · {esc(t.estado.value)} · {esc(tipo)}/{esc(prio)} · "
            f"{esc(t.customer.display)} · {esc(who)}{mark}\n    {esc(subject)}")


_KIND_LABEL: dict[str, str] = {
    InteractionKind.INBOUND: "📨 Cliente",
    InteractionKind.OUTBOUND: "📤 Respuesta",
    InteractionKind.NOTE: "📝 Nota",
    InteractionKind.EVENT: "🔁 Cambio",
    InteractionKind.THIRD_PARTY: "⚠️ Tercero (no es el cliente)",
}


def history_plain(i: InteractionView, settings: Settings) -> str:
    """One interaction as plain text (escape it, or split it with ``split_plain``)."""
    return history_line(i, settings.zone, labels=_KIND_LABEL, indent="   ")

