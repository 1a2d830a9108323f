"""Plain-text rendering of cards, lists and history for the terminal."""

from __future__ import annotations

from datetime import datetime

from bot.chats import cards
from bot.chats.cards import ticket_card
from bot.outgoing.outbox import OutboundMessage
from bot.process.settings import Settings
from bot.process.views import InteractionView, TicketView


def card(t: TicketView, now: datetime, settings: Settings) -> str:
    c = ticket_card(t, now, settings)
    lines = [f"┌ {c.title}" + ("  ⚠ VENCIDO" if c.overdue else "")]
    lines += [f"│ {label}: {value}" for label, value in c.fields]
    if c.message:
        text = c.message if len(c.message) <= 500 else c.message[:500] + "…"
        lines.append("│ Mensaje: " + text.replace("\n", "\n│   "))
    lines.append("└")
    return "\n".join(lines)


def row(t: TicketView, now: datetime, settings: Settings) -> str:
    mark = " ⚠" if t.first_response_overdue(now) or t.resolution_overdue(now) else ""
    tipo = t.tipo.value if t.tipo else "sin tipo"
    prio = t.prioridad.value if t.prioridad else "sin prioridad"
    who = t.assignee.name if t.assignee else "sin asignar"
    return (f"#{t.number} · {t.estado.value} · {tipo}/{prio} · {t.customer.display} · "
            f"{who} · {t.subject[:50]}{mark}")


def history_line(i: InteractionView, settings: Settings) -> str:
    return "  " + cards.history_line(i, settings.zone, body_limit=300, indent="      ")


def outbound(message: OutboundMessage) -> str:
    if message.channel.value == "whatsapp":
        head = f"→ WhatsApp a +{message.recipient}"
        if message.whatsapp_template:
            head += f" (plantilla aprobada «{message.whatsapp_template}»)"
        return f"{head}:\n{message.whatsapp_text}"
    return (f"→ Correo a {message.recipient}\n  Asunto: {message.subject}\n"
            + "\n".join("  " + line for line in message.text.splitlines()))
