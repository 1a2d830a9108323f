"""``/ticket reporte [semana|mes|AAAA-MM|desde hasta]``: the report in the channel asked from.

The summary and the six charts go to the channel (a report is for the team, unlike the
ephemeral lookups), followed by each chart's figures as text, for screen readers and
for anyone who prefers numbers to bars.
"""

from __future__ import annotations

from bot.reports import Report, ReportService
from bot.reports.text import caption
from handlers.slack.context import SlackContext
from handlers.slack.mrkdwn import escape


async def post_report(ctx: SlackContext, channel: str, words: list[str]) -> None:
    """Build and post; a bad period raises DomainError (the caller tells the person)."""
    reports = ReportService(ctx.services.settings, ctx.services.clock)
    period = reports.period(words[:2])
    await send_report(ctx, channel, await reports.build(period))


async def send_report(ctx: SlackContext, channel: str, report: Report) -> None:
    """Summary as the upload's comment, the PNGs, then the tables (also the weekly post)."""
    await ctx.pacer.wait(channel)
    await ctx.client.files_upload_v2(
        channel=channel, initial_comment=f"```{escape(report.text)}```",
        file_uploads=[{"content": c.png, "filename": f"{c.name}.png", "title": c.title}
                      for c in report.charts])
    tables = "\n\n".join(caption(c.title, report.tables[c.name], 600) for c in report.charts)
    await ctx.post(channel, text=f"```{escape(tables)}```"[:3900])
