"""The console's customer commands: /cliente, /cliente_editar (members only, recorded)
and /fusionar with its confirmation."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.services import Services
from handlers.console import Console
from tests.conftest import Team


async def drive(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.feed(line)
    console.feed(None)
    await asyncio.wait_for(console.run(), 10)


async def two_customers(services: Services) -> tuple[int, int, int]:
    a = await services.intake.receive(IncomingMessage(
        Canal.EMAIL, "Hola", "<c1@example.cl>", email="ana@example.cl", name="Ana Pérez"))
    b = await services.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "Hola de nuevo", "wamid.c1", phone="56912345678", name="Anita"))
    assert a.ticket and b.ticket
    return a.ticket.customer.id, b.ticket.customer.id, b.ticket.number


async def test_edit_and_lookup(services: Services, team: Team) -> None:
    keep, _, _ = await two_customers(services)
    out: list[str] = []
    await drive(Console(services, team.carla, out.append), [
        f"/cliente_editar {keep} rut 12.345.678-5",
        f'/cliente_editar {keep} pila "Ana María"',
        f"/cliente_editar {keep} rut 11.111.111-2",
        f"/cliente_editar {keep} correo -",
        "/cliente 123456785",
    ])
    text = "\n".join(out)
    assert "✓ RUT actualizado." in text and "✓ Nombre de pila actualizado." in text
    assert "✗ El RUT «11.111.111-2» no es válido" in text
    assert "✗ El cliente debe conservar un correo o un teléfono" in text
    assert "RUT: 12.345.678-5\n" in text and "Nombre de pila: Ana María\n" in text
    c = await services.customers.get(keep)
    assert (c.rut, c.first_name, c.email) == ("12345678-5", "Ana María", "ana@example.cl")
    assert {x.author_name for x in await services.customers.changes(keep)} == {"Carla"}


async def test_a_former_member_cannot_edit_or_merge(services: Services, team: Team) -> None:
    keep, drop, moved = await two_customers(services)
    out: list[str] = []
    former = replace(team.diego, active=False)
    await drive(Console(services, former, out.append), [
        f"/cliente_editar {keep} nombre Otro", f"/fusionar {keep} {drop}", "1"])
    text = "\n".join(out)
    assert "✗ Solo los miembros del equipo pueden editar clientes." in text
    assert "✗ Solo los miembros del equipo pueden fusionar clientes." in text
    assert (await services.customers.get(keep)).name == "Ana Pérez"
    assert (await services.queries.get(moved)).customer.id == drop


async def test_merge_asks_first(services: Services, team: Team) -> None:
    keep, drop, moved = await two_customers(services)
    out: list[str] = []
    await drive(Console(services, team.carla, out.append), [
        f"/fusionar {keep} {drop}", "2",           # cancelled
        f"/fusionar {keep} {keep}",
        f"/fusionar {keep} +56912345678", "1",     # confirmed
    ])
    text = "\n".join(out)
    assert "¿Fusionar estos clientes?" in text and "Cancelado. No se cambió nada." in text
    assert "✗ A y B son el mismo cliente" in text
    assert f"✓ Clientes fusionados: queda Ana Pérez (cliente {keep})." in text
    t = await services.queries.get(moved)
    assert t.customer.id == keep and t.customer.phone == "+56912345678"
