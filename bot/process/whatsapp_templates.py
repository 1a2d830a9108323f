"""Our messages as WhatsApp approved templates, for outside the 24-hour window.

Outside the window WhatsApp only delivers a template that Meta approved beforehand,
whose body has numbered parameters ``{{1}}``, ``{{2}}``, ... ``ATIENDE_WHATSAPP_TEMPLATES``
maps each of our messages to one approved template and says which of our values fill
its parameters, in order::

    {"solicitud_conformidad": "atiende_conformidad_v2",
     "cierre": {"name": "atiende_cierre_v2", "params": ["saludo", "numero", "firma"]}}

A bare name uses ``DEFAULT_PARAMS`` for that message (the bodies to register are in
annex ANX-COM-001, section 3.2). A closure without the customer's answer says something
else than a confirmed one, so it has its own key, ``cierre_sin_respuesta``. The
conformity request's approved template must carry two quick-reply buttons (Sí / No):
the sender fills their payloads with the ticket number, so a tap works outside the
window too. Pure module: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.process.template_names import TemplateName

CLOSURE_WITHOUT_ANSWER = "cierre_sin_respuesta"

# What a parameter may be: our template variables, formatted for one line.
PARAMETERS: frozenset[str] = frozenset({
    "saludo",  # "Hola, Ana." / "Hola."
    "cliente",  # the customer's name as recorded ("cliente" when unknown)
    "numero",
    "tipo_nombre",  # "reclamo", "consulta", "sugerencia", "solicitud"
    "asunto",
    "horas_primera_respuesta",  # "24"
    "plazo_resolucion",  # "jueves 3 de diciembre"
    "plazo_conformidad",  # the business day an unanswered request is closed
    "detalle",
    "agente",
    "empresa",
    "firma",  # "Carla · Atención al Cliente de Comercial Andes SpA"
})

DEFAULT_PARAMS: dict[str, tuple[str, ...]] = {
    TemplateName.ACKNOWLEDGEMENT.value: ("saludo", "tipo_nombre", "numero",
                                         "horas_primera_respuesta", "firma"),
    TemplateName.INFO_REQUEST.value: ("saludo", "tipo_nombre", "numero", "detalle", "firma"),
    TemplateName.STATUS_UPDATE.value: ("saludo", "tipo_nombre", "numero", "detalle",
                                       "plazo_resolucion", "firma"),
    TemplateName.PROPOSED_RESOLUTION.value: ("saludo", "tipo_nombre", "numero", "detalle",
                                             "firma"),
    TemplateName.CONFORMITY_REQUEST.value: ("saludo", "tipo_nombre", "numero", "detalle",
                                            "plazo_conformidad", "firma"),
    TemplateName.CLOSURE.value: ("saludo", "tipo_nombre", "numero", "firma"),
    CLOSURE_WITHOUT_ANSWER: ("saludo", "tipo_nombre", "numero", "firma"),
    TemplateName.CUSTOMER_REMINDER.value: ("saludo", "tipo_nombre", "numero", "firma"),
    TemplateName.REJECTION.value: ("saludo", "tipo_nombre", "numero", "detalle", "firma"),
    TemplateName.REFERRAL.value: ("saludo", "tipo_nombre", "numero", "detalle", "firma"),
}
KEYS = frozenset(DEFAULT_PARAMS)


@dataclass(frozen=True)
class ApprovedTemplate:
    name: str  # as approved in Meta
    params: tuple[str, ...]  # our values for {{1}}, {{2}}, ...


def parse_entry(key: str, value: Any) -> ApprovedTemplate:
    """One setting entry; ``ValueError`` naming what is wrong (the setting fails loudly)."""
    if key not in KEYS:
        raise ValueError(f"«{key}» no es un mensaje del anexo ({', '.join(sorted(KEYS))})")
    if isinstance(value, str) and value.strip():
        return ApprovedTemplate(value.strip(), DEFAULT_PARAMS[key])
    if isinstance(value, Mapping) and isinstance(value.get("name"), str) and value["name"]:
        params = value.get("params", DEFAULT_PARAMS[key])
        if not isinstance(params, list | tuple) or not all(isinstance(p, str) for p in params):
            raise ValueError(f"{key}: «params» debe ser una lista de nombres")
        unknown = sorted(set(params) - PARAMETERS)
        if unknown:
            raise ValueError(f"{key}: parámetros desconocidos {unknown}; "
                             f"válidos: {', '.join(sorted(PARAMETERS))}")
        return ApprovedTemplate(value["name"], tuple(params))
    raise ValueError(f"{key}: indique el nombre de la plantilla aprobada, o "
                     '{"name": ..., "params": [...]}')


def check_mapping(mapping: Mapping[str, Any]) -> None:
    """Validate the whole setting at start-up."""
    for key, value in mapping.items():
        parse_entry(key, value)


def approved_template(mapping: Mapping[str, Any], template: TemplateName | None,
                      closed_without_answer: bool = False) -> ApprovedTemplate | None:
    """The approved template for one of our messages, or ``None`` if none is mapped."""
    if template is None:
        return None
    key = template.value
    if template is TemplateName.CLOSURE and closed_without_answer:
        key = CLOSURE_WITHOUT_ANSWER
    value = mapping.get(key)
    return parse_entry(key, value) if value else None
