"""``atiende mail import`` killed with SIGKILL mid-import: each committed batch holds its
mails whole (processed, with their inbox rows: one commit makes both durable), the
batch in progress leaves nothing, and importing again stores every mail exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from bot.incoming.inbox_items import DONE
from bot.process.settings import Settings
from db.models import InboxItem, InboxRaw, Interaction, Ticket
from handlers.email.importer import BATCH_MESSAGES
from tests.conftest import Team
from tests.handlers.email.test_import_batches import write_mails
from tests.reliability.crash_harness import PYTHON, ROOT, wait_until

MAILS = 3 * BATCH_MESSAGES + 10


def spawn(folder: Path, database: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({"PYTHONPATH": str(ROOT), "ATIENDE_DATABASE_URL": database,
                "ATIENDE_DATA_DIR": str(data_dir)})
    with log.open("ab") as out:
        return subprocess.Popen([PYTHON, "-m", "bot", "mail", "import", str(folder), "-q"],
                                stdout=out, stderr=out, cwd=ROOT, env=env)


def _alive(folder: Path) -> list[int]:
    """Processes whose command line names ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(folder).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return found


async def test_a_kill_mid_import_keeps_whole_batches_and_a_rerun_stores_each_once(
        database: str, settings: Settings, team: Team, tmp_path: Path) -> None:
    ids = write_mails(tmp_path / "mails", MAILS)
    log = tmp_path / "import.log"
    child = spawn(tmp_path / "mails", database, tmp_path / "data", log)
    try:
        async def first_batch() -> bool:
            return await InboxItem.all().count() >= BATCH_MESSAGES

        await wait_until(first_batch, 120, "the first batch committed")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    # The helper process translating batches ahead (forked: the same command line)
    # leaves once orphaned.
    await wait_until(lambda: not _alive(tmp_path / "mails"), 15, "the helper gone")
    stored = await InboxItem.all().count()
    assert stored % BATCH_MESSAGES == 0 or stored == MAILS  # whole batches only
    # Every stored row is a processed mail, and every processed mail has its row.
    assert await InboxItem.filter(status=DONE).count() == stored
    assert await InboxRaw.all().count() == stored
    assert await Interaction.filter(external_id__in=ids).count() == stored
    assert await Ticket.all().count() == stored

    again = spawn(tmp_path / "mails", database, tmp_path / "data", log)
    assert again.wait(300) == 0, log.read_text(errors="replace")[-3000:]
    assert await InboxItem.all().count() == MAILS
    assert sorted(await Interaction.filter(external_id__in=ids)
                  .values_list("external_id", flat=True)) == sorted(ids)  # each once
    assert await Ticket.all().count() == MAILS
