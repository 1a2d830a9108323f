"""The ``atiende`` command line.

Every sub-command loads the settings once (a bad one is a one-line error naming the
variable), opens the database, does its work, and closes it. ``--quiet``/``--verbose``
are on every parser; the exit codes (``bot.app.commands.EXIT_CODES``) are in every
``--help``. Only the service (``run`` with a chat configured) logs to standard error;
everything else logs to ``atiende.log`` in the data directory (see ``bot.app.logs``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.app import event_loop, logs
from bot.app.commands import (
    DONE,
    EXIT_CODES,
    FAILED,
    INTERRUPTED,
    USAGE,
    Command,
    UsageError,
    register_all,
    say,
    with_services,
)
from bot.process.domain import Rol
from bot.process.errors import DomainError
from bot.process.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.services import Services


log = logging.getLogger(__name__)


class CommandParser(argparse.ArgumentParser):
    """Every parser of ``atiende``, at any depth (argparse builds sub-parsers with the
    parent's class): ``--quiet``/``--verbose`` and the exit codes in ``--help``.

    Sub-parsers default to ``SUPPRESS`` so an option given before the sub-command is
    not reset by it; a sub-command's own ``-q``/``-v`` would win (``resolve``)."""

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EXIT_CODES)
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(*args, **kwargs)
        default: Any = False if top else argparse.SUPPRESS
        loud = self.add_mutually_exclusive_group()
        loud.add_argument("-q", "--quiet", action="store_true", default=default,
                          help="sin barra de progreso ni mensajes de estado: solo los "
                               "errores y el resultado pedido")
        loud.add_argument("-v", "--verbose", action="store_true", default=default,
                          help="muestra también en la terminal cada línea del registro")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    p = CommandParser(prog="atiende", description="Atiende: mesa de ayuda por chat.", top=True)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="el trabajo principal: todos los frentes configurados")
    sub.add_parser("console", help="la consola del administrador en la terminal")
    team = sub.add_parser("team", help="el equipo").add_subparsers(dest="team_command",
                                                                  required=True)
    add = team.add_parser("add", help="agrega un miembro")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Rol], default=Rol.AGENT.value)
    add.add_argument("--email")
    add.add_argument("--telegram-id", type=int)
    add.add_argument("--slack-id")
    team.add_parser("list", help="lista los miembros activos")
    invite = team.add_parser("invite", help="enlace de un solo uso para vincular Telegram")
    invite.add_argument("member", help="id, correo o nombre del miembro")
    rename = team.add_parser("rename", help="cambia el nombre (el que firma las respuestas)")
    rename.add_argument("member", help="id, correo o nombre del miembro")
    rename.add_argument("new_name")
    deactivate = team.add_parser("deactivate", help="da de baja a un miembro")
    deactivate.add_argument("member", help="id, correo o nombre del miembro")
    set_admin = team.add_parser("set-admin", help="traspasa el rol de administrador")
    set_admin.add_argument("member", help="id, correo o nombre del miembro")
    export = sub.add_parser("export", help="exporta Clientes, Tickets e Interacciones")
    export.add_argument("--format", choices=["csv", "xlsx"], default="csv",
                        help="xlsx: un libro con las hojas Clientes, Tickets, Interacciones")
    export.add_argument("--table", choices=["clientes", "tickets", "interacciones"],
                        default="tickets", help="la tabla del csv (por defecto, tickets)")
    export.add_argument("--output", "-o", help="archivo de salida (por defecto, la salida "
                        "estándar para csv)")
    report = sub.add_parser("report", help="cumplimiento de plazos, volúmenes, satisfacción")
    report.add_argument("--from", dest="date_from", help="desde (AAAA-MM-DD)")
    report.add_argument("--to", dest="date_to", help="hasta (AAAA-MM-DD, incluida)")
    report.add_argument("--period", default="", help="semana, mes o AAAA-MM (por defecto, mes)")
    report.add_argument("--out", help="carpeta donde dejar los gráficos (PNG) y tablas (CSV)")
    mail = sub.add_parser("mail", help="correo").add_subparsers(dest="mail_command",
                                                               required=True)
    imp = mail.add_parser("import", help="importa un .eml, una carpeta, un Maildir o un mbox")
    imp.add_argument("path")
    rem = sub.add_parser("reminders", help="recordatorios de plazos")
    rem.add_argument("--dry-run", action="store_true", required=True,
                     help="muestra qué se enviaría ahora y a quién, sin enviarlo")
    return p, register_all(sub)


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.run import run

    if not (settings.telegram_enabled or settings.slack_enabled):
        _tell_where_the_log_is(args, settings)  # the console opens: its logs go to the file
    await run(settings)
    return DONE


async def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.run import run_console

    _tell_where_the_log_is(args, settings)

    async def work(services: Services) -> int:
        stop = asyncio.Event()
        worker = asyncio.create_task(services.outbox.run(stop, idle_seconds=1.0))
        await run_console(services, _print, stop)
        stop.set()
        await worker
        return DONE

    return await with_services(settings, work)


def _tell_where_the_log_is(args: argparse.Namespace, settings: Settings) -> None:
    say(args, f"(registro de eventos en {settings.data_dir / logs.LOG_FILE})", file=sys.stderr)


