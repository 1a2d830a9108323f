"""``atiende customers``: one person across channels, and their data requests.

``merge A B`` joins two customers who are the same person (it acts as a team member,
``--por``, by default the active administrator, so the tickets' history says who
merged). ``export`` writes everything held about one person and ``anonymise`` replaces
it with placeholders everywhere in the data directory, keeping the figures (Chile's Ley
21.719); the operator at the terminal acts as the administrator (a system actor).
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from bot.app.commands import Command
from bot.process.errors import DomainError
from bot.process.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    group = sub.add_parser("customers", help="clientes: fusionar, solicitudes de datos "
                           "personales")
    verbs = group.add_subparsers(dest="customers_command", required=True)
    merge = verbs.add_parser(
        "merge", help="une el cliente B al A (la misma persona por correo y por WhatsApp): "
                      "los tickets de B pasan a A con su mismo número")
    merge.add_argument("keep", metavar="A", help="cliente que se conserva: número, correo, "
                                                 "teléfono o RUT")
    merge.add_argument("drop", metavar="B", help="cliente que desaparece dentro de A")
    merge.add_argument("--por", dest="by", help="miembro del equipo que fusiona (id, correo "
                                                "o nombre; por defecto, el administrador)")
    export = verbs.add_parser("export", help="todo lo que se guarda de una persona (JSON y "
                              "adjuntos, un archivo)")
    export.add_argument("ref", metavar="EMAIL|PHONE|RUT")
    export.add_argument("--to", default=".", help="carpeta de destino (por defecto, la actual)")
    anon = verbs.add_parser("anonymise", aliases=["anonymize"],
                            help="reemplaza los datos personales de una persona")
    anon.add_argument("ref", metavar="EMAIL|PHONE|RUT")
    anon.add_argument("--force", action="store_true",
                      help="aunque tenga tickets abiertos")
    return {"customers": cmd_customers}


async def cmd_customers(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs.event_relay import carry_events
    from bot.services import build_services
    from db.connection import database

    async with database(settings.effective_database_url):
        services = build_services(settings)
        carry_events(services)  # PostgreSQL: edits and merges redraw the chats' cards
        if args.customers_command == "merge":
            return await _merge(args, services)
        return await _data_request(args, services)


async def _merge(args: argparse.Namespace, services: Any) -> int:
    from bot.people.customer_text import merge_summary
    from bot.process.views import Actor

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


async def _data_request(args: argparse.Namespace, services: Any) -> int:
    from bot.process.views import Actor

    actor = Actor.system(f"consola ({_operator()})")
    records = services.records
    if args.customers_command == "export":
        path = await records.export_person(actor, args.ref, Path(args.to))
        print(f"Datos exportados: {path}")
        return 0
    result = await records.anonymise(actor, args.ref, force=args.force)
    shared = (f", {result.files_shared} compartidos con otros clientes"
              if result.files_shared else "")
    print(f"Cliente {result.customer_id} anonimizado: {result.tickets} tickets, "
          f"{result.interactions} interacciones, {result.attachments} adjuntos "
          f"({result.files_deleted} archivos borrados{shared}).")
    if result.forced_open:
        print("Con tickets abiertos: " + ", ".join(f"#{n}" for n in result.forced_open))
    if not result.database_scrubbed:
        print("Aviso: otro proceso usa la base; el registro de escritura (WAL) se vaciará en "
              "el próximo respaldo diario.")
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operador"
