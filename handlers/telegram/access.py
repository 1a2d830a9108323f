"""Who is asking: only active team members linked to Telegram act.

The guard runs before every other handler (group -1). A member is put on the context;
anyone else gets one polite refusal per attempt (in a private chat or on a button) and
the update goes no further, so nothing changes. ``/start <code>`` links a Telegram
account to a team member through the one-time invite ``atiende team invite`` prints.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.process.errors import DomainError
from handlers.telegram.cards import popup
from handlers.telegram.common import Desk, DeskContext

log = logging.getLogger(__name__)

REFUSAL = ("Hola. Este bot es solo para el equipo de Atención al Cliente, así que no "
           "puedo atenderle por aquí. Si usted es parte del equipo, pida a {admin} un "
           "enlace de invitación.")


class Access:
    def __init__(self, desk: Desk, help_text: str) -> None:
        self.desk = desk
        self.help_text = help_text

    async def guard(self, update: Update, context: DeskContext) -> None:
        """Put the acting member on the context, or refuse once and stop the update."""
        user = update.effective_user
        if user is None or user.is_bot:
            raise ApplicationHandlerStop  # channel posts, polls, ...: nobody to serve
        member = await self.desk.s.team.by_telegram(user.id)
        if member is not None:
            context.member = member
            return
        code = _start_code(update)
        if code:
            await self._redeem(update, code)
        elif update.callback_query is not None:
            await update.callback_query.answer(popup(await self._refusal()), show_alert=True)
        elif update.message is not None and update.message.chat.type == ChatType.PRIVATE:
            await update.message.reply_text(await self._refusal(), parse_mode=None)
        log.info("telegram: refused user=%s update=%s", user.id, update.update_id)
        raise ApplicationHandlerStop

    async def _refusal(self) -> str:
        admin = await self.desk.s.team.admin()
        return REFUSAL.format(admin=f"{admin.name} (administración)" if admin else
                              "la administración")

    async def _redeem(self, update: Update, code: str) -> None:
        assert update.message is not None and update.effective_user is not None
        try:
            member = await self.desk.s.team.redeem_invite(code, update.effective_user.id)
        except DomainError as exc:
            await update.message.reply_text(f"✗ {exc} {await self._refusal()}", parse_mode=None)
            return
        log.info("telegram: linked user=%s to member=%s", update.effective_user.id, member.id)
        await update.message.reply_text(
            f"✓ Listo, {member.name}: su cuenta de Telegram quedó vinculada al equipo.\n\n"
            + self.help_text, parse_mode=None)

    async def start(self, update: Update, context: DeskContext) -> None:
        """/start from a member (already linked): the help."""
        assert update.message is not None
        await update.message.reply_text(
            f"Hola, {context.member.name if context.member else ''}.\n\n{self.help_text}",
            parse_mode=None)


def _start_code(update: Update) -> str | None:
    """The invite code of a ``/start <code>`` message (a t.me/<bot>?start=<code> link)."""
    text = (update.message.text or "") if update.message is not None else ""
    words = text.split()
    if len(words) == 2 and words[0].split("@")[0] == "/start":
        return words[1]
    return None
