"""App Home: the member's assigned tickets and the team's overdue ones, with time left.

Published when a member opens the Home tab, and republished (``views.publish``) for
everyone who has opened it whenever a ticket changes, so it is never stale for long.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.chats.cards import first_response_line, resolution_line
from bot.process.views import MemberView, TicketView
from bot.tickets.queries import TicketFilter
from handlers.slack import identity
from handlers.slack.context import SlackContext
from handlers.slack.mrkdwn import escape, literal

log = logging.getLogger(__name__)

HOME_USERS = "slack.home"  # kv namespace: Slack users who opened the Home tab
LIMIT = 20


def ticket_line(ctx: SlackContext, t: TicketView) -> dict[str, Any]:
    now, settings = ctx.services.clock.now(), ctx.services.settings
    label = " · ".join(x for x in (t.tipo and t.tipo.value, t.prioridad and t.prioridad.value,
                                   t.estado.value) if x)
    overdue = "🔴 " if t.first_response_overdue(now) or t.resolution_overdue(now) else ""
    who = f" · {escape(t.assignee.name)}" if t.assignee else ""
    text = (f"{overdue}*#{t.number}* · {literal(label)} — {literal(t.customer.display)}{who}\n"
            f"{literal(t.subject)}\n"
            f"Primera respuesta: {literal(first_response_line(t, now, settings.zone))}\n"
            f"Resolución: {literal(resolution_line(t, now, settings))}")
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def _section(ctx: SlackContext, title: str, tickets: tuple[TicketView, ...], total: int,
             empty: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{title} ({total})"}}]
    blocks += [ticket_line(ctx, t) for t in tickets] or [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": empty}]}]
    if total > len(tickets):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"…y {total - len(tickets)} más: `/ticket lista`"}]})
    blocks.append({"type": "divider"})
    return blocks


async def home_view(ctx: SlackContext, member: MemberView | None) -> dict[str, Any]:
    if member is None:
        return {"type": "home", "blocks": [{"type": "section", "text": {
            "type": "mrkdwn", "text": escape(identity.NOT_ON_TEAM)}}]}
    queries = ctx.services.queries
    mine = await queries.list(TicketFilter(assignee_id=member.id), per_page=LIMIT)
    overdue = await queries.list(TicketFilter(overdue=True), per_page=LIMIT)
    blocks = (_section(ctx, "Mis tickets", mine.items, mine.total, "No tiene tickets abiertos.")
              + _section(ctx, "Vencidos del equipo", overdue.items, overdue.total,
                         "Ningún ticket vencido. 🎉"))
    return {"type": "home", "blocks": blocks[:100]}


async def publish(ctx: SlackContext, slack_user_id: str, member: MemberView | None) -> None:
    await ctx.client.views_publish(user_id=slack_user_id, view=await home_view(ctx, member))


async def on_home_opened(ctx: SlackContext, slack_user_id: str) -> None:
    """The member opened the Home tab: remember them, and show the current state."""
    actor = await identity.resolve(ctx, slack_user_id)
    if actor is not None:
        await ctx.services.kv.set(HOME_USERS, slack_user_id, True)
    await publish(ctx, slack_user_id, actor.member if actor else None)


async def refresh_all(ctx: SlackContext) -> None:
    """A ticket changed: republish every Home that someone has opened."""
    for slack_user_id in await ctx.services.kv.all(HOME_USERS):
        member = await ctx.services.team.by_slack(slack_user_id)
        try:
            await publish(ctx, slack_user_id, member)
        except SlackApiError as exc:
            log.warning("home refresh failed user=%s: %s", slack_user_id,
                        exc.response.get("error"))
