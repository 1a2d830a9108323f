"""What a customer message may say about a ticket: the one place that builds it.

Promises are what a customer can hold us to: the resolution and the closing day as a
business date (a deadline that falls on a weekend, a holiday or before opening is
promised for the next business day), the first reply as "within the next 24 hours".
The greeting uses the customer's first name and form of address when the customer
record has them (``first_name``/``form_of_address``; read defensively, so an older
customer record simply falls back to deriving them from the name).
"""

from __future__ import annotations

from datetime import datetime

from bot.calendar import sla
from bot.outgoing.templates import TemplateContext
from bot.process.settings import Settings
from bot.process.template_names import TemplateName
from bot.process.views import TicketView

# Messages that state when the case will be closed if the customer does not answer.
_STATES_CLOSING_DAY = (TemplateName.CONFORMITY_REQUEST, TemplateName.CUSTOMER_REMINDER)


def promised_day(deadline: datetime | None, settings: Settings,
                 now: datetime) -> datetime | None:
    """The instant whose business date we promise: ``deadline`` itself when the business
    is open then, else the next opening (never a Saturday or a holiday). A deadline
    already missed is not promised again (the text says "a la brevedad" or nothing)."""
    if deadline is None or deadline <= now:
        return None
    return sla.calendar_for(settings).next_open(deadline)


def closing_day(view: TicketView, settings: Settings, now: datetime) -> datetime | None:
    """When an unanswered conformity request closes the case (``None``: it never does)."""
    days = settings.conformity_tacit_business_days
    if not days:
        return None
    return sla.add_business_days(view.conformity_requested_at or now, days, settings)


def build_context(view: TicketView, template: TemplateName | None, agent: str, detalle: str,
                  settings: Settings, now: datetime, *,
                  closed_without_answer: bool = False) -> TemplateContext:
    """The template context of ``view`` for ``template``, signed by ``agent``."""
    customer = view.customer
    closing = closing_day(view, settings, now) if template in _STATES_CLOSING_DAY else None
    return TemplateContext(
        numero=view.number, cliente=customer.name, tipo=view.tipo, asunto=view.subject,
        # "dentro de las próximas 24 horas" only while that is still true
        plazo_primera_respuesta=view.first_response_due
        if view.first_response_due > now else None,
        plazo_resolucion=promised_day(view.resolution_due, settings, now), agente=agent,
        empresa=settings.company_name, detalle=detalle.strip(),
        plazo_conformidad=closing,
        # The first name the team typed; otherwise the greeting reads it from the name
        # itself (and, when unsure, greets without one).
        cliente_nombre_pila=None if customer.first_name_derived else (
            customer.first_name or None),
        cliente_trato=customer.form_of_address or None,
        horas_primera_respuesta=settings.first_response_hours,
        cerrado_sin_respuesta=closed_without_answer,
    )
