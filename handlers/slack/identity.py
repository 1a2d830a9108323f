"""Slack user -> team member: who is asking, decided before any action.

A Slack user whose email (``users.info``) matches an unlinked team member is linked
the first time they act; anyone else is told to ask the administrator and changes
nothing. Only a full member of our own workspace is linked by email: a guest
(restricted, ultra-restricted), a Slack Connect user (``is_stranger``, another
``team_id``) can show any email in their profile, so they are refused (the
administrator can still link them by id with ``atiende team add --slack-id``).
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.process.views import Actor
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
    refusal = await _not_our_member(ctx, user)
    if refusal:
        log.warning("slack user=%s not linked by email: %s", slack_user_id, refusal)
        return None
    member = await ctx.services.team.link_slack_by_email(slack_user_id, email)
    if member is None:
        return None
    log.info("linked slack user=%s to member=%s", slack_user_id, member.id)
    return Actor.of(member)


async def _not_our_member(ctx: SlackContext, user: dict[str, object]) -> str | None:
    """Why this profile's email cannot be trusted to link it, or None for a full member
    of our workspace (fails closed when our workspace cannot be told)."""
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return "guest account"
    if user.get("is_stranger"):
        return "external user (Slack Connect)"
    ours = await our_team(ctx)
    if ours is None:
        return "our workspace id is unknown (auth.test failed)"
    if user.get("team_id") != ours:
        return f"member of another workspace ({user.get('team_id')!r})"
    return None


async def our_team(ctx: SlackContext) -> str | None:
    """Our workspace id, from ``auth.test`` once; None while Slack cannot say."""
    if ctx.team_id is None:
        try:
            answer = await ctx.client.auth_test()
        except SlackApiError as exc:
            log.warning("slack auth.test failed: %s", exc.response.get("error"))
            return None
        team = answer.get("team_id")
        ctx.team_id = team if isinstance(team, str) and team else None
    return ctx.team_id


async def require(ctx: SlackContext, slack_user_id: str | None,
                  channel: str | None = None) -> Actor | None:
    """``resolve``, and when it fails tell the person why (privately)."""
    actor = await resolve(ctx, slack_user_id)
    if actor is None and slack_user_id:
        await ctx.tell(slack_user_id, NOT_ON_TEAM, channel)
    return actor
