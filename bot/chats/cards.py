"""The ticket card's content, decided once for every front end.

Telegram renders it as HTML, Slack as Block Kit, the console as text: each front end
only escapes and lays out these plain strings (customer text is *not* escaped here,
because each format escapes differently).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import sla
from bot.process.domain import WHATSAPP_WINDOW
from bot.process.settings import Settings
from bot.process.views import InteractionView, TicketView

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
    if t.resolved_at is not None:  # how it closed: expressed conformity or no answer
        how = f" · {t.conformity_kind.label}" if t.conformity_kind else ""
        return f"resuelto {local(t.resolved_at, zone)}{how}"
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


# --- triage (issue 16): the suggestion, until a person decides ---------------------------
SUGGESTED = "sugerido"
ACCEPT_LABEL = "Aceptar sugerencia"


def suggested_value(value: object | None, confidence: float) -> str:
    """``Reclamo (sugerido, 92 %)``; ``sin definir`` when nothing is suggested."""
    if value is None:
        return NOT_SET
    return f"{getattr(value, 'value', value)} ({SUGGESTED}, {confidence * 100:.0f} %)"


def suggestion_pending(t: TicketView) -> bool:
    """Something is suggested and still undecided: the card offers "Aceptar sugerencia"."""
    return t.is_open and (t.suggested_tipo is not None or t.suggested_prioridad is not None)


def suggestion_reasons(t: TicketView) -> str:
    """The customer's words behind a pending suggestion (at most three)."""
    if not suggestion_pending(t) or t.suggestion is None:
        return ""
    return "; ".join(t.suggestion.reasons[:3])


def ticket_card(t: TicketView, now: datetime, settings: Settings, message: str = "") -> Card:
    label = f"#{t.number}"
    if t.tipo:
        label += f" · {t.tipo.value}"
    if t.prioridad:
        label += f" · {t.prioridad.value}"
    customer = t.customer.display
    if t.customer.contact and t.customer.contact != customer:
        customer += f" ({t.customer.contact})"
    fields: tuple[tuple[str, str], ...] = (
        ("Cliente", customer),
        ("Canal", t.channel.label),
        ("Asunto", t.subject),
        ("Tipo_Incidencia", t.tipo.value if t.tipo else suggested_value(
            t.suggested_tipo, t.suggestion.tipo_confidence if t.suggestion else 0.0)),
        ("Prioridad", t.prioridad.value if t.prioridad else suggested_value(
            t.suggested_prioridad, t.suggestion.prioridad_confidence if t.suggestion else 0.0)),
        ("Estado", t.estado.value),
        ("Responsable", t.assignee.name if t.assignee else "sin asignar"),
        ("Primera respuesta", first_response_line(t, now, settings.zone)),
        ("Resolución", resolution_line(t, now, settings)),
    )
    why = suggestion_reasons(t)
    if why:
        fields += (("Por qué se sugiere", why),)
    if t.csat_rating is not None:
        fields += (("Satisfacción", f"{t.csat_rating} de 5"
                    + (f" · «{t.csat_comment}»" if t.csat_comment else "")),)
    elif t.csat_requested_at is not None:
        fields += (("Satisfacción", "encuesta enviada, sin respuesta"),)
    window = whatsapp_window_line(t, now, settings.zone)
    if window:
        fields += (("Ventana WhatsApp", window),)
    overdue = t.first_response_overdue(now) or t.resolution_overdue(now)
    return Card(title=f"{label} — {t.estado.value}", fields=fields,
                message=message or t.description, overdue=overdue)


def human_size(size: int) -> str:
    """``532 KB``, ``12,4 MB``: sizes as a Spanish-speaking reader writes them."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def change_value(value: str | None, zone: ZoneInfo) -> str:
    """A recorded old/new value as a person reads it: instants in the company's zone."""
    if not value:
        return "—"
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    return local(when, zone) if when.tzinfo else value


PLAIN_LABELS = {"entrante": "Cliente", "saliente": "Respuesta", "nota": "Nota",
                "evento": "Cambio", "tercero": "⚠️ Tercero (no es el cliente)"}


def history_line(i: InteractionView, zone: ZoneInfo, labels: dict[str, str] | None = None,
                 body_limit: int | None = None, indent: str = "") -> str:
    """One interaction of a ticket's history as plain text (each front end escapes it).

    One definition for every front end, so the history reads the same on the console,
    in Telegram and in exports of a card.
    """
    label = (labels or PLAIN_LABELS).get(i.kind.value) or PLAIN_LABELS[i.kind.value]
    head = f"{local(i.created_at, zone)} · {label}"
    if i.field:
        return (f"{head} ({i.author_name}): {i.field}: {change_value(i.old_value, zone)} → "
                f"{change_value(i.new_value, zone)}")
    extra = f" [{i.template}]" if i.template else ""
    status = f" ({i.delivery_status.value})" if i.delivery_status else ""
    auto = " (automático)" if i.automatic else ""
    body = i.body if body_limit is None or len(i.body) <= body_limit \
        else i.body[:body_limit] + "…"
    files = "".join(f"\n{indent}📎 {a.filename} ({human_size(a.size)})" for a in i.attachments)
    return f"{head}{extra}{status}{auto} ({i.author_name}): {body}{files}"


def count_tickets(n: int) -> str:
    """``1 ticket``, ``3 tickets``: counts read naturally."""
    return f"{n} ticket" if n == 1 else f"{n} tickets"
