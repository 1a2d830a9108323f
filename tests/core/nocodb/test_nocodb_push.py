"""Push to a real NocoDB: a ticket's whole life appears with the process's names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.nocodb.push import Pusher
from bot.nocodb.schema import check, setup
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.settings import Settings
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.services import Services
from db.models import Interaction, NocoSync
from handlers.nocodb.api import HttpNocoApi
from tests.conftest import Team
from tests.core.nocodb.harness import nocodb_settings
from tests.servers.nocodb import NocoDBServer


@pytest.fixture
def settings(tmp_path: Path, nocodb_server: NocoDBServer) -> Settings:
    return nocodb_settings(tmp_path, nocodb_server)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[HttpNocoApi]:
    client = HttpNocoApi(settings.nocodb_url, settings.nocodb_token)
    yield client
    await client.aclose()


async def test_setup_creates_the_tables_and_twice_changes_nothing(
        api: HttpNocoApi, settings: Settings, nocodb_server: NocoDBServer) -> None:
    assert await check(api, settings) == ["falta la tabla Clientes", "falta la tabla Tickets",
                                          "falta la tabla Interacciones"]
    first = await setup(api, settings, "http://127.0.0.1:9/webhooks/nocodb")
    assert "tabla Tickets creada" in first and "Tickets.Cliente: enlace a Clientes creado" in first
    assert await check(api, settings) == []
    tables = nocodb_server.tables(settings.nocodb_base_id)
    before = {t: nocodb_server.call("GET", f"/api/v2/meta/tables/{tid}")["columns"]
              for t, tid in tables.items()}
    assert await setup(api, settings, "http://127.0.0.1:9/webhooks/nocodb") == []
    after = {t: nocodb_server.call("GET", f"/api/v2/meta/tables/{tid}")["columns"]
             for t, tid in nocodb_server.tables(settings.nocodb_base_id).items()}
    assert after == before
    hooks = nocodb_server.call("GET", f"/api/v2/meta/tables/{tables['Tickets']}/hooks")["list"]
    assert sorted(h["title"] for h in hooks) == ["atiende-bulkUpdate", "atiende-update"]


async def test_check_names_each_problem_in_one_line(
        api: HttpNocoApi, settings: Settings, nocodb_server: NocoDBServer) -> None:
    base = settings.nocodb_base_id
    nocodb_server.call("POST", f"/api/v2/meta/bases/{base}/tables", {
        "table_name": "Tickets", "title": "Tickets", "columns": [
            {"column_name": "id", "title": "Id", "uidt": "ID"},
            {"column_name": "Ticket", "title": "Ticket", "uidt": "SingleLineText"},
            {"column_name": "Prioridad", "title": "Prioridad", "uidt": "SingleSelect",
             "colOptions": {"options": [{"title": "Baja"}, {"title": "Alta"}]}}]})
    problems = await check(api, settings)
    assert "Tickets.Ticket: tipo SingleLineText, se espera Number" in problems
    assert "Tickets.Prioridad: falta la opción «Media»" in problems
    assert "Tickets: falta la columna Estado" in problems
    # setup adds the missing option and columns but never retypes the company's column
    await setup(api, settings)
    problems = await check(api, settings)
    assert problems == ["Tickets.Ticket: tipo SingleLineText, se espera Number"]


async def test_a_value_nocodb_refuses_does_not_hold_back_the_others(
        services: Services, api: HttpNocoApi, settings: Settings,
        nocodb_server: NocoDBServer) -> None:
    await setup(api, settings)
    tables = nocodb_server.tables(settings.nocodb_base_id)
    column = next(c for c in nocodb_server.call(
        "GET", f"/api/v2/meta/tables/{tables['Tickets']}")["columns"] if c["title"] == "Estado")
    nocodb_server.call("PATCH", f"/api/v2/meta/columns/{column['id']}", {  # company's choice
        "title": "Estado", "column_name": "Estado", "uidt": "SingleSelect",
        "colOptions": {"options": [o for o in column["colOptions"]["options"]
                                   if o["title"] != "Nuevo"]}})
    customer = await services.customers.find_or_create(email="b@c.cl", name="B")
    for n in range(3):
        await services.tickets.open(Actor.system(), customer_id=customer.id,
                                    channel=Canal.EMAIL, description=f"caso {n}")
    pusher = Pusher(api, settings, services.clock)
    await pusher.drain()
    assert await NocoSync.all().count() == 0
    assert len(pusher.rejected) == 3 and "Nuevo" in pusher.rejected[0]
    assert len(nocodb_server.rows(tables["Interacciones"])) == 3  # the history still went
    assert len(nocodb_server.rows(tables["Clientes"])) == 1


async def test_a_tickets_whole_life_appears_in_nocodb(
        services: Services, team: Team, api: HttpNocoApi, settings: Settings,
        nocodb_server: NocoDBServer) -> None:
    await setup(api, settings)
    pusher = Pusher(api, settings, services.clock)
    customer = await services.customers.find_or_create(email="ana@cliente.cl", name="Ana Rojas")
    ticket = await services.tickets.open(Actor.system("Correo"), customer_id=customer.id,
                                         channel=Canal.EMAIL, subject="No puedo entrar",
                                         description="El panel me rechaza la clave.")
    assert await NocoSync.all().count() > 0  # queued with the change
    assert await pusher.drain() >= 3
    tables = nocodb_server.tables(settings.nocodb_base_id)
    [row] = nocodb_server.rows(tables["Tickets"])
    assert row["Ticket"] == ticket.number and row["Estado"] == "Nuevo"
    assert row["Asunto"] == "No puedo entrar" and row["Canal"] == "Correo electrónico"

    admin, diego = team.admin, team.actor(team.diego)
    n = ticket.number
    await services.tickets.classify(admin, n, tipo=TipoIncidencia.RECLAMO,
                                    prioridad=Prioridad.ALTA)
    await services.tickets.assign(admin, n, team.diego.id)
    await services.tickets.reply(diego, n, template=TemplateName.INFO_REQUEST)
    await services.tickets.propose(diego, n, detalle="Restablecimos su clave.")
    await services.tickets.confirm(Actor.system("Correo"), n)
    await pusher.drain()
    assert await NocoSync.all().count() == 0

    [row] = nocodb_server.rows(tables["Tickets"])
    assert row["Estado"] == "Resuelto" and row["Prioridad"] == "Alta"
    assert row["Tipo_Incidencia"] == "Reclamo" and row["Responsable"] == "Diego"
    assert row["Fecha_Resolucion"] and row["Fecha_Primera_Respuesta"]
    assert row["Plazo_Resolucion"] and row["Conformidad"] == "expresa"
    assert row["Cliente"]["Nombre"] == "Ana Rojas"
    [client] = nocodb_server.rows(tables["Clientes"])
    assert client["Correo"] == "ana@cliente.cl" and client["Atiende_Id"] == customer.id
    ours = await Interaction.filter(ticket_id=n).order_by("id")
    theirs = nocodb_server.rows(tables["Interacciones"])
    assert sorted(r["Atiende_Id"] for r in theirs) == [i.id for i in ours]
    assert all(r["Ticket"]["Id"] == row["Id"] for r in theirs)
    texts = {r["Texto"] for r in theirs}
    assert "Estado: Pendiente de conformidad → Resuelto" in texts
    assert "El panel me rechaza la clave." in texts


async def test_the_companys_own_column_names_through_the_mapping(
        services: Services, team: Team, settings: Settings, nocodb_server: NocoDBServer
        ) -> None:
    settings = settings.model_copy(update={"nocodb_columns": {
        "Tickets.Prioridad": "Urgencia", "Clientes.Correo": "Email"}})
    client = HttpNocoApi(settings.nocodb_url, settings.nocodb_token)
    try:
        await setup(client, settings)
        assert await check(client, settings) == []
        customer = await services.customers.find_or_create(email="m@n.cl", name="M")
        view = await services.tickets.open(Actor.system(), customer_id=customer.id,
                                           channel=Canal.EMAIL, description="x")
        await services.tickets.classify(team.admin, view.number, prioridad=Prioridad.BAJA)
        await Pusher(client, settings, services.clock).drain()
    finally:
        await client.aclose()
    tables = nocodb_server.tables(settings.nocodb_base_id)
    [row] = nocodb_server.rows(tables["Tickets"])
    assert row["Urgencia"] == "Baja" and "Prioridad" not in row
    [cliente] = nocodb_server.rows(tables["Clientes"])
    assert cliente["Email"] == "m@n.cl" and "Correo" not in cliente
