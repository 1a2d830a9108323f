"""The ticket card's content, decided once for every front end.

Telegram renders it as HTML, Slack as Block Kit, the console as text: each front end
only escapes and lays out these plain strings (customer text is *not* escaped here,
because each format escapes differently).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import sla
from bot.settings import Settings
from bot.views import TicketView

NOT_SET = "sin definir"


@dataclass(frozen=True)
class Card:
    title: str
    fields: tuple[tuple[str, str], ...]
    message: str  # the customer's latest words (unescaped)
    overdue: bool


def format_duration(delta: timedelta) -> str:
    """``2 d 3 h``, ``5 h 20 min``, ``12 min``: short enough for a phone screen."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def time_left(due: datetime, now: datetime) -> str:
    if due >= now:
        return f"quedan {format_duration(due - now)}"
    return f"vencido hace {format_duration(now - due)}"


def local(dt: datetime, zone: ZoneInfo) -> str:
    """``mié 09/12 17:50`` in the company's time zone."""
    days = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"]
    value = dt.astimezone(zone)
    return f"{days[value.weekday()]} {value:%d/%m %H:%M}"


def first_response_line(t: TicketView, now: datetime, zone: ZoneInfo) -> str:
    if t.first_response_at is not None:
        late = " (fuera de plazo)" if t.first_response_at > t.first_response_due else ""
        return f"respondida {local(t.first_response_at, zone)}{late}"
    if not t.is_open:
        return "—"
    return f"{local(t.first_response_due, zone)} · {time_left(t.first_response_due, now)}"


def resolution_line(t: TicketView, now: datetime, settings: Settings) -> str:
    zone = settings.zone
    if t.resolved_at is not None:
        return f"resuelto {local(t.resolved_at, zone)}"
    if not t.is_open:
        return "—"
    if not t.resolution_running:
        left = max(0.0, settings.resolution_business_hours - t.resolution_hours_used)
        return f"en pausa ({t.estado.value}) · quedan {format_duration(timedelta(hours=left))} hábiles"
    if t.resolution_due >= now:
        left_hours = sla.business_hours_between(now, t.resolution_due, settings)
        return (f"{local(t.resolution_due, zone)} · quedan "
                f"{format_duration(timedelta(hours=left_hours))} hábiles")
    return f"{local(t.resolution_due, zone)} · {time_left(t.resolution_due, now)}"


WHATSAPP_WINDOW = timedelta(hours=24)


def whatsapp_window_closes(t: TicketView) -> datetime | None:
    """When the 24-hour customer-service window closes (None: not a WhatsApp ticket)."""
    if t.channel.value != "whatsapp" or t.last_customer_message_at is None:
        return None
    return t.last_customer_message_at + WHATSAPP_WINDOW


def whatsapp_window_line(t: TicketView, now: datetime, zone: ZoneInfo) -> str:
    closes = whatsapp_window_closes(t)
    if closes is None or not t.is_open:
        return ""
    if closes <= now:
        return f"cerrada desde {local(closes, zone)} (solo plantillas aprobadas)"
    return f"cierra {local(closes, zone)} · {time_left(closes, now)}"


def ticket_card(t: TicketView, now: datetime, settings: Settings, message: str = "") -> Card:
    label = f"#{t.number}"
    if t.tipo:
        label += f" · {t.tipo.value}"
    if t.prioridad:
        label += f" · {t.prioridad.value}"
    customer = t.customer.display
    if t.customer.contact and t.customer.contact != customer:
        customer += f" ({t.customer.contact})"
    fields = (
        ("Cliente", customer),
        ("Canal", t.channel.label),
        ("Asunto", t.subject),
        ("Tipo_Incidencia", t.tipo.value if t.tipo else NOT_SET),
        ("Prioridad", t.prioridad.value if t.prioridad else NOT_SET),
        ("Estado", t.estado.value),
        ("Responsable", t.assignee.name if t.assignee else "sin asignar"),
        ("Primera respuesta", first_response_line(t, now, settings.zone)),
        ("Resolución", resolution_line(t, now, settings)),
    )
    window = whatsapp_window_line(t, now, settings.zone)
    if window:
        fields += (("Ventana WhatsApp", window),)
    overdue = t.first_response_overdue(now) or t.resolution_overdue(now)
    return Card(title=f"{label} — {t.estado.value}", fields=fields,
                message=message or t.description, overdue=overdue)
