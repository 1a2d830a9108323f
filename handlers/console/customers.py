"""Customer commands of the console: ``/cliente`` (data and tickets),
``/cliente_editar CLIENTE CAMPO VALOR`` and ``/fusionar A B`` (asks before merging)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.people.customer_text import (
    EDIT_USAGE,
    FIELD_LABELS,
    customer_plain,
    merge_summary,
    parse_edit,
    parse_merge,
)
from bot.process.errors import InvalidInput
from handlers.console import render

if TYPE_CHECKING:
    from handlers.console.console import Console


async def show(console: Console, args: list[str]) -> None:
    if not args:
        raise InvalidInput("Uso: /cliente número|correo|teléfono|RUT")
    s = console.s
    c = await s.customers.find(" ".join(args))
    tickets = await s.queries.for_customer(c.id)
    now = s.clock.now()
    console.write(customer_plain(c) + "\n"
                  + ("\n".join(render.row(t, now, s.settings) for t in tickets)
                     or "Sin tickets."))


async def edit(console: Console, args: list[str]) -> None:
    if not args:
        raise InvalidInput(EDIT_USAGE)
    ref, values = parse_edit(args)
    c = await console.s.customers.find(ref)
    c = await console.s.customers.update(console.actor, c.id, **values)
    (field,) = values
    console.write(f"✓ {FIELD_LABELS[field]} actualizado.\n{customer_plain(c)}")


async def merge(console: Console, args: list[str]) -> None:
    a, b = parse_merge(args)
    s = console.s
    keep, drop = await s.customers.find(a), await s.customers.find(b)
    if keep.id == drop.id:
        raise InvalidInput("A y B son el mismo cliente: no hay nada que fusionar.")
    summary = merge_summary(keep, drop, await s.customers.ticket_count(drop.id))
    if not await console.choose(summary, [("Fusionar", True), ("Cancelar", False)]):
        console.write("Cancelado. No se cambió nada.")
        return
    kept = await s.customers.merge(keep.id, drop.id, console.actor)
    console.write(f"✓ Clientes fusionados: queda {kept.display} (cliente {kept.id}).")
