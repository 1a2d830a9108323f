"""``/ticket``: nuevo | lista [mios|vencidos] | 12 | buscar texto | cliente X |
fusionar A B — answered ephemerally; reporte [período] — posted in the channel
(``report.py``)."""

from __future__ import annotations

from typing import Any

from bot.outgoing.fitting import cut
from bot.process.errors import DomainError
from bot.process.views import Actor, TicketView
from bot.tickets.queries import TicketFilter
from handlers.slack import customers, home, identity, modals, report
from handlers.slack.actions import Ack
from handlers.slack.blocks import fallback_text, ticket_blocks
from handlers.slack.context import SlackContext
from handlers.slack.mrkdwn import escape, literal
from handlers.slack.payload import parsing

HELP = ("Uso de `/ticket`:\n• `/ticket nuevo`: crear un ticket\n"
        "• `/ticket lista [mios|vencidos]`: tickets abiertos\n"
        "• `/ticket 12`: ver el ticket 12\n• `/ticket buscar texto`: buscar\n"
        "• `/ticket cliente correo|teléfono|RUT`: datos y tickets de un cliente (y editarlo)\n"
        "• `/ticket fusionar A B`: unir el cliente B al A (la misma persona)\n"
        "• `/ticket reporte [semana|mes|AAAA-MM]`: plazos, volúmenes y satisfacción")


class Commands:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def ticket(self, ack: Ack, command: dict[str, Any]) -> None:
        """``/ticket ...``: ack at once (Slack's 3 s), then answer privately."""
        await ack()
        with parsing("slash command"):
            user, channel = str(command["user_id"]), str(command["channel_id"])
        actor = await identity.require(self.ctx, user, channel)
        if actor is None:
            return
        words = (command.get("text") or "").split()
        head = words[0].lower().lstrip("#") if words else ""
        try:
            if head == "nuevo":
                await self.ctx.client.views_open(trigger_id=command["trigger_id"],
                                                 view=modals.new_ticket_view(channel))
                return
            if head == "reporte":
                await report.post_report(self.ctx, channel, words[1:])
                return
            blocks = await self._answer(actor, head, words[1:])
        except DomainError as exc:
            await self.ctx.tell(user, escape(str(exc)), channel)
            return
        if blocks is None:
            await self.ctx.tell(user, HELP, channel)
            return
        await self.ctx.client.chat_postEphemeral(channel=channel, user=user, blocks=blocks[:50],
                                                 text="Atiende")

    async def _answer(self, actor: Actor, head: str,
                      rest: list[str]) -> list[dict[str, Any]] | None:
        q = self.ctx.services.queries
        if head == "lista":
            which = rest[0].lower() if rest else ""
            member_id = actor.member.id if actor.member and which == "mios" else None
            page = await q.list(TicketFilter(assignee_id=member_id,
                                             overdue=which == "vencidos"), per_page=15)
            return self._listing(f"Tickets abiertos ({page.total})", page.items)
        if head == "buscar" and rest:
            found = await q.search(" ".join(rest), limit=15)
            query = cut(" ".join(rest), 200)  # echoed back: it must fit its section
            return self._listing(f"Resultados para «{escape(query)}»", tuple(found))
        if head.isdigit():
            return await self._one(int(head))
        if head == "cliente" and rest:
            return await customers.lookup_blocks(self.ctx, " ".join(rest))
        if head == "fusionar":
            return await customers.merge_blocks(self.ctx, rest)
        return None

    def _listing(self, title: str, tickets: tuple[TicketView, ...]) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}}]
        blocks += [home.ticket_line(self.ctx, t) for t in tickets] or [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Ninguno."}]}]
        return blocks

    async def _one(self, number: int) -> list[dict[str, Any]]:
        ticket = await self.ctx.services.queries.get(number)
        history = await self.ctx.services.queries.history(number, limit=8)
        lines = [f"• {i.created_at.astimezone(self.ctx.services.settings.zone):%d/%m %H:%M} "
                 f"{escape(i.kind.value)} · {literal(i.author_name)}: "
                 f"{literal((i.body or f'{i.field}: {i.old_value} → {i.new_value}')[:200])}"
                 for i in history]
        blocks = ticket_blocks(ticket, self.ctx.services.clock.now(), self.ctx.services.settings)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Historial reciente*\n" + "\n".join(lines))[:2900] or fallback_text(ticket)}})
        return blocks
