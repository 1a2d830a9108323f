"""The records' daily jobs, run with the background jobs of ``atiende run``: the
backup (then the oldest beyond ``backup_keep`` deleted) and the retention sweep
(customers idle for ``anonymise_after_years``). A failure reaches the administrator
through the chat ``Notifier``s, since nobody reads a server's log every morning.

When: at ``backup_time`` in the company's zone, once per day even with several
processes (a claim in ``kv``). A day missed while Atiende was down is caught up at the
next start, but a fresh installation does not back up the moment it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.process.notify import Audience, Digest
from bot.records.backup import NotSqlite, backup_dir, make_backup, prune

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

KV = "records"
CHECK_SECONDS = 60.0


class DailyJobs:
    def __init__(self, services: Services) -> None:
        self.s = services
        self._last_check: datetime | None = None

    def _scheduled(self, now: datetime) -> datetime:
        """The latest ``backup_time`` at or before ``now`` (company zone)."""
        zone = self.s.settings.zone
        hours, minutes = (int(x) for x in self.s.settings.backup_time.split(":"))
        local = now.astimezone(zone)
        at = datetime.combine(local.date(), time(hours, minutes), tzinfo=zone)
        return at if at <= local else datetime.combine(local.date() - timedelta(days=1),
                                                       time(hours, minutes), tzinfo=zone)

    async def tick(self) -> list[str]:
        """Run what is due now; returns what ran ("respaldo", "retención")."""
        now = self.s.clock.now()
        scheduled = self._scheduled(now)
        day = scheduled.date().isoformat()
        last, self._last_check = self._last_check, now
        if last is None:
            previous = (await self.s.kv.get(KV, "last_day") or {}).get("day")
            if previous is None or previous >= day:
                return []  # fresh install, or already done: wait for the next time
        elif last >= scheduled:
            return []
        if not await self.s.kv.add_if_absent(KV, f"daily:{day}", {"at": now.isoformat()}):
            return []  # another process took today's run
        await self.s.kv.set(KV, "last_day", {"day": day})
        return [job for job in (await self._backup(now), await self._retention()) if job]

    async def _backup(self, now: datetime) -> str:
        settings = self.s.settings
        if not settings.backup_enabled:
            return ""
        target = backup_dir(settings)
        try:
            result = await asyncio.to_thread(make_backup, settings, target, now)
            await asyncio.to_thread(prune, target, settings.backup_keep)
        except NotSqlite:
            log.info("daily backup skipped: PostgreSQL is backed up with pg_dump")
            return ""
        except Exception as exc:
            log.exception("daily backup failed")
            await self._tell_admin("⚠️ El respaldo diario falló",
                                   f"No se pudo respaldar en {target}: {exc}. Revise el espacio "
                                   "en disco y los permisos de esa carpeta, y pruebe a mano con "
                                   "«atiende backup».")
            return ""
        log.info("daily backup done path=%s seconds=%.1f", result.path.name, result.seconds)
        return "respaldo"

    async def _retention(self) -> str:
        try:
            if await self.s.records.compact_if_pending():
                log.info("records: the pending database compaction is done")
            if not self.s.settings.anonymise_after_years:
                return ""
            done = await self.s.records.retention_sweep()
        except Exception as exc:
            log.exception("retention sweep failed")
            await self._tell_admin("⚠️ La retención de datos falló",
                                   f"No se pudo anonimizar a los clientes inactivos: {exc}.")
            return ""
        if done:
            log.info("retention: anonymised customers=%s", done)
        return "retención"

    async def _tell_admin(self, title: str, text: str) -> None:
        admin = await self.s.team.admin()
        digest = Digest(Audience.ADMIN, admin, title, summary=text)
        told = False
        for notifier in self.s.notifiers:
            if not notifier.can_reach(digest):
                continue
            try:
                await notifier.deliver(digest)
                told = True
            except Exception:
                log.exception("could not tell the administrator through %s", notifier.name)
        if not told:
            log.error("nobody could be told: %s", text)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("records daily jobs failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CHECK_SECONDS)
