"""Shared set-up of the NocoDB tests: settings pointing at a fresh base of the session's
real NocoDB, the httpx client, and a notifier that records what the team is told."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.process.notify import Digest
from bot.process.settings import Settings
from tests.servers.nocodb import NocoDBServer

SECRET = "nocodb-test-secret"


def nocodb_settings(tmp_path: Path, server: NocoDBServer, url: str = "", **extra: object
                    ) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data",  # type: ignore[call-arg]
                    database_url=f"sqlite://{tmp_path / 'atiende.db'}",
                    timezone="America/Santiago", holidays_country="CL",
                    company_name="Hosting Andino", nocodb_url=url or server.url,
                    nocodb_token=server.token, nocodb_base_id=server.new_base(),
                    nocodb_webhook_secret=SECRET, **extra)


@dataclass
class RecordingNotifier:
    """Records what the team would be told (no chat is under test here)."""

    name: str = "recording"
    digests: list[Digest] = field(default_factory=list)

    def can_reach(self, digest: Digest) -> bool:
        return True

    async def deliver(self, digest: Digest) -> None:
        self.digests.append(digest)

    @property
    def texts(self) -> list[str]:
        return [d.summary for d in self.digests]
