"""Customers from Slack: ``/ticket cliente X`` (the data, the tickets and an "Editar"
button that opens a modal), ``/ticket fusionar A B`` (a summary and a "Fusionar"
button). Every click and submission checks who is asking; customer strings are shown
with ``literal`` (no mentions, no formatting)."""

from __future__ import annotations

from typing import Any

from bot.people.customer_text import customer_fields, merge_summary, parse_merge
from bot.process.errors import DomainError, InvalidInput
from bot.process.views import Actor, CustomerView
from handlers.slack import home, identity
from handlers.slack.actions import Ack
from handlers.slack.context import SlackContext
from handlers.slack.modals import input_block, meta, modal_view, values
from handlers.slack.mrkdwn import escape, literal
from handlers.slack.payload import parsing

EDIT_BUTTON = "atiende_cliente_editar"  # value: the customer's id
MERGE_BUTTON = "atiende_fusionar"  # value: "<kept id>:<merged id>"
MERGE_CANCEL = "atiende_fusionar_no"  # nothing to do: the catch-all acks it
EDIT_MODAL = "atiende_cliente"
Blocks = list[dict[str, Any]]
# modal block -> CustomerService.update field (the labels are what people read)
MODAL_FIELDS = (("nombre", "name", "Nombre"), ("pila", "first_name", "Nombre de pila"),
                ("tratamiento", "form_of_address", "Tratamiento (Sr., Sra., …)"),
                ("rut", "rut", "RUT"), ("correo", "email", "Correo"),
                ("telefono", "phone", "Teléfono"), ("empresa", "company", "Empresa"),
                ("notas", "notes", "Notas"))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": text},
              "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


async def lookup_blocks(ctx: SlackContext, ref: str) -> Blocks:
    """``/ticket cliente X``: the fields, an Editar button and the customer's tickets."""
    c = await ctx.services.customers.find(ref)
    lines = [f"*{escape(label)}:* {literal(value[:500])}" for label, value in customer_fields(c)]
    blocks: Blocks = [_section(f"👤 *{literal(c.display)}*\n" + "\n".join(lines)),
                      {"type": "actions", "elements": [
                          _button("✏️ Editar cliente", EDIT_BUTTON, str(c.id))]}]
    tickets = await ctx.services.queries.for_customer(c.id, limit=15)
    blocks += [home.ticket_line(ctx, t) for t in tickets] or [_section("No tiene tickets.")]
    return blocks


async def merge_blocks(ctx: SlackContext, words: list[str]) -> Blocks:
    """``/ticket fusionar A B``: what will happen, to confirm with a click."""
    a, b = parse_merge(words)
    keep = await ctx.services.customers.find(a)
    drop = await ctx.services.customers.find(b)
    if keep.id == drop.id:
        raise InvalidInput("A y B son el mismo cliente: no hay nada que fusionar.")
    summary = merge_summary(keep, drop, await ctx.services.customers.ticket_count(drop.id))
    return [_section(literal(summary)), {"type": "actions", "elements": [
        _button("🔗 Fusionar", MERGE_BUTTON, f"{keep.id}:{drop.id}", "danger"),
        _button("Cancelar", MERGE_CANCEL, "-")]}]


def edit_view(c: CustomerView, channel: str | None) -> dict[str, Any]:
    initial = {"name": c.name, "first_name": "" if c.first_name_derived else c.first_name,
               "form_of_address": c.form_of_address, "rut": c.rut_display,
               "email": c.email or "", "phone": c.phone or "", "company": c.company,
               "notes": c.notes}
    blocks = [input_block(block, label, multiline=field == "notes", initial=initial[field],
                     optional=True) for block, field, label in MODAL_FIELDS]
    blocks.insert(2, {"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Nombre de pila vacío: se toma la primera palabra del nombre.")}]})
    return modal_view(EDIT_MODAL, f"Cliente {c.id}", blocks, {"id": c.id, "c": channel},
                  submit="Guardar")


async def submit_edit(ctx: SlackContext, actor: Actor, view: dict[str, Any]) -> str:
    """The edit modal was sent: every field as typed ("" clears it), recorded by the core."""
    state = values(view)
    changes = {field: state[block] for block, field, _ in MODAL_FIELDS if block in state}
    with parsing("customer modal"):
        customer_id = int(meta(view)["id"])
    c = await ctx.services.customers.update(actor, customer_id, **changes)
    return f"Cliente {c.id} ({c.display}) guardado."


class CustomerActions:
    """The two buttons of the ephemeral answers above."""

    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def edit(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """✏️ Editar cliente: the modal, opened within the click's 3 seconds."""
        await ack()
        with parsing("customer button"):
            user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
            customer_id, trigger_id = int(action["value"]), str(body["trigger_id"])
        if await identity.require(self.ctx, user, channel) is None:
            return
        try:
            c = await self.ctx.services.customers.get(customer_id)
        except DomainError as exc:
            await self.ctx.tell(user, escape(str(exc)), channel)
            return
        await self.ctx.client.views_open(trigger_id=trigger_id,
                                         view=edit_view(c, channel))

    async def merge(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """🔗 Fusionar: the merge, told privately (the cards redraw from the events)."""
        await ack()
        with parsing("merge button"):
            user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
            keep, _, drop = str(action["value"]).partition(":")
            keep_id, drop_id = int(keep), int(drop)
        actor = await identity.require(self.ctx, user, channel)
        if actor is None:
            return
        try:
            kept = await self.ctx.services.customers.merge(keep_id, drop_id, actor)
        except DomainError as exc:
            await self.ctx.tell(user, escape(str(exc)), channel)
            return
        await self.ctx.tell(user, f"✓ Clientes fusionados: queda {literal(kept.display)} "
                                  f"(cliente {kept.id}).", channel)


SUBMITS = {EDIT_MODAL: submit_edit}
