"""The services, built once and handed to every front end (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.attachments import AttachmentStore
from bot.chat_cards import ChatCardStore
from bot.clock import Clock, SystemClock
from bot.conformity import ConformitySweeper
from bot.customers import CustomerService
from bot.delivery import DeliveryReports
from bot.events import EventBus
from bot.inbox import InboxWorker
from bot.intake import IntakeService
from bot.kv import KeyValueStore
from bot.leases import Leases
from bot.message_ids import MessageIdSigner
from bot.notify import Notifier
from bot.outbox import OutboxWorker
from bot.queries import TicketQueries
from bot.records.service import RecordsService
from bot.replies import Replies
from bot.settings import Settings
from bot.team import TeamService
from bot.templates import TemplateRenderer, default_templates_dir
from bot.ticket_work import TicketWork
from bot.tickets import TicketService
from bot.triage.service import TriageService
from bot.views import InteractionView, TicketView


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
    # Chat front ends' notifiers, put here by bot.frontend.connect; reminders go through them.
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
        delivery=delivery, triage=triage, inbox=InboxWorker(settings, clock),
        message_ids=MessageIdSigner(settings, kv),
        records=RecordsService(settings, clock, queries, kv), replies=replies,
        leases=Leases(clock, shared=not settings.effective_database_url.startswith("sqlite"),
                      seconds=settings.lease_seconds, holder=settings.instance_name or None),
    )
    services.inbox.notify_through(lambda: services.notifiers)
    return services
