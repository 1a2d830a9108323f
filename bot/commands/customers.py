"""``atiende customers``: a person's data requests (Chile's Ley 21.719) from the
command line. ``export`` writes everything held about one person; ``anonymise``
replaces it with placeholders everywhere in the data directory, keeping the figures.
The operator at the terminal acts as the administrator (a system actor)."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from bot.commands import Command
from bot.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    group = sub.add_parser("customers", help="clientes: solicitudes de datos personales")
    verbs = group.add_subparsers(dest="customers_command", required=True)
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
    from bot.services import build_services
    from bot.views import Actor
    from db.connection import database

    actor = Actor.system(f"consola ({_operator()})")
    async with database(settings.effective_database_url):
        records = build_services(settings).records
        if args.customers_command == "export":
            path = await records.export_person(actor, args.ref, Path(args.to))
            print(f"Datos exportados: {path}")
            return 0
        result = await records.anonymise(actor, args.ref, force=args.force)
    print(f"Cliente {result.customer_id} anonimizado: {result.tickets} tickets, "
          f"{result.interactions} interacciones, {result.attachments} adjuntos "
          f"({result.files_deleted} archivos borrados"
          f"{f', {result.files_shared} compartidos con otros clientes' if result.files_shared else ''}).")
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
