"""``atiende inbox list|show|retry``: the inbound messages kept before processing.

Quarantined items (messages that failed ``ATIENDE_INBOX_MAX_ATTEMPTS`` times, or can
never be processed as they are) are listed first; ``retry`` puts one back in line, and
the running ``atiende run`` processes it within seconds.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.commands import Command
from bot.process.settings import Settings


def register(sub: Any) -> dict[str, Command]:
    parser = sub.add_parser("inbox", help="mensajes entrantes: en cuarentena, pendientes")
    verbs = parser.add_subparsers(dest="inbox_command", required=True)
    listing = verbs.add_parser("list", help="lista los mensajes (en cuarentena por defecto)")
    listing.add_argument("--todos", action="store_true", help="también los procesados")
    show = verbs.add_parser("show", help="muestra un mensaje y su error")
    show.add_argument("item", type=int)
    retry = verbs.add_parser("retry", help="vuelve a procesar un mensaje")
    retry.add_argument("item", type=int)
    return {"inbox": cmd_inbox}


async def cmd_inbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs.event_relay import carry_events
    from bot.services import build_services
    from db.connection import database

    async with database(settings.effective_database_url):
        services = build_services(settings)
        carry_events(services)  # PostgreSQL: a retried message's cards reach the chats
        return await _inbox(args, services)


async def _inbox(args: argparse.Namespace, services: Any) -> int:
    """One verb; the texts are for the person at the terminal (Spanish)."""
    inbox = services.inbox
    if args.inbox_command == "list":
        items = await inbox.list(None if args.todos else "en cuarentena")
        if not args.todos:
            items += await inbox.list("pendiente")
        for item in items:
            print(f"{item.id}\t{item.status}\t{item.channel.value}\t{item.attempts}\t"
                  f"{item.summary}\t{item.last_error[:120]}")
        counts = await inbox.counts()
        print(", ".join(f"{n} {status}" for status, n in counts.items()))
        return 0
    entry = await inbox.get(args.item)
    if entry is None:
        print(f"No existe el mensaje entrante {args.item}.")
        return 1
    if args.inbox_command == "show":
        print(f"#{entry.id} {entry.status} · {entry.channel.value} · {entry.kind} · "
              f"{entry.attempts} intento(s) · recibido {entry.created_at.isoformat()}")
        print(f"clave: {entry.key}")
        print(f"resumen: {entry.summary}")
        if entry.ticket_number:
            print(f"ticket: #{entry.ticket_number}")
        if entry.last_error:
            print(f"error: {entry.last_error}")
        if entry.raw is not None:
            print(f"original: {len(entry.raw):,} bytes".replace(",", "."))
        return 0
    if not await inbox.requeue(entry.id):
        print(f"El mensaje {entry.id} ya estaba procesado.")
        return 1
    print(f"Mensaje {entry.id} de vuelta en la cola: atiende run lo procesa en segundos.")
    return 0
