"""Customers from Telegram: ``/cliente`` (the data and the tickets), ``/cliente_editar``
and ``/fusionar`` (with a confirmation button). The access guard lets only active team
members reach these; every customer string is escaped for HTML."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.people.customer_text import (
    EDIT_USAGE,
    FIELD_LABELS,
    customer_fields,
    merge_summary,
    parse_edit,
    parse_merge,
)
from bot.process.errors import InvalidInput
from bot.process.views import CustomerView
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc
from handlers.telegram.common import Desk, DeskContext, reply_rows, said
from handlers.telegram.tap import Route, Tap


def customer_html(c: CustomerView) -> str:
    lines = [f"👤 <b>{esc(c.display)}</b>"]
    lines += [f"<b>{esc(label)}:</b> {esc(value)}" for label, value in customer_fields(c)
              if label != "Notas"]
    if c.notes:
        lines.append(f"<b>Notas:</b> {esc(c.notes[:500])}")
    return "\n".join(lines)


class Customers:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.s = desk.s

    def routes(self) -> dict[str, Route]:
        return {cb.MERGE: self.merge_confirmed}

    async def show(self, update: Update, context: DeskContext) -> None:
        """/cliente número|correo|teléfono|RUT: the customer's data and tickets."""
        ref = " ".join(context.args or []).strip()
        if not ref:
            raise InvalidInput("Uso: /cliente número, correo, teléfono o RUT")
        c = await self.s.customers.find(ref)
        found = await self.s.queries.for_customer(c.id)
        await reply_rows(update, customer_html(c), found, self.desk.now(),
                         empty="No tiene tickets.")

    async def edit(self, update: Update, context: DeskContext) -> None:
        """/cliente_editar CLIENTE CAMPO VALOR: one field, recorded with who and old -> new."""
        if not context.args:
            raise InvalidInput(EDIT_USAGE)
        ref, values = parse_edit(list(context.args))
        c = await self.s.customers.find(ref)
        c = await self.s.customers.update(context.actor, c.id, **values)
        (field,) = values
        await said(update).reply_text(
            f"✓ {esc(FIELD_LABELS[field])} actualizado.\n\n{customer_html(c)}")

    async def merge(self, update: Update, context: DeskContext) -> None:
        """/fusionar A B: what will happen, and a button to confirm it."""
        a, b = parse_merge(list(context.args or []))
        keep, drop = await self.s.customers.find(a), await self.s.customers.find(b)
        if keep.id == drop.id:
            raise InvalidInput("A y B son el mismo cliente: no hay nada que fusionar.")
        moved = await self.s.customers.ticket_count(drop.id)
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton("🔗 Fusionar", callback_data=cb.encode(cb.MERGE, keep.id, 0,
                                                                        drop.id)),
            InlineKeyboardButton("Cancelar", callback_data=cb.encode(cb.CLOSE))]])
        await said(update).reply_text(
            esc(merge_summary(keep, drop, moved)), reply_markup=markup)

    async def merge_confirmed(self, tap: Tap, context: DeskContext) -> None:
        """🔗 Fusionar: the merge itself (the confirmation turns into its result)."""
        press = tap.press
        if not press.arg.isdigit():
            raise InvalidInput("Este botón ya no está disponible.")
        kept = await self.s.customers.merge(press.number, int(press.arg), tap.actor)
        await tap.done(f"✓ Clientes fusionados: queda {kept.display} (cliente {kept.id}).")
