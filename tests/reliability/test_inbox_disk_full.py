"""Disk full while storing an attachment: the message stays in the inbox (pending or
quarantined, raw kept), and is processed once there is room."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import timedelta

from tortoise import Tortoise

from bot.app.frontend import wired
from bot.services import Services
from db.models import Attachment, InboxItem, Interaction
from handlers.email import EmailFrontEnd
from tests.conftest import Team, sqlite_only
from tests.handlers.email.harness import mail
from tests.reliability.crash_harness import PYTHON, ROOT


@sqlite_only("the database file itself fills the disk (RLIMIT_FSIZE) and its WAL is checkpointed")
async def test_disk_full_keeps_the_message(services: Services, team: Team) -> None:
    data = os.urandom(3 * 1024 * 1024)
    raw = mail(body="Adjunto el contrato.", message_id="<full@example.cl>",
               attachments=[("contrato.pdf", "application/pdf", data)])
    ingestor = wired(services, EmailFrontEnd(services)).ingestor  # the processor, for retry
    accepted = await ingestor.accept(raw)
    # The child runs on the wall clock, which may be behind the test's clock.
    await InboxItem.filter(id=accepted.id).update(
        next_attempt_at=services.clock.now() - timedelta(days=365))
    # Checkpoint, so the child's database writes stay small: the attachment is what hits
    # the limit.
    await Tortoise.get_connection("default").execute_script("PRAGMA wal_checkpoint(TRUNCATE);")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({"PYTHONPATH": str(ROOT), "ATIENDE_DATA_DIR": str(services.settings.data_dir),
                "ATIENDE_DATABASE_URL": services.settings.effective_database_url})
    child = await asyncio.to_thread(
        subprocess.run, [PYTHON, "-m", "tests.reliability.disk_full_child", str(1024 * 1024)],
        cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert child.returncode == 0, child.stderr.decode()[-3000:]
    item = await InboxItem.get(id=accepted.id)
    assert item.status in ("pendiente", "en cuarentena"), child.stdout
    assert "File too large" in item.last_error, (child.stdout, item.last_error)
    kept = await services.inbox.get(item.id)
    assert kept is not None and kept.raw == raw  # kept, whole
    assert not await Interaction.filter(external_id="<full@example.cl>").exists()
    # Room again: "Reintentar" processes it, once.
    await InboxItem.filter(id=accepted.id).update(next_attempt_at=services.clock.now())
    entry = await services.inbox.retry(accepted.id)
    assert entry is not None and entry.status == "procesado", entry
    row = await Interaction.get(external_id="<full@example.cl>")
    files = await Attachment.filter(interaction_id=row.id, content_type="application/pdf")
    assert len(files) == 1 and files[0].size == len(data) and files[0].stored_path
