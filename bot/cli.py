"""The ``atiende`` command line.

Every sub-command loads the settings once (a bad one is a one-line error naming the
variable), opens the database, does its work, and closes it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot import logs
from bot.commands import Command, register_all
from bot.domain import ConformityKind, Estado, Rol
from bot.errors import DomainError
from bot.settings import Settings, SettingsError, load_settings


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    p = argparse.ArgumentParser(prog="atiende", description="Atiende: mesa de ayuda por chat.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="el trabajo principal: todos los frentes configurados")
    sub.add_parser("console", help="la consola del administrador en la terminal")
    db = sub.add_parser("db", help="base de datos").add_subparsers(dest="db_command",
                                                                  required=True)
    db.add_parser("upgrade", help="aplica las migraciones pendientes")
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
    export = sub.add_parser("export", help="exporta los Tickets")
    export.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    export.add_argument("--output", "-o", help="archivo de salida (por defecto, la salida "
                        "estándar para csv)")
    sub.add_parser("report", help="resumen: Tickets por Estado, Tipo_Incidencia y conformidad")
    mail = sub.add_parser("mail", help="correo").add_subparsers(dest="mail_command",
                                                               required=True)
    imp = mail.add_parser("import", help="importa un .eml, una carpeta, un Maildir o un mbox")
    imp.add_argument("path")
    rem = sub.add_parser("reminders", help="recordatorios de plazos")
    rem.add_argument("--dry-run", action="store_true", required=True,
                     help="muestra qué se enviaría ahora y a quién, sin enviarlo")
    return p, register_all(sub)


async def _with_db(settings: Settings, work: Callable[[object], Awaitable[int]]) -> int:
    from bot.services import build_services
    from db.connection import database

    async with database(settings.effective_database_url):
        return await work(build_services(settings))


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run

    await run(settings)
    return 0


async def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_console

    async def work(services) -> int:  # type: ignore[no-untyped-def]
        stop = asyncio.Event()
        worker = asyncio.create_task(services.outbox.run(stop, idle_seconds=1.0))
        await run_console(services, _print, stop)
        stop.set()
        await worker
        return 0

    return await _with_db(settings, work)


async def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from db.connection import masked_url, upgrade

    await upgrade(settings.effective_database_url)
    print(f"Base de datos al día: {masked_url(settings.effective_database_url)}")
    return 0


async def cmd_team(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services) -> int:  # type: ignore[no-untyped-def]
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
        return 0

    return await _with_db(settings, work)


async def _telegram_username(settings: Settings) -> str | None:
    if not settings.telegram_enabled:
        return None
    from telegram import Bot

    kwargs = {"base_url": settings.telegram_api_url} if settings.telegram_api_url else {}
    async with Bot(settings.telegram_token, **kwargs) as bot:
        return bot.username


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.export import to_csv, to_xlsx

    async def work(services) -> int:  # type: ignore[no-untyped-def]
        tickets = await services.queries.all()
        data = (to_csv if args.format == "csv" else to_xlsx)(tickets, settings.zone)
        if args.output:
            Path(args.output).write_bytes(data)
            print(f"{len(tickets)} tickets exportados a {args.output}", file=sys.stderr)
        elif args.format == "xlsx":
            raise DomainError("Para xlsx indique el archivo con --output.")
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return 0

    return await _with_db(settings, work)


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from collections import Counter

    async def work(services) -> int:  # type: ignore[no-untyped-def]
        tickets = await services.queries.all()
        print(f"Tickets: {len(tickets)}")
        by_estado = Counter(t.estado for t in tickets)
        for estado in Estado:
            print(f"  Estado {estado.value}: {by_estado.get(estado, 0)}")
        by_tipo = Counter(t.tipo.value if t.tipo else "sin clasificar" for t in tickets)
        for tipo, count in sorted(by_tipo.items()):
            print(f"  Tipo_Incidencia {tipo}: {count}")
        resolved = [t for t in tickets if t.estado is Estado.RESOLVED]
        # Silence is not acceptance (Ley 19.496 art. 3 a): counted apart, never as consent.
        silent = sum(1 for t in resolved if t.conformity_kind is ConformityKind.NO_ANSWER)
        print(f"  Resueltos con conformidad expresa: {len(resolved) - silent}")
        print(f"  Cerrados sin respuesta del cliente: {silent}")
        return 0

    return await _with_db(settings, work)


async def cmd_mail(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.email import import_path

    async def work(services) -> int:  # type: ignore[no-untyped-def]
        if not Path(args.path).exists():
            raise DomainError(f"No existe {args.path}.")
        report = await import_path(services, args.path)
        print(report.summary())
        return 1 if report.errors else 0

    return await _with_db(settings, work)


async def cmd_reminders(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reminders import describe_due

    async def work(services) -> int:  # type: ignore[no-untyped-def]
        lines = await describe_due(services)
        print("\n".join(lines) if lines else "Nada que enviar ahora.")
        return 0

    return await _with_db(settings, work)


COMMANDS: dict[str, Command] = {
    "run": cmd_run, "console": cmd_console, "db": cmd_db, "team": cmd_team,
    "export": cmd_export, "report": cmd_report, "mail": cmd_mail, "reminders": cmd_reminders,
}


def _print(text: str) -> None:
    print(text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser, extra = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Error de configuración: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    try:
        return asyncio.run({**COMMANDS, **extra}[args.command](args, settings))
    except DomainError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
