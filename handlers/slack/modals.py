"""Modals: reply (template, preview, editable text), note, discard reason, new ticket.

Opening a modal happens within the click's 3 seconds (``trigger_id``); a submission is
acknowledged first (the modal closes) and then turned into one service call, whose
refusal is told privately. ``private_metadata`` carries the ticket and the channel.
"""

from __future__ import annotations

import json
from typing import Any

from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.errors import StaleAction
from bot.process.template_names import TEMPLATE_TITLES, TemplateName
from bot.process.views import Actor
from handlers.slack.blocks import option
from handlers.slack.context import SlackContext
from handlers.slack.mrkdwn import escape, literal, plain
from handlers.slack.payload import parsing

REPLY, NOTE, DISCARD, NEW = "atiende_reply", "atiende_note", "atiende_discard", "atiende_new"
TEMPLATE_SELECT = "atiende_modal_tpl"
FREE_TEXT = "_libre"
View = dict[str, Any]


def _t(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def modal_view(callback_id: str, title: str, blocks: list[dict[str, Any]], meta: dict[str, Any],
           submit: str = "Enviar") -> View:
    return {"type": "modal", "callback_id": callback_id, "title": _t(title[:24]),
            "submit": _t(submit), "close": _t("Cancelar"), "blocks": blocks,
            "private_metadata": json.dumps(meta)}


def input_block(block_id: str, label: str, *, multiline: bool = False, initial: str = "",
           optional: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value",
                               "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:3000]
    return {"type": "input", "block_id": block_id, "label": _t(label), "element": element,
            "optional": optional}


def _select(block_id: str, label: str, options: list[tuple[str, str]],
            initial: str | None = None, optional: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "action_id": "value",
                               "options": [option(lab, val) for lab, val in options]}
    if initial is not None:
        element["initial_option"] = option(dict((v, k) for k, v in options)[initial], initial)
    return {"type": "input", "block_id": block_id, "label": _t(label), "element": element,
            "optional": optional}


def values(view: View) -> dict[str, str]:
    """``{block_id: value}`` from a submitted view's state (selects give their value)."""
    found: dict[str, str] = {}
    with parsing("view state"):
        for block_id, actions in (view.get("state") or {}).get("values", {}).items():
            for state in actions.values():
                picked = state.get("selected_option") or {}
                found[block_id] = str(picked.get("value") or state.get("value") or "")
    return found


def meta(view: View) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- reply -------------------------------------------------------------------------------
async def reply_view(ctx: SlackContext, actor: Actor, number: int, channel: str | None,
                     template: str | None = None, version: int | None = None) -> View:
    """Templates for this type; the preview of ``template``; editable unless the
    WhatsApp window is closed (then the notice, and only approved templates). A button
    on an older card (``version``) redraws it instead of opening."""
    t = ctx.services.replies
    ticket = await ctx.services.queries.get(number)
    if version is not None and ticket.version != version:
        raise StaleAction(number)
    names = t.templates_for(ticket)
    first = await t.draft(actor, number, names[0])
    if not first.free_text_allowed:
        approved = ctx.services.settings.whatsapp_templates
        names = [n for n in names if n.value in approved] or names
    options = [(TEMPLATE_TITLES[n], n.value) for n in names]
    if first.free_text_allowed:
        options.append(("Texto libre", FREE_TEXT))
    chosen = template if template in {v for _, v in options} else options[0][1]
    blocks: list[dict[str, Any]] = [{"type": "context", "elements": [{
        "type": "mrkdwn", "text": f"*#{number}* · {literal(ticket.customer.display)} · "
                                  f"{escape(first.channel.label)} → {escape(first.recipient)}"}]}]
    if first.notice:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "⚠️ " + escape(first.notice)}})
    selector = _select("tpl", "Plantilla", options, chosen)
    selector["dispatch_action"] = True  # picking a template redraws the preview
    selector["element"]["action_id"] = TEMPLATE_SELECT
    blocks.append(selector)
    preview = ""
    if chosen != FREE_TEXT:
        d = await t.draft(actor, number, TemplateName(chosen))
        preview = d.message.whatsapp if d.channel is Canal.WHATSAPP else d.message.text
    if first.free_text_allowed:
        # the block_id changes with the template, or Slack would keep the old text
        blocks.append(input_block(f"text:{chosen}", "Mensaje (puede editarlo)", multiline=True,
                             initial=preview))
    else:
        blocks.append({"type": "section", "text": _t(plain(preview, 2900))})
    return modal_view(REPLY, f"Responder #{number}", blocks,
                  {"n": number, "c": channel, "t": chosen})


