"""Deterministic kills around the inbox. A text is stored and processed in one commit:
killed before it (mid-processing) or between it and the 200. Media is stored first and
processed after: killed between the inbox commit and the 200, and between the 200 and
processing. Nothing lost, nothing twice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from bot.process.domain import Canal
from db.models import InboxItem, Interaction
from tests.handlers.whatsapp.harness import image_payload, text_payload
from tests.reliability.crash_harness import (
    PYTHON,
    ROOT,
    AtiendeProcess,
    atiende_env,
    expire_leases,
    wait_until,
    whatsapp_body,
)
from tests.servers import FakeGraph, ImapAccount, SmtpServer

pytestmark = [pytest.mark.imap]


class ArmedProcess(AtiendeProcess):
    """The same process, started through the module that arms one kill."""

    def __init__(self, *args: object, mode: str) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.mode = mode

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen([PYTHON, "-m", "tests.reliability.inbox_child", self.mode],
                                    stdin=subprocess.PIPE, stdout=log, stderr=log,
                                    cwd=self.cwd, env=self.env)


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _count(wamid: str) -> int:
    return await Interaction.filter(channel=Canal.WHATSAPP, external_id=wamid).count()


@pytest.mark.parametrize(("mode", "kind"), [
    ("mid-processing", "text"), ("after-commit", "text"),
    ("after-commit", "image"), ("after-ack", "image")])
async def test_a_kill_around_the_acknowledgement_loses_nothing(
        mode: str, kind: str, database: str, settings: object, tmp_path: Path,
        fake_graph: FakeGraph, imap_server: ImapAccount, smtp_server: SmtpServer) -> None:
    port = _port()
    env = atiende_env(database_url=database, data_dir=tmp_path / "data", http_port=port,
                      graph=fake_graph, imap=imap_server, smtp=smtp_server)
    log = tmp_path / "atiende.log"
    armed = ArmedProcess(env, ROOT, port, log, mode=mode)
    wamid = f"wamid.KILL-{mode}-{kind}"
    if kind == "text":
        payload = text_payload(wamid, "hola, no tengo internet")
    else:
        fake_graph.add_media("777", b"\x89PNG foto del router", "image/png")
        payload = image_payload(wamid, media_id="777")
    body, headers = whatsapp_body(payload)
    await armed.start()
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            response = await http.post(f"{armed.url}/webhooks/whatsapp", content=body,
                                       headers=headers)
            answered = response.status_code
        except httpx.HTTPError:
            answered = None
        assert armed.proc is not None and armed.proc.wait(timeout=10) == -9, armed.log_tail()
        assert answered == (200 if mode == "after-ack" else None)  # else Meta redelivers
        stored = await InboxItem.filter(key=f"whatsapp:{wamid}").count()
        if kind == "text":  # one commit for both: all of it, or none of it
            done = mode == "after-commit"
            assert (stored, await _count(wamid)) == ((1, 1) if done else (0, 0))
        else:
            assert (stored, await _count(wamid)) == (1, 0)  # stored, not yet processed
            # Stored with the dying worker's claim: due once the claim runs out (30 s).
            # The outage is taken to have outlasted it (what waiting would do).
            item = await InboxItem.get(key=f"whatsapp:{wamid}")
            assert item.next_attempt_at > item.created_at
            await expire_leases()
        normal = AtiendeProcess(env, ROOT, port, log)
        await normal.start()
        try:
            if answered is None:  # Meta's redelivery: processed, or recognised; 200
                again = await http.post(f"{normal.url}/webhooks/whatsapp", content=body,
                                        headers=headers)
                assert again.status_code == 200

            async def processed() -> bool:
                return await _count(wamid) == 1

            await wait_until(processed, 30, "the restarted process to process the item")
        finally:
            assert normal.stop() == 0, normal.log_tail()
    assert await _count(wamid) == 1
    assert await InboxItem.filter(key=f"whatsapp:{wamid}", status="procesado").count() == 1
