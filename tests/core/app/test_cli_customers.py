"""``atiende customers merge A B`` as a person runs it, on the database the test fills."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.process.errors import CustomerNotFound
from bot.services import Services
from tests.conftest import Team
from tests.core.app.test_cli_export import atiende


async def test_cli_merge(services: Services, team: Team, tmp_path: Path) -> None:
    a = await services.intake.receive(IncomingMessage(
        Canal.EMAIL, "Hola", "<cli1@example.cl>", email="ana@example.cl", name="Ana Pérez"))
    b = await services.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "Hola otra vez", "wamid.cli", phone="56912345678", name="Anita"))
    assert a.ticket and b.ticket
    keep, drop, moved = a.ticket.customer.id, b.ticket.customer.id, b.ticket.number
    env = {"ATIENDE_DATABASE_URL": services.settings.database_url}

    same = atiende(tmp_path, "customers", "merge", str(keep), "ana@example.cl", env=env)
    assert same.returncode == 1 and "mismo cliente" in same.stderr
    unknown = atiende(tmp_path, "customers", "merge", str(keep), "999", env=env)
    assert unknown.returncode == 1 and "No encontré ningún cliente con «999»" in unknown.stderr

    done = atiende(tmp_path, "customers", "merge", "ana@example.cl", "+56 9 1234 5678",
                   "--por", "Diego", env=env)
    assert done.returncode == 0, done.stderr
    assert f"✓ Clientes fusionados por Diego: queda Ana Pérez (cliente {keep})." in done.stdout
    t = await services.queries.get(moved)
    assert t.number == moved and t.customer.id == keep and t.customer.phone == "+56912345678"
    (line,) = [i for i in await services.queries.history(moved) if i.field == "Cliente"]
    assert line.author_name == "Diego"
    with pytest.raises(CustomerNotFound):
        await services.customers.get(drop)
