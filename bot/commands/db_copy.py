"""``atiende db copy --to postgres://…``: move an SQLite installation to PostgreSQL.

Added to the existing ``db`` group; ``db upgrade`` stays ``bot.cli``'s. Attachments
are files under ``ATIENDE_DATA_DIR`` that the rows point to by path: they stay where
they are (keep the same data directory, or move it whole).
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands import Command
from bot.errors import DomainError
from bot.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    db_group = sub.choices.get("db")
    if db_group is None:
        return {}
    actions = [a for a in db_group._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    copy = actions[0].add_parser("copy", help="copia esta instalación (SQLite) a una base "
                                 "PostgreSQL vacía, tabla por tabla, y la verifica")
    copy.add_argument("--to", required=True, metavar="postgres://…",
                      help="la base de destino (vacía)")
    return {"db": cmd_db}


async def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if args.db_command != "copy":
        from bot.cli import cmd_db as upgrade_command

        return await upgrade_command(args, settings)
    from db.copy import CopyRefused, TableCopy, copy_database

    source = settings.effective_database_url

    def progress(table: TableCopy) -> None:
        mark = "verificada" if table.verified else "¡NO COINCIDE!"
        print(f"{table.table}: {table.rows} filas, sha256 {table.checksum[:16]}… {mark}",
              flush=True)

    print(f"Copiando {source} a {_hide_password(args.to)}", flush=True)
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


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)
