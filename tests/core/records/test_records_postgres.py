"""Personal-data requests and the case file on a real PostgreSQL (nothing SQLite-only,
except the backup, which says to use pg_dump)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bot.process.domain import Canal, Rol
from bot.process.views import Actor
from bot.records.backup import NotSqlite, make_backup
from bot.services import build_services
from db.connection import close_database, open_database, upgrade
from db.models import Interaction, PersonalDataLog


async def test_export_anonymise_and_case_file_on_postgres(postgres_url: str, settings,  # type: ignore[no-untyped-def]
                                                          clock, tmp_path: Path) -> None:
    await upgrade(postgres_url)
    await open_database(postgres_url)
    try:
        s = build_services(settings.model_copy(update={"database_url": postgres_url}), clock)
        admin = Actor.of(await s.team.add("Carla", Rol.ADMIN))
        customer = await s.customers.find_or_create(email="ana@example.cl", name="Ana Pérez")
        stored = s.attachments.store(b"boleta de Ana", "boleta.pdf", "application/pdf")
        view = await s.tickets.open(admin, customer_id=customer.id, channel=Canal.EMAIL,
                                    description="Me cobraron dos veces", attachments=[stored])
        case = await s.records.write_case_file(view.number, tmp_path)
        with zipfile.ZipFile(case) as z:
            assert "Me cobraron dos veces" in z.read("expediente.html").decode()
        exported = await s.records.export_person(admin, "ana@example.cl", tmp_path)
        assert exported.exists()
        result = await s.records.anonymise(admin, "ana@example.cl", force=True)
        assert result.database_scrubbed and result.files_deleted == 1
        assert not Path(stored.stored_path or "").exists()
        bodies = await Interaction.filter(ticket_id=view.number).values_list("body", flat=True)
        assert "Me cobraron dos veces" not in bodies
        assert await PersonalDataLog.filter(customer_id=customer.id).count() == 2
        with pytest.raises(NotSqlite, match="pg_dump"):
            make_backup(s.settings, tmp_path / "bk", clock.now())
    finally:
        await close_database()
