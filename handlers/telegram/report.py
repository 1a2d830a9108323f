"""``/reporte [semana|mes|AAAA-MM|desde hasta]``: the summary and the charts, in the chat.

Any linked team member may ask (the access guard stops everyone else). The text comes
first, then the six charts as one album whose captions carry each chart's figures.
"""

from __future__ import annotations

import html

from telegram import Bot, InputMediaPhoto, Update
from telegram.constants import ChatAction

from bot.reports import Report, ReportService
from bot.reports.text import caption
from handlers.telegram.common import Desk, DeskContext


class ReportCommand:
    def __init__(self, desk: Desk) -> None:
        self.reports = ReportService(desk.s.settings, desk.s.clock)

    async def report(self, update: Update, context: DeskContext) -> None:
        """/reporte: a bad period is a DomainError, which the error handler explains."""
        period = self.reports.period(list(context.args or [])[:2] if context.args else "")
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
        report = await self.reports.build(period)
        await send_report(context.bot, chat.id, report)


async def send_report(bot: Bot, chat_id: int | str, report: Report) -> None:
    """The summary text, then the charts as one album (also used by the weekly report)."""
    await bot.send_message(chat_id, f"<pre>{html.escape(report.text[:3900])}</pre>")
    media = [InputMediaPhoto(chart.png, filename=f"{chart.name}.png",
                             caption=html.escape(caption(chart.title,
                                                         report.tables[chart.name], 900)))
             for chart in report.charts]
    if len(media) >= 2:
        await bot.send_media_group(chat_id, media)
