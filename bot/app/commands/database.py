"""``atiende db``: ``upgrade`` applies the committed migrations; ``copy --to
postgres://…`` moves an SQLite installation to PostgreSQL.

Attachments are files under ``ATIENDE_DATA_DIR`` that the rows point to by path: they
stay where they are (keep the same data directory, or move it whole).
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.commands import DONE, Command, say
from bot.process.errors import DomainError
from bot.process.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    db = sub.add_parser("db", help="base de datos").add_subparsers(dest="db_command",
                                                                  required=True)
    db.add_parser("upgrade", help="aplica las migraciones pendientes")
    copy = db.add_parser("copy", help="copia esta instalación (SQLite) a una base "
                         "PostgreSQL vacía, tabla por tabla, y la verifica")
    copy.add_argument("--to", required=True, metavar="postgres://…",
                      help="la base de destino (vacía)")
    return {"db": cmd_db}


async def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from db.connection import masked_url, upgrade

    if args.db_command == "upgrade":
        await upgrade(settings.effective_database_url)
        say(args, f"Base de datos al día: {masked_url(settings.effective_database_url)}")
        return DONE
    from db.copy import CopyRefused, TableCopy, copy_database

    source = settings.effective_database_url

    def progress(table: TableCopy) -> None:
        mark = "verificada" if table.verified else "¡NO COINCIDE!"
        print(f"{table.table}: {table.rows} filas, sha256 {table.checksum[:16]}… {mark}",
              flush=True)

    print(f"Copiando {masked_url(source)} a {masked_url(args.to)}", flush=True)
    try:
        report = await copy_database(source, args.to, progress)
    except CopyRefused as exc:
        raise DomainError(str(exc)) from None
    bad = [t.table for t in report if not t.verified]
    if bad:
        print(f"✗ No coinciden: {', '.join(bad)}. No use la copia.", flush=True)
        return 1
    total = sum(t.rows for t in report)
    print(f"Copia verificada: {len(report)} tablas, {total} filas. Apunte "
          "ATIENDE_DATABASE_URL a la nueva base (los adjuntos siguen en ATIENDE_DATA_DIR).",
          flush=True)
    return 0