async def submit_reply(ctx: SlackContext, actor: Actor, view: View) -> str:
    m, state = meta(view), values(view)
    with parsing("reply modal"):
        number, chosen = int(m["n"]), state.get("tpl") or m.get("t") or FREE_TEXT
        template = None if chosen == FREE_TEXT else TemplateName(chosen)
    text = next((v for k, v in state.items() if k.startswith("text:")), "")
    if template is not None and text:
        d = await ctx.services.replies.draft(actor, number, template)
        preview = d.message.whatsapp if d.channel is Canal.WHATSAPP else d.message.text
        if text.strip() == preview.strip():
            text = ""  # unedited: send the template itself (its HTML email too)
    await ctx.services.tickets.reply(actor, number, template=template, text=text)
    return f"Respuesta al cliente del ticket #{number} en cola de envío."


# --- note, discard, new ---------------------------------------------------------------
def note_view(number: int, channel: str | None) -> View:
    return modal_view(NOTE, f"Nota #{number}", [
        input_block("nota", "Nota interna (el cliente no la ve)", multiline=True)],
        {"n": number, "c": channel}, submit="Guardar")


def discard_view(number: int, channel: str | None, version: int | None = None) -> View:
    """The version of the card travels to the submission: the core refuses a stale one."""
    return modal_view(DISCARD, f"Descartar #{number}", [
        input_block("motivo", "Motivo (spam, duplicado, …)", multiline=True)],
        {"n": number, "c": channel, "v": version}, submit="Descartar")


CHANNELS = [Canal.PHONE, Canal.EMAIL, Canal.WHATSAPP, Canal.SLACK, Canal.TELEGRAM, Canal.OTHER]


def new_ticket_view(channel: str | None) -> View:
    return modal_view(NEW, "Nuevo ticket", [
        input_block("contacto", "Correo o teléfono del cliente"),
        input_block("nombre", "Nombre del cliente", optional=True),
        _select("canal", "Canal", [(c.label, c.value) for c in CHANNELS], Canal.PHONE.value),
        input_block("descripcion", "Descripción", multiline=True),
        _select("tipo", "Tipo_Incidencia", [(t.value, t.value) for t in TipoIncidencia],
                optional=True),
        _select("prioridad", "Prioridad", [(p.value, p.value) for p in Prioridad],
                optional=True),
    ], {"c": channel}, submit="Crear")


async def submit_new(ctx: SlackContext, actor: Actor, view: View) -> str:
    v = values(view)
    contact = v.get("contacto", "").strip()
    email, phone = (contact, None) if "@" in contact else (None, contact)
    with parsing("new ticket modal"):
        canal = Canal(v.get("canal") or Canal.PHONE)
        tipo = TipoIncidencia(v["tipo"]) if v.get("tipo") else None
        prioridad = Prioridad(v["prioridad"]) if v.get("prioridad") else None
    customer = await ctx.services.customers.find_or_create(email=email, phone=phone,
                                                           name=v.get("nombre", ""))
    ticket = await ctx.services.tickets.open(
        actor, customer_id=customer.id, channel=canal, description=v.get("descripcion", ""),
        tipo=tipo, prioridad=prioridad)
    return f"Ticket #{ticket.number} creado."


async def submit_note(ctx: SlackContext, actor: Actor, view: View) -> str:
    with parsing("note modal"):
        number = int(meta(view)["n"])
    await ctx.services.tickets.note(actor, number, values(view).get("nota", ""))
    return f"Nota guardada en el ticket #{number}."


async def submit_discard(ctx: SlackContext, actor: Actor, view: View) -> str:
    with parsing("discard modal"):
        m = meta(view)
        number = int(m["n"])
        version = int(m["v"]) if m.get("v") is not None else None
    await ctx.services.tickets.discard(actor, number, values(view).get("motivo", ""),
                                       expected_version=version)
    return f"Ticket #{number} descartado."


SUBMITS = {REPLY: submit_reply, NOTE: submit_note, DISCARD: submit_discard, NEW: submit_new}


async def open_for(ctx: SlackContext, kind: str, trigger_id: str, actor: Actor, number: int,
                   channel: str | None, version: int | None = None) -> None:
    """The modal behind a card button (``kind``: responder, nota, descartar)."""
    if kind == "responder":
        view = await reply_view(ctx, actor, number, channel, version=version)
    elif kind == "nota":
        view = note_view(number, channel)  # a note is welcome on any version
    else:
        view = discard_view(number, channel, version)
    await ctx.client.views_open(trigger_id=trigger_id, view=view)
