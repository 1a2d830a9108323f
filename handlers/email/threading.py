"""Which ticket an email belongs to: by the ids it names, then by the ``[#123]`` tag.

Headers first: In-Reply-To/References (and the message's own Message-ID, so a parent
that arrives after its reply finds the ticket the reply opened, through the refs the
intake recorded) are the thread as the mail clients see it. The subject tag is the
fallback for clients that drop those headers. Bounces and reports also name the
message they are about (an enclosed message or its headers): those ids count too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.process.errors import TicketNotFound
from bot.services import Services
from handlers.email.parse import ParsedMail

_TAG = re.compile(r"\[#(\d{1,9})\]")


@dataclass(frozen=True)
class Thread:
    ticket_number: int | None
    refs: tuple[str, ...]  # every id this message names, for the intake to record
    by: str  # "refs" | "tag" | "new", for logs


def subject_tag(subject: str) -> int | None:
    """The ticket number in a "[#123]" subject tag (the last one: "RE: [#2] ... [#2]")."""
    found = _TAG.findall(subject or "")
    return int(found[-1]) if found else None


def thread_refs(mail: ParsedMail) -> tuple[str, ...]:
    """Ids this message refers to, nearest first (In-Reply-To, then References newest first)."""
    ordered = [*mail.in_reply_to, *reversed(mail.references), *mail.embedded_ids]
    return tuple(dict.fromkeys(r for r in ordered if r and r != mail.message_id))


async def find_thread(services: Services, message_id: str, named: tuple[str, ...],
                      subject: str, ignore: tuple[str, ...] = ()) -> Thread:
    """``named``: the mail's ``thread_refs``; ``ignore``: ids that claim to be ours but
    are forged (they thread nothing)."""
    refs = tuple(r for r in named if r not in ignore)
    number = await services.intake.find_ticket_by_refs([message_id, *refs])
    if number is not None:
        return Thread(number, refs, "refs")
    tagged = subject_tag(subject)
    if tagged is not None and await _exists(services, tagged):
        return Thread(tagged, refs, "tag")
    return Thread(None, refs, "new")


async def _exists(services: Services, number: int) -> bool:
    try:
        await services.queries.get(number)
    except TicketNotFound:
        return False
    return True
