"""What a front end is to the core, and the one place its offers are wired in.

A front end (Telegram, Slack, the console, email, WhatsApp, NocoDB, the web server)
is built from the services without changing them: it only *offers* what it brings
(``Offers``): subscribers to ticket events, a ``Notifier`` for reminders, ``Sender``s
for customer channels, inbox processors for the kinds of message it stores. The
composition root (``bot/app/run.py``) then calls ``connect`` once, so the order of
start-up is visible in one place and tests wire front ends exactly as production does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bot.incoming.inbox_items import Processor
from bot.outgoing.outbox import Sender
from bot.process.domain import Canal
from bot.process.events import Settler, Subscriber
from bot.process.notify import Notifier
from bot.services import Services


@dataclass(frozen=True)
class Offers:
    """What one front end brings; all optional."""

    subscribers: Sequence[Subscriber] = ()  # told of every ticket event, after commit
    notifier: Notifier | None = None  # reminders and summaries reach people through it
    senders: Mapping[Canal, Sender] = field(default_factory=dict)  # customer channels out
    processors: Mapping[str, Processor] = field(default_factory=dict)  # inbox kinds in
    # Waits until what its subscribers queued is shown (issue 14: the event relay
    # forgets an event only then).
    settle: Settler | None = None


class FrontEnd(Protocol):
    """A running front end or channel. It may also have ``routes()`` (Starlette routes
    for the one web server, ``handlers/web.py``)."""

    name: str
    offers: Offers

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def connect(services: Services, fronts: Iterable[FrontEnd]) -> None:
    """Wire what each front end offers, in this order for each: inbox processors (so
    stored messages can be processed), outbox senders (so queued ones can leave), event
    subscribers, then the notifier. Call once per front end, before ``start()``."""
    for front in fronts:
        offers = front.offers
        for kind, processor in offers.processors.items():
            services.inbox.register(kind, processor)
        for channel, sender in offers.senders.items():
            services.outbox.register(channel, sender)
        for subscriber in offers.subscribers:
            services.bus.subscribe(subscriber)
        if offers.settle is not None:
            services.bus.on_settle(offers.settle)
        if offers.notifier is not None:
            services.notifiers.append(offers.notifier)


F = TypeVar("F", bound=FrontEnd)


def wired(services: Services, front: F) -> F:
    """``connect`` for one front end, handing it back (tests build them one by one)."""
    connect(services, [front])
    return front
