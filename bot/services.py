"""The services, built once and handed to every front end (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.chats.chat_cards import ChatCardStore
from bot.incoming.conformity import ConformitySweeper
from bot.incoming.delivery import DeliveryReports
from bot.incoming.inbox import InboxWorker
from bot.incoming.intake import IntakeService
from bot.outgoing.message_ids import MessageIdSigner
from bot.outgoing.outbox import OutboxWorker
from bot.outgoing.templates import TemplateRenderer, default_templates_dir
from bot.people.customers import CustomerService
from bot.people.team import TeamService
from bot.process.clock import Clock, SystemClock
from bot.process.events import EventBus
from bot.process.notify import Notifier
from bot.process.settings import Settings
from bot.process.views import InteractionView, TicketView
from bot.records.service import RecordsService
from bot.storage.attachments import AttachmentStore
from bot.storage.kv import KeyValueStore
from bot.storage.leases import Leases
from bot.tickets.queries import TicketQueries
from bot.tickets.replies import Replies
from bot.tickets.service import TicketService
from bot.tickets.work import TicketWork
from bot.triage.service import TriageService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    bus: EventBus
    customers: CustomerService
    team: TeamService
    tickets: TicketService
    queries: TicketQueries
    intake: IntakeService
    outbox: OutboxWorker
    conformity: ConformitySweeper
    attachments: AttachmentStore
    renderer: TemplateRenderer
    cards: ChatCardStore
    kv: KeyValueStore
    delivery: DeliveryReports
    triage: TriageService
    inbox: InboxWorker
    message_ids: MessageIdSigner
    records: RecordsService  # backups, personal-data requests, case files (issue 17)
    leases: Leases  # issue 14: once-only loops across instances
    replies: Replies  # customer messages drafted, rendered, queued (issue 15)
    # Chat front ends' notifiers, put here by bot.app.frontend.connect; reminders go through them.
    notifiers: list[Notifier] = field(default_factory=list)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    bus = EventBus()
    renderer = TemplateRenderer(default_templates_dir(), settings.zone)
    queries = TicketQueries(clock)

    async def load_views(ticket_id: int,
                         interaction_id: int) -> tuple[TicketView, InteractionView]:
        return await queries.get(ticket_id), await queries.interaction(interaction_id)

    outbox = OutboxWorker(clock, bus, load_views)
    customers = CustomerService(clock, bus=bus, sync_nocodb=settings.nocodb_enabled)
    triage = TriageService(settings, clock)
    replies = Replies(settings, clock, renderer)
    tickets = TicketService(TicketWork(settings, clock, bus, wake_outbox=outbox.wake),
                            replies, triage)
    kv = KeyValueStore(clock)
    delivery = DeliveryReports(tickets, queries, bus, kv)
    services = Services(
        settings=settings, clock=clock, bus=bus, customers=customers, team=TeamService(clock),
        tickets=tickets, queries=queries,
        intake=IntakeService(settings, clock, customers, tickets, delivery), outbox=outbox,
        conformity=ConformitySweeper(settings, clock, tickets),
        attachments=AttachmentStore(settings.data_dir / "attachments",
                                    settings.mail_max_attachment_bytes),
        renderer=renderer, cards=ChatCardStore(clock), kv=kv,
        delivery=delivery, triage=triage,
        inbox=InboxWorker(settings, clock, bus, after_commit=outbox.wake),
        message_ids=MessageIdSigner(settings, kv),
        records=RecordsService(settings, clock, queries, kv), replies=replies,
        leases=Leases(clock, shared=not settings.effective_database_url.startswith("sqlite"),
                      seconds=settings.lease_seconds, holder=settings.instance_name or None),
    )
    services.inbox.notify_through(lambda: services.notifiers)
    return services
