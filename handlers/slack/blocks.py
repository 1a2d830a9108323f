"""Block Kit for a ticket: the channel card, and the parsing of its action values.

The card's *content* comes from ``bot.chats.cards.ticket_card`` (shared by every chat); this
module only lays it out and escapes it. Every interactive element carries the ticket
number and the version it was drawn at (``"12:7"``), so a click on an old card is
recognised (``StaleAction``) instead of acting on a state nobody saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.chats.cards import ACCEPT_LABEL, SUGGESTED, suggestion_pending, ticket_card
from bot.process.domain import Prioridad, Rol, TipoIncidencia
from bot.process.settings import Settings
from bot.process.views import Actor, MemberView, TicketView
from bot.tickets.lifecycle import Action, allowed_actions
from handlers.slack.mrkdwn import escape, literal, plain

Block = dict[str, Any]

# action_id prefixes; every one starts with ACTION_PREFIX so the router finds them.
ACTION_PREFIX = "atiende_"
TIPO, PRIORIDAD, ASSIGN = "atiende_tipo", "atiende_prioridad", "atiende_asignar"
BUTTONS: dict[Action, tuple[str, str, str | None]] = {
    # action: (action_id, label, style)
    Action.REPLY: ("atiende_responder", "Responder", "primary"),
    Action.NOTE: ("atiende_nota", "Nota", None),
    Action.PROPOSE: ("atiende_proponer", "Proponer solución", None),
    Action.CONFIRM: ("atiende_conforme", "Cliente conforme", "primary"),
    Action.REOPEN: ("atiende_reabrir", "Reabrir", None),
    Action.DISCARD: ("atiende_descartar", "Descartar", "danger"),
}
REJECT_ID = "atiende_rechazar"
ACCEPT_ID = "atiende_aceptar_sugerencia"  # triage: the suggestion, one click
CASE_FILE_ID = "atiende_expediente"  # the case file, uploaded to the card's thread
# Buttons that change the ticket at once get Slack's "are you sure?" dialog.
_CONFIRMS = {
    Action.PROPOSE: "Se enviará al cliente la solicitud de conformidad.",
    Action.CONFIRM: "Se registrará la conformidad del cliente y el ticket quedará Resuelto.",
    Action.REOPEN: "El ticket vuelve a En proceso.",
}

# The channel card is one message seen by everyone: it shows every action legal in the
# ticket's Estado (as the administrator would see it); the core refuses on click what
# the clicking person's role may not do, and we tell them why.
_CHANNEL_VIEWER = Actor.of(MemberView(id=0, name="canal", role=Rol.ADMIN))


def ref(ticket: TicketView) -> str:
    return f"{ticket.number}:{ticket.version}"


def parse_ref(value: str | None) -> tuple[int, int | None]:
    """``"12:7"`` -> (12, 7); ``"12"`` -> (12, None); ValueError on anything else."""
    number, _, version = (value or "").partition(":")
    return int(number), (int(version) if version else None)


def _text(value: str, kind: str = "plain_text") -> dict[str, Any]:
    obj: dict[str, Any] = {"type": kind, "text": value}
    if kind == "plain_text":
        obj["emoji"] = True
    return obj


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(plain(label, 75)), "value": value}


def static_select(action_id: str, placeholder: str, options: list[tuple[str, str]],
                  initial: str | None = None) -> Block:
    element: Block = {"type": "static_select", "action_id": action_id,
                      "placeholder": _text(placeholder),
                      "options": [option(label, value) for label, value in options]}
    if initial is not None:
        element["initial_option"] = next(o for o in element["options"]
                                         if o["value"] == initial)
    return element


def button(action_id: str, label: str, value: str, style: str | None = None,
           confirm: str | None = None) -> Block:
    element: Block = {"type": "button", "action_id": action_id, "text": _text(label),
                      "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = {"title": _text("¿Confirmar?"), "text": _text(confirm),
                              "confirm": _text("Sí"), "deny": _text("Cancelar")}
    return element


def ticket_blocks(ticket: TicketView, now: datetime, settings: Settings,
                  message: str = "") -> list[Block]:
    """The whole card: header, fields with time left, the customer's words, actions."""
    card = ticket_card(ticket, now, settings, message)
    flag = "🔴 " if card.overdue else ""
    fields = [_text(f"*{escape(label)}*\n{literal(value)}", "mrkdwn")
              for label, value in card.fields]
    blocks: list[Block] = [
        {"type": "header", "text": _text(plain(flag + card.title))},
        {"type": "section", "fields": fields[:10]},
    ]
    if len(fields) > 10:  # Slack allows ten fields per section
        blocks.append({"type": "section", "fields": fields[10:]})
    # plain_text: the customer's words are never parsed (no mentions, no formatting)
    blocks.append({"type": "section", "text": _text(plain(card.message, 2900))})
    blocks.extend(action_blocks(ticket))
    return blocks


def action_blocks(ticket: TicketView) -> list[Block]:
    actions = allowed_actions(ticket, _CHANNEL_VIEWER)
    value = ref(ticket)
    selects: list[Block] = []
    if Action.CLASSIFY in actions:
        # a suggestion shows pre-selected, its label marked "(sugerido)"
        tipo = ticket.tipo or ticket.suggested_tipo
        prio = ticket.prioridad or ticket.suggested_prioridad
        selects.append(static_select(TIPO, "Tipo_Incidencia",
                                     [(_label(t, ticket.suggested_tipo), t.value)
                                      for t in TipoIncidencia],
                                     tipo.value if tipo else None))
        selects.append(static_select(PRIORIDAD, "Prioridad",
                                     [(_label(p, ticket.suggested_prioridad), p.value)
                                      for p in Prioridad],
                                     prio.value if prio else None))
    if Action.ASSIGN in actions:
        assign: Block = {"type": "users_select", "action_id": ASSIGN,
                         "placeholder": _text("Asignar a…")}
        if ticket.assignee and ticket.assignee.slack_user_id:
            assign["initial_user"] = ticket.assignee.slack_user_id
        selects.append(assign)
    buttons = [button(BUTTONS[a][0], BUTTONS[a][1], value, BUTTONS[a][2], _CONFIRMS.get(a))
               for a in actions if a in BUTTONS]
    if Action.CLASSIFY in actions and suggestion_pending(ticket):
        buttons.insert(0, button(ACCEPT_ID, ACCEPT_LABEL, value, "primary"))
    buttons.append(button(CASE_FILE_ID, "Expediente", value))  # read-only: in every Estado
    blocks: list[Block] = []
    # selects carry no value of their own: the ticket ref lives in the block_id
    if selects:
        blocks.append({"type": "actions", "block_id": f"atiende_sel:{value}",
                       "elements": selects})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"atiende_btn:{value}",
                       "elements": buttons})
    return blocks


def _label(option: TipoIncidencia | Prioridad, suggested: object) -> str:
    return f"{option.value} ({SUGGESTED})" if option is suggested else option.value


def conformity_buttons(ticket: TicketView) -> Block:
    """Under a customer's message on a ticket waiting for conformity."""
    value = ref(ticket)
    return {"type": "actions", "block_id": f"atiende_conf:{value}", "elements": [
        button(BUTTONS[Action.CONFIRM][0], "Cliente conforme", value, "primary"),
        button(REJECT_ID, "Sigue pendiente", value)]}


def fallback_text(ticket: TicketView) -> str:
    """The notification text of a card (mrkdwn: escaped)."""
    return escape(f"#{ticket.number} · {ticket.estado.value} · {ticket.customer.display}: "
                  f"{ticket.subject}")