async def cmd_team(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> int:
        if args.team_command == "add":
            m = await services.team.add(args.name, Rol(args.role), email=args.email,
                                        telegram_user_id=args.telegram_id,
                                        slack_user_id=args.slack_id)
            print(f"Agregado: {m.id} {m.name} ({m.role.value})")
        elif args.team_command == "list":
            for m in await services.team.list():
                links = ", ".join(x for x in (m.email, m.telegram_user_id and
                                              f"telegram {m.telegram_user_id}",
                                              m.slack_user_id and f"slack {m.slack_user_id}")
                                  if x)
                print(f"{m.id}\t{m.name}\t{m.role.value}\t{links}")
        elif args.team_command == "rename":
            member = await services.team.find(args.member)
            m = await services.team.rename(member.id, args.new_name)
            print(f"Renombrado: {m.id} {member.name} → {m.name}")
        elif args.team_command == "deactivate":
            member = await services.team.find(args.member)
            m = await services.team.deactivate(member.id)
            print(f"Dado de baja: {m.id} {m.name}")
        elif args.team_command == "set-admin":
            member = await services.team.find(args.member)
            m = await services.team.set_admin(member.id)
            print(f"Administrador: {m.id} {m.name}")
        else:
            member = await services.team.find(args.member)
            code = await services.team.create_invite(member.id)
            username = await _telegram_username(settings)
            link = f"https://t.me/{username}?start={code}" if username else f"/start {code}"
            print(f"Enlace para {member.name} (un solo uso): {link}")
        return DONE

    return await with_services(settings, work)


async def _telegram_username(settings: Settings) -> str | None:
    if not settings.telegram_enabled:
        return None
    from handlers.telegram.transport import bot_username

    return await bot_username(settings)


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.progress import track
    from bot.records.export import TABLE_NAMES, to_csv, to_xlsx
    from bot.records.export_data import load_tables

    if args.format == "xlsx" and not args.output:
        raise UsageError("Para xlsx indique el archivo con --output.")

    async def work(services: Services) -> int:
        names = TABLE_NAMES if args.format == "xlsx" else (args.table,)
        tables = await load_tables(services.queries, names)
        # rows go by as they are written
        tables = [replace(t, rows=track(t.rows, f"Exportando {t.name}", unit="filas",
                                        quiet=args.quiet)) for t in tables]
        data = to_xlsx(tables, settings.zone) if args.format == "xlsx" else \
            to_csv(tables[0], settings.zone)
        if args.output:
            Path(args.output).write_bytes(data)
            say(args, f"Exportado a {args.output}", file=sys.stderr)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return DONE

    return await with_services(settings, work)


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reports import ReportService

    words = [args.date_from, args.date_to or args.date_from] if args.date_from else \
        args.period.split()
    if args.date_to and not args.date_from:
        raise DomainError("Indique también --from.")

    async def work(services: Services) -> int:
        reports = ReportService(settings, services.clock)
        report = await reports.build(words, charts=bool(args.out))
        print(report.text)
        if args.out:
            for path in report.write(Path(args.out)):
                print(f"  {path}")
        return DONE

    return await with_services(settings, work)


async def cmd_mail(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.progress import progress
    from handlers.email import import_path

    if not Path(args.path).exists():
        raise UsageError(f"No existe {args.path}.")

    async def work(services: Services) -> int:
        with progress("Importando correos", unit="correos", quiet=args.quiet) as bar:
            report = await import_path(services, args.path, progress=bar)
        if report.errors:
            print(report.summary())  # with the errors: shown even with --quiet
            return FAILED
        say(args, report.summary())
        return DONE

    return await with_services(settings, work)


async def cmd_reminders(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reminders import describe_due

    async def work(services: Services) -> int:
        lines = await describe_due(services)
        print("\n".join(lines) if lines else "Nada que enviar ahora.")
        return DONE

    return await with_services(settings, work)


_with_db = with_services  # the former name, for sub-commands not yet renamed

COMMANDS: dict[str, Command] = {
    "run": cmd_run, "console": cmd_console, "team": cmd_team,
    "export": cmd_export, "report": cmd_report, "mail": cmd_mail, "reminders": cmd_reminders,
}


def _print(text: str) -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser, extra = _parser()
    args = parser.parse_args(argv)
    if args.quiet and args.verbose:  # one before the sub-command, one after it
        parser.error("--quiet y --verbose no se pueden usar juntas")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Error de configuración: {exc}", file=sys.stderr)
        return USAGE
    log_file = _configure_logs(args, settings)
    try:
        return event_loop.run({**COMMANDS, **extra}[args.command](args, settings),
                              settings.event_loop)
    except UsageError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return USAGE
    except DomainError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:  # a bug: the traceback goes to the log, one line to the person
        log.exception("atiende %s failed", args.command, extra={logs.FILE_ONLY: True})
        where = f"; detalle en {log_file}" if log_file else ""
        print(f"✗ Error interno ({type(exc).__name__}: {exc}){where}.", file=sys.stderr)
        return FAILED


def _configure_logs(args: argparse.Namespace, settings: Settings) -> Path | None:
    """The service logs to standard error; a person at a terminal gets the log file."""
    level = "DEBUG" if args.verbose else settings.log_level
    if args.command == "run" and (settings.telegram_enabled or settings.slack_enabled):
        return logs.configure("WARNING" if args.quiet else level, settings.log_format)
    terminal = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    return logs.configure(level, settings.log_format, log_file=settings.data_dir / logs.LOG_FILE,
                          terminal_level=terminal)
