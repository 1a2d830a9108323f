"""The Spanish lines people read in reminders: short enough for a phone notification.

Plain text, unescaped: each notifier escapes for its own format (customer words never
appear here anyway, only the ticket's number, Tipo and Prioridad).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.calendar import sla
from bot.chats.cards import format_duration, local
from bot.process.settings import Settings
from bot.process.views import TicketView

from .policy import FIRST_RESPONSE, OVERDUE, REPEAT, WHATSAPP, Mark

_NAMES = {FIRST_RESPONSE: "primera respuesta", "resolucion": "resolución"}


def ticket_label(t: TicketView) -> str:
    """``#12 Reclamo · Alta``; ``#12 sin clasificar`` before triage."""
    parts = [p.value for p in (t.tipo, t.prioridad) if p is not None]
    return f"#{t.number} {' · '.join(parts) if parts else 'sin clasificar'}"


def _window_suffix(t: TicketView, closes: datetime | None, now: datetime,
                   settings: Settings) -> str:
    if closes is None:
        return ""
    if closes <= now:
        return " · ventana de WhatsApp cerrada: solo plantillas aprobadas"
    return f" · ventana de WhatsApp cierra {local(closes, settings.zone)}"


def notice_text(t: TicketView, mark: Mark, now: datetime, settings: Settings,
                window_closes: datetime | None) -> str:
    """One line about one deadline of one ticket, as it stands *now*."""
    zone = settings.zone
    label = ticket_label(t)
    if mark.deadline == WHATSAPP:
        assert window_closes is not None
        left = format_duration(max(window_closes - now, timedelta()))
        return (f"{label} — la ventana de WhatsApp cierra en {left} "
                f"({local(window_closes, zone)}): después solo plantillas aprobadas")
    name = _NAMES[mark.deadline]
    due = t.first_response_due if mark.deadline == FIRST_RESPONSE else t.resolution_due
    when = local(due, zone)
    suffix = _window_suffix(t, window_closes, now, settings)
    if mark.level in (OVERDUE, REPEAT) or due <= now:
        late = now - due
        ago = f" hace {format_duration(late)}" if late >= timedelta(minutes=1) else ""
        return f"{label} — plazo de {name} vencido{ago} ({when}){suffix}"
    if mark.deadline == FIRST_RESPONSE:
        left = format_duration(due - now)
    else:
        hours = sla.business_hours_between(now, due, settings)
        left = f"{format_duration(timedelta(hours=hours))} hábiles"
    return f"{label} — {name} vence en {left} ({when}){suffix}"


def digest_title(count: int, held: bool) -> str:
    """``Recordatorio de plazo`` / ``3 recordatorios de plazos`` (+ why they waited)."""
    title = "Recordatorio de plazo" if count == 1 else f"{count} recordatorios de plazos"
    return title + (" (retenidos por el horario de silencio)" if held else "")
