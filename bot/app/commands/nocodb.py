"""``atiende nocodb setup|check|backfill|import``: the company's NocoDB base.

``setup`` creates what is missing (tables, columns, links, options, webhooks) and
never touches what the company made; ``check`` prints one line per problem;
``backfill`` sends everything once (resumable); ``import`` brings the base's existing
Clientes and open Tickets into Atiende.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.commands import Command
from bot.process.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    noco = sub.add_parser("nocodb", help="NocoDB: tablas Clientes, Tickets e Interacciones")
    cmds = noco.add_subparsers(dest="nocodb_command", required=True)
    cmds.add_parser("setup", help="crea tablas, columnas, enlaces, opciones y webhooks que falten")
    cmds.add_parser("check", help="valida la configuración contra el esquema real")
    cmds.add_parser("backfill", help="envía todo lo que NocoDB aún no tiene (reanudable)")
    cmds.add_parser("import", help="trae Clientes y Tickets abiertos de NocoDB a Atiende")
    return {"nocodb": cmd_nocodb}


async def cmd_nocodb(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.nocodb.api import HttpNocoApi

    if not settings.nocodb_url:
        print("ATIENDE_NOCODB_URL no está configurado.")
        return 2
    from bot.nocodb.api import NocoRejected, NocoUnavailable

    api = HttpNocoApi(settings.nocodb_url, settings.nocodb_token)
    try:
        return await run(args.nocodb_command, api, settings, print)
    except (NocoRejected, NocoUnavailable) as exc:
        print(f"NocoDB: {exc}")
        return 1
    finally:
        await api.aclose()


async def run(command: str, api: Any, settings: Settings, write: Any) -> int:
    """The sub-command's work, with the API client given (the tests pass theirs)."""
    from bot.nocodb import schema

    if command == "setup":
        done = await schema.setup(api, settings, settings.nocodb_webhook_url)
        for line in done:
            write(line)
        if not settings.nocodb_webhook_url:
            write("ATIENDE_NOCODB_WEBHOOK_URL vacío: no se registraron webhooks "
                  "(las ediciones llegarán por la reconciliación periódica).")
        write("Nada que hacer: la base ya está completa." if not done else "Listo.")
        return 0
    if command == "check":
        problems = await schema.check(api, settings)
        for line in problems:
            write(line)
        if not problems:
            write("Todo en orden.")
        return 1 if problems else 0
    return await _with_services(command, api, settings, write)


async def _with_services(command: str, api: Any, settings: Settings, write: Any) -> int:
    from bot.nocodb.backfill import backfill
    from bot.nocodb.importer import import_base
    from bot.nocodb.push import Pusher
    from bot.services import build_services
    from db.connection import database

    async with database(settings.effective_database_url):
        services = build_services(settings)
        pusher = Pusher(api, settings, services.clock)
        if command == "backfill":
            queued, pushed = await backfill(pusher, services.clock)
            write(f"{queued} registros en cola; {pushed} enviados a NocoDB.")
            return 0
        report = await import_base(api, services, pusher)
        write(report.summary())
        await pusher.drain()
        return 0
