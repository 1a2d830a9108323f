"""Slack user -> team member: who is asking, decided before any action.

A Slack user whose email (``users.info``) matches an unlinked team member is linked
the first time they act; anyone else is told to ask the administrator and changes
nothing.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.views import Actor
from handlers.slack.context import SlackContext

log = logging.getLogger(__name__)

NOT_ON_TEAM = ("No está registrado en el equipo de Atiende, así que no puede hacer cambios. "
               "Pida al administrador que lo agregue con su correo de Slack.")


async def resolve(ctx: SlackContext, slack_user_id: str | None) -> Actor | None:
    """The acting team member, linking by email on first contact; None if not on the team."""
    if not slack_user_id:
        return None
    member = await ctx.services.team.by_slack(slack_user_id)
    if member is not None:
        return Actor.of(member)
    try:
        info = await ctx.client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        log.info("unknown slack user=%s (%s)", slack_user_id, exc.response.get("error"))
        return None
    user = info.get("user") or {}
    email = (user.get("profile") or {}).get("email")
    if user.get("is_bot") or user.get("deleted") or not email:
        return None
    member = await ctx.services.team.link_slack_by_email(slack_user_id, email)
    if member is None:
        return None
    log.info("linked slack user=%s to member=%s", slack_user_id, member.id)
    return Actor.of(member)


async def require(ctx: SlackContext, slack_user_id: str | None,
                  channel: str | None = None) -> Actor | None:
    """``resolve``, and when it fails tell the person why (privately)."""
    actor = await resolve(ctx, slack_user_id)
    if actor is None and slack_user_id:
        await ctx.tell(slack_user_id, NOT_ON_TEAM, channel)
    return actor
