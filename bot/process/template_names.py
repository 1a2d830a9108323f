"""The standard messages of annex ANX-COM-001, by name and title.

The process's own list: the settings (approved WhatsApp templates), the renderer, the
chat pickers and the history all name a message by these values.
"""

from __future__ import annotations

from enum import StrEnum


class TemplateName(StrEnum):
    """The standard messages; values are the file names (``<value>.j2``)."""

    ACKNOWLEDGEMENT = "acuse_recibo"
    INFO_REQUEST = "solicitud_informacion"
    STATUS_UPDATE = "actualizacion_estado"
    PROPOSED_RESOLUTION = "propuesta_solucion"
    CONFORMITY_REQUEST = "solicitud_conformidad"
    CLOSURE = "cierre"
    CUSTOMER_REMINDER = "recordatorio_cliente"
    # appended (chat buttons carry the index): issue 11's messages common in Chile
    REJECTION = "rechazo_reclamo"
    REFERRAL = "derivacion"


TEMPLATE_TITLES: dict[TemplateName, str] = {
    TemplateName.ACKNOWLEDGEMENT: "Acuse de recibo",
    TemplateName.INFO_REQUEST: "Solicitud de información",
    TemplateName.STATUS_UPDATE: "Actualización de estado",
    TemplateName.PROPOSED_RESOLUTION: "Propuesta de solución",
    TemplateName.CONFORMITY_REQUEST: "Solicitud de conformidad",
    TemplateName.CLOSURE: "Cierre",
    TemplateName.CUSTOMER_REMINDER: "Recordatorio al cliente",
    TemplateName.REJECTION: "Reclamo no procede (con motivos)",
    TemplateName.REFERRAL: "Derivación a otra área",
}

# WhatsApp caps an approved template's body at 1,024 characters; our free-form texts
# stay under it too (tests check it with realistic field sizes).
