"""Moving house: ``atiende db copy --to postgres://…`` copies a SQLite installation with a
whole ticket life, verifies every table, refuses a non-empty target, and the app keeps
working on the copy (the next ticket counts on from the last one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.incoming.intake import IncomingMessage
from bot.process.clock import ManualClock
from bot.process.domain import Canal, Estado, Prioridad, Rol, TipoIncidencia
from bot.process.settings import Settings
from bot.process.views import Actor
from bot.services import build_services
from db.connection import close_database, open_database, upgrade
from db.copy import ordered_models
from db.models import Attachment, Interaction, OutboxMessage, Ticket
from tests.core.app.test_cli_export import atiende

pytestmark = pytest.mark.postgres


async def _ticket_life(settings: Settings, clock: ManualClock) -> int:
    services = build_services(settings, clock)
    carla = Actor.of(await services.team.add("Carla", Rol.ADMIN, email="carla@empresa.cl"))
    photo = services.attachments.store(b"\x89PNG foto", "boleta.png", "image/png")
    first = await services.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "Me cobraron dos veces", "wamid.copy1", phone="56912345678",
        name="Ana Pérez", attachments=[photo]))
    other = await services.intake.receive(IncomingMessage(
        Canal.EMAIL, "¿Tienen factura electrónica?", "<copy2@example.cl>",
        email="juan@example.cl", name="Juan"))
    assert first.ticket and other.ticket
    n = first.ticket.number
    await services.tickets.classify(carla, n, tipo=TipoIncidencia.RECLAMO,
                                    prioridad=Prioridad.ALTA)
    await services.tickets.reply(carla, n, text="Lo revisamos, «Ana»")
    await services.tickets.note(carla, n, "llamó; 'urgente'")
    await services.tickets.propose(carla, n, detalle="Devolución hecha")
    await services.tickets.confirm(carla, n)
    await services.kv.set("telegram", "conversations", {"a": [1, 2, {"ñ": None}]})
    return n


async def test_copy_a_whole_installation_to_postgres(tmp_path: Path, postgres_url: str,
                                                     clock: ManualClock) -> None:
    source = f"sqlite://{tmp_path / 'old.db'}"
    settings = Settings(_env_file=None, data_dir=tmp_path / "data",  # type: ignore[call-arg]
                        database_url=source, timezone="America/Santiago")
    await upgrade(source)
    await open_database(source)
    try:
        resolved = await _ticket_life(settings, clock)
        before = {m._meta.db_table: await m.all().count() for m in ordered_models()}
        photo = (await Attachment.get()).stored_path
    finally:
        await close_database()
    env = {"ATIENDE_DATABASE_URL": source}

    copy = atiende(tmp_path, "db", "copy", "--to", postgres_url, env=env)
    assert copy.returncode == 0, copy.stderr + copy.stdout
    lines = copy.stdout.splitlines()
    for table, rows in before.items():  # one verified progress line per table
        assert f"{table}: {rows} filas, sha256 " in copy.stdout
        assert any(line.startswith(f"{table}:") and line.endswith("verificada")
                   for line in lines)
    assert "Copia verificada" in lines[-1]
    again = atiende(tmp_path, "db", "copy", "--to", postgres_url, env=env)
    assert again.returncode == 1 and "no está vacía" in again.stderr

    await open_database(postgres_url)
    try:
        after = {m._meta.db_table: await m.all().count() for m in ordered_models()}
        assert after == before and before["tickets"] == 2 and before["interacciones"] >= 6
        services = build_services(settings.model_copy(update={"database_url": postgres_url}),
                                  clock)
        view = await services.queries.get(resolved)
        assert view.estado is Estado.RESOLVED and view.resolved_at == clock.now()
        assert view.tipo is TipoIncidencia.RECLAMO and view.customer.name == "Ana Pérez"
        assert (await Attachment.get()).stored_path == photo and Path(photo).exists()
        assert await services.kv.get("telegram", "conversations") == {"a": [1, 2, {"ñ": None}]}
        assert await OutboxMessage.filter(interaction__body="Lo revisamos, «Ana»").exists()
        carla = Actor.of((await services.team.list())[0])
        customer = await services.customers.find_or_create(email="nueva@example.cl")
        new = await services.tickets.open(carla, customer_id=customer.id,
                                          channel=Canal.EMAIL, description="Después")
        assert new.number == max(await Ticket.all().values_list("id", flat=True)) == 3
        assert await Interaction.filter(ticket_id=new.number).count() >= 1
    finally:
        await close_database()


async def test_copy_refuses_what_is_not_postgres(tmp_path: Path) -> None:
    done = atiende(tmp_path, "db", "copy", "--to", f"sqlite://{tmp_path / 'x.db'}")
    assert done.returncode == 1 and "PostgreSQL" in done.stderr
