"""Reminders in Slack (``bot.process.notify.Notifier``): for the support channel, and for
assignees who use Slack, as a mention in the ticket's thread or one digest message."""

from __future__ import annotations

from bot.outgoing.fitting import fit_lines
from bot.process.notify import Audience, Digest
from handlers.slack.context import PLATFORM, SlackContext
from handlers.slack.inbox import action_blocks
from handlers.slack.mrkdwn import escape, mention
from handlers.slack.report import send_report

# One message's text; Slack's limit is 40,000 but a digest is read on a phone: past a
# screenful it says how many more there are (the summary line always stays).
DIGEST_MAX = 3900


class SlackNotifier:
    name = "slack"

    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    def can_reach(self, digest: Digest) -> bool:
        if digest.audience is Audience.CHANNEL:
            return bool(self.ctx.channel)
        if digest.audience is Audience.ASSIGNEE:
            return bool(self.ctx.channel and digest.member and digest.member.slack_user_id)
        return False

    async def deliver(self, digest: Digest) -> None:
        """One notice: in its ticket's thread. Several, or a summary: one message.
        Posts go through the channel pacer (~1/s); 429s are retried by the client."""
        if digest.report is not None:
            await send_report(self.ctx, self.ctx.channel, digest.report)
            return
        who = ""
        if digest.audience is Audience.ASSIGNEE and digest.member is not None:
            who = mention(digest.member.slack_user_id, digest.member.name) + " "
        if len(digest.notices) == 1 and not digest.summary:
            notice = digest.notices[0]
            ref = await self.ctx.services.cards.get(PLATFORM, notice.ticket.number,
                                                    self.ctx.channel)
            if ref is not None:
                await self.ctx.post(ref.chat_id, thread_ts=ref.thread_id or ref.message_id,
                                    text=f"⏰ {who}{escape(notice.text)}")
                return
        if digest.actions:  # e.g. a quarantined message: its one-tap "Reintentar"
            text = f"⚠️ *{escape(digest.title)}*\n{escape(digest.summary)}"[:2900]
            await self.ctx.post(self.ctx.channel, text=text, blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                *action_blocks(digest.actions)])
            return
        text = fit_lines([f"• {escape(n.text)}" for n in digest.notices],  # "#n ..." each
                         DIGEST_MAX, header=f"⏰ {who}*{escape(digest.title)}*",
                         footer=escape(digest.summary), more=lambda n: f"… y {n} más.")
        await self.ctx.post(self.ctx.channel, text=text)
