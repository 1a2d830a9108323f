"""The process's vocabulary: Estado, Tipo_Incidencia, Prioridad, channels, roles.

Values are the Spanish words the company sees (in chat cards, exports, reports), so a
value can be shown as it is. Enum *names* are English identifiers for the code.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Estado(StrEnum):
    NEW = "Nuevo"
    IN_PROGRESS = "En proceso"
    WAITING_CUSTOMER = "Esperando cliente"
    PENDING_CONFORMITY = "Pendiente de conformidad"
    RESOLVED = "Resuelto"
    DISCARDED = "Descartado"

    @property
    def is_open(self) -> bool:
        return self not in (Estado.RESOLVED, Estado.DISCARDED)


class TipoIncidencia(StrEnum):
    CONSULTA = "Consulta"
    RECLAMO = "Reclamo"
    SUGERENCIA = "Sugerencia"


class Prioridad(StrEnum):
    BAJA = "Baja"
    MEDIA = "Media"
    ALTA = "Alta"


class Canal(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    SLACK = "slack"
    PHONE = "phone"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CANAL_LABELS[self]


CANAL_LABELS: dict[Canal, str] = {
    Canal.EMAIL: "Correo electrónico",
    Canal.WHATSAPP: "WhatsApp",
    Canal.TELEGRAM: "Telegram",
    Canal.SLACK: "Slack",
    Canal.PHONE: "Teléfono",
    Canal.OTHER: "Otro",
}


class Rol(StrEnum):
    ADMIN = "administrador"
    AGENT = "agente"


class InteractionKind(StrEnum):
    INBOUND = "entrante"  # a customer's message
    OUTBOUND = "saliente"  # a message to the customer
    NOTE = "nota"  # internal note, never reaches the customer
    EVENT = "evento"  # state change, classification, assignment, deadline moves
    THIRD_PARTY = "tercero"  # someone who is not the customer wrote on the ticket's thread


class DeliveryStatus(StrEnum):
    PENDING = "pendiente"
    SENT = "enviado"
    DELIVERED = "entregado"
    READ = "leído"
    FAILED = "fallido"


class ConformityKind(StrEnum):
    """How a ticket came to be Resuelto. Silence is not acceptance (Ley 19.496, art. 3 a):
    a ticket closed because the customer never answered is recorded as exactly that,
    apart from the customer's expressed conformity, and never called consent."""

    EXPLICIT = "expresa"
    NO_ANSWER = "sin respuesta"

    @property
    def label(self) -> str:
        return CONFORMITY_LABELS[self]


CONFORMITY_LABELS: dict[ConformityKind, str] = {
    ConformityKind.EXPLICIT: "conformidad expresa del cliente",
    ConformityKind.NO_ANSWER: "cerrado sin respuesta del cliente",
}


# WhatsApp's customer-service window: free text only this long after the customer wrote.
WHATSAPP_WINDOW = timedelta(hours=24)
