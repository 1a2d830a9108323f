"""``atiende customers merge A B``: join two customers who are the same person.

The command acts as a team member (``--por``, by default the active administrator) so
the tickets' history says who merged; it prints what it will do and what it did.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands import Command
from bot.errors import DomainError
from bot.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    group = sub.add_parser("customers", help="clientes").add_subparsers(
        dest="customers_command", required=True)
    merge = group.add_parser(
        "merge", help="une el cliente B al A (la misma persona por correo y por WhatsApp): "
                      "los tickets de B pasan a A con su mismo número")
    merge.add_argument("keep", metavar="A", help="cliente que se conserva: número, correo, "
                                                 "teléfono o RUT")
    merge.add_argument("drop", metavar="B", help="cliente que desaparece dentro de A")
    merge.add_argument("--por", dest="by", help="miembro del equipo que fusiona (id, correo "
                                                "o nombre; por defecto, el administrador)")
    return {"customers": cmd_customers}


async def cmd_customers(args: argparse.Namespace, settings: Settings) -> int:
    from bot.customer_text import merge_summary
    from bot.services import build_services
    from bot.views import Actor
    from db.connection import database

    async with database(settings.effective_database_url):
        services = build_services(settings)
        member = await (services.team.find(args.by) if args.by else services.team.admin())
        if member is None:
            raise DomainError("No hay un administrador activo: indique quién fusiona con --por.")
        keep = await services.customers.find(args.keep)
        drop = await services.customers.find(args.drop)
        if keep.id == drop.id:
            raise DomainError("A y B son el mismo cliente: no hay nada que fusionar.")
        moved = await services.customers.ticket_count(drop.id)
        print(merge_summary(keep, drop, moved).replace(" No se puede deshacer.", "")
              .replace("¿Fusionar estos clientes?", "Fusión de clientes:"))
        kept = await services.customers.merge(keep.id, drop.id, Actor.of(member))
        print(f"✓ Clientes fusionados por {member.name}: queda {kept.display} "
              f"(cliente {kept.id}).")
    return 0
