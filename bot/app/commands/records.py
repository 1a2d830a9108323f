"""``atiende backup``, ``atiende restore`` and ``atiende ticket file``: the records a
company keeps safe and hands out (the logic lives in ``bot.records``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.app.commands import Command
from bot.process.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    backup = sub.add_parser("backup", help="respaldo consistente de la base y los adjuntos "
                            "(aunque Atiende esté funcionando)")
    backup.add_argument("--to", help="carpeta de destino (por defecto, ATIENDE_BACKUP_DIR)")
    restore = sub.add_parser("restore", help="restaura un respaldo en una carpeta de datos "
                             "vacía")
    restore.add_argument("archive")
    ticket = sub.add_parser("ticket", help="un ticket").add_subparsers(dest="ticket_command",
                                                                      required=True)
    case = ticket.add_parser("file", help="el expediente del ticket (HTML imprimible y "
                             "adjuntos, un archivo)")
    case.add_argument("number", type=lambda s: int(s.lstrip("#")))
    case.add_argument("--to", default=".", help="carpeta de destino (por defecto, la actual)")
    return {"backup": cmd_backup, "restore": cmd_restore, "ticket": cmd_ticket}


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.process.clock import SystemClock
    from bot.records.backup import NotSqlite, backup_dir, make_backup

    target = Path(args.to) if args.to else backup_dir(settings)
    try:
        result = await asyncio.to_thread(make_backup, settings, target, SystemClock().now())
    except NotSqlite as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Respaldo: {result.path} ({result.tickets} tickets, {result.files} adjuntos, "
          f"{result.bytes:,} bytes, {result.seconds:.1f} s)".replace(",", "."))
    return 0


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.records.archive import ArchiveError
    from bot.records.backup import NotSqlite, restore

    try:
        result = await asyncio.to_thread(restore, settings, Path(args.archive))
    except NotSqlite as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (ArchiveError, FileNotFoundError) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    print(f"Restaurado: {result.database} ({result.tickets} tickets, {result.attachments} "
          f"adjuntos). Siguiente paso: atiende db upgrade")
    return 0


async def cmd_ticket(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import build_services
    from db.connection import database

    async with database(settings.effective_database_url):
        services = build_services(settings)
        path = await services.records.write_case_file(args.number, Path(args.to))
    print(f"Expediente del ticket #{args.number}: {path}")
    return 0
