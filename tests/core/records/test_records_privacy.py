"""Personal-data requests (Ley 21.719): export one person, anonymise them, and then
find none of their values anywhere under the data directory."""

from __future__ import annotations

import json
import logging
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.logs import JsonFormatter
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from bot.process.errors import NotAllowed
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.records.archive import verify
from bot.records.export import COLUMNS, tickets_table, to_csv
from bot.records.privacy import OpenTickets
from bot.services import Services
from db.models import PersonalDataLog
from tests.conftest import SANTIAGO, Team, sqlite_only
from tests.core.app.test_cli_export import atiende

NAME, EMAIL, PHONE = "Ana Pérez Zúñiga", "ana.perez@example.cl", "+56912345678"
WORDS = "Zanahoria7731"  # a word only her messages contain
SHARED = b"Condiciones generales del servicio, version 3."
PERSONAL = [NAME, EMAIL, PHONE, "912345678", WORDS, "Pérez Zúñiga"]


async def ana_case(services: Services, team: Team) -> int:
    """Ana writes with a contract, her raw mail is kept, the team answers and closes."""
    s = services
    contract = s.attachments.store(f"Contrato de {NAME}, RUT 12.345.678-5, {WORDS}".encode(),
                                   f"contrato {NAME}.pdf", "application/pdf")
    raw = s.attachments.store(f"From: {NAME} <{EMAIL}>\r\n\r\n{WORDS}".encode(),
                              "original.eml", "message/rfc822", archival=True)
    shared = s.attachments.store(SHARED, "condiciones.pdf", "application/pdf")
    first = await s.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body=f"Hola, me cobraron dos veces. {WORDS}. Mi fono {PHONE}",
        external_id="<m1@example.cl>", email=EMAIL, name=NAME, subject=f"Cobro {WORDS}",
        attachments=[contract, raw, shared], meta={"from": f"{NAME} <{EMAIL}>"}))
    number = first.ticket.number  # type: ignore[union-attr]
    await s.customers.find_or_create(email=EMAIL, phone=PHONE)  # learns her phone
    await s.tickets.classify(team.admin, number, tipo=TipoIncidencia.RECLAMO,
                             prioridad=Prioridad.ALTA)
    await s.tickets.note(team.admin, number, f"Llamé a {NAME} al {PHONE}")
    await s.tickets.reply(team.admin, number, template=TemplateName.ACKNOWLEDGEMENT)
    await s.tickets.propose(team.admin, number, detalle="Reembolso")
    await s.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body=f"Sí, quedó resuelto. {WORDS}", email=EMAIL, name=NAME,
        external_id="<m2@example.cl>", ticket_number=number))
    if s.queries and (await s.queries.get(number)).estado is not Estado.RESOLVED:
        await s.tickets.confirm(team.admin, number)
    # someone else: the same shared file, and a note that names Ana
    bruno = await s.customers.find_or_create(email="bruno@example.cl", name="Bruno Díaz")
    other = await s.tickets.open(team.admin, customer_id=bruno.id, channel=Canal.EMAIL,
                                 description="Consulta", attachments=[shared])
    await s.tickets.note(team.admin, other.number, f"Recomendado por {NAME} ({EMAIL})")
    await s.kv.set("telegram", "conversation:nuevo", {"customer": EMAIL, "name": NAME})
    return number


def variants(value: str) -> list[bytes]:
    """How a value may sit in a file: UTF-8, JSON-escaped, any case."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return [f.lower().encode() for f in forms]


def every_file(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


def leaks(paths: list[Path]) -> list[tuple[str, str]]:
    found = []
    for path in paths:
        data = path.read_bytes().lower()
        found += [(path.name, v) for v in PERSONAL if any(f in data for f in variants(v))]
    return found


@pytest.fixture
def json_log(services: Services) -> Iterator[Path]:
    """Our JSON log written into the data directory, as an operator might set it up."""
    path = services.settings.data_dir / "atiende.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


@sqlite_only("a byte scan of the SQLite file, its WAL and free pages (PostgreSQL: test_records_postgres)")
async def test_export_then_anonymise_leaves_no_personal_value(
        services: Services, team: Team, tmp_path: Path, json_log: Path) -> None:
    number = await ana_case(services, team)
    before = await services.queries.get(number)
    db = Path(services.settings.effective_database_url.removeprefix("sqlite://"))
    files = [db, Path(f"{db}-wal"), *every_file(services.settings.data_dir)]
    assert {v for _, v in leaks(files)} >= {NAME, EMAIL, WORDS}  # the scan can see them

    # export: everything about her, files included, checked by the manifest
    path = await services.records.export_person(team.admin, PHONE, tmp_path / "out")
    manifest = verify(path)
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("datos.json"))
        contract = next(m for m in z.namelist() if "contrato" in m)
        assert WORDS.encode() in z.read(contract)
    assert doc["cliente"]["correo"] == EMAIL and doc["cliente"]["telefono"] == PHONE
    texts = [i["texto"] for t in doc["tickets"] for i in t["interacciones"]]
    assert any(WORDS in t for t in texts) and len(doc["tickets"]) == 1
    assert len([f for f in manifest["files"] if f["path"].startswith("adjuntos/")]) == 3

    result = await services.records.anonymise(team.admin, EMAIL)
    assert (result.tickets, result.files_deleted, result.files_shared) == (1, 2, 1)
    assert result.database_scrubbed

    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), *every_file(services.settings.data_dir)]
    assert json_log in files and json_log.stat().st_size > 0
    assert leaks(files) == []
    # the figures stay
    after = await services.queries.get(number)
    for attr in ("estado", "tipo", "prioridad", "created_at", "first_response_at",
                 "first_response_due", "resolution_due", "resolved_at", "conformity_kind"):
        assert getattr(after, attr) == getattr(before, attr), attr
    row = dict(zip(COLUMNS, to_csv(tickets_table([after]), SANTIAGO).decode("utf-8-sig")
                   .splitlines()[1]
                   .split(";"), strict=True))
    assert row["Estado"] == "Resuelto" and row["Tipo_Incidencia"] == "Reclamo"
    assert row["Cliente"].startswith("Cliente anonimizado")
    # the shared file is still Bruno's; the audit log names no one
    bruno = (await services.queries.search("bruno@example.cl"))[0]
    history = await services.queries.history(bruno.number)
    kept = [a for i in history for a in i.attachments]
    assert kept and Path(kept[0].stored_path or "").read_bytes() == SHARED
    logs = await PersonalDataLog.all().order_by("id")
    assert [entry.action for entry in logs] == ["exportación", "anonimización"]
    assert logs[1].customer_id == after.customer.id and logs[1].actor == "Carla"
    assert leaks([db]) == []


async def test_anonymise_refused_with_an_open_ticket_unless_forced(
        services: Services, team: Team, tmp_path: Path) -> None:
    customer = await services.customers.find_or_create(email=EMAIL, name=NAME)
    ticket = await services.tickets.open(team.admin, customer_id=customer.id,
                                         channel=Canal.EMAIL, description=f"Hola {WORDS}")
    with pytest.raises(NotAllowed):
        await services.records.anonymise(Actor.of(team.diego), EMAIL, force=True)
    with pytest.raises(OpenTickets, match=f"#{ticket.number}"):
        await services.records.anonymise(team.admin, EMAIL)
    assert (await services.customers.get(customer.id)).email == EMAIL
    assert await PersonalDataLog.all().count() == 0

    env = {"ATIENDE_DATABASE_URL": services.settings.effective_database_url}
    refused = atiende(tmp_path, "customers", "anonymise", EMAIL, env=env)
    assert refused.returncode == 1 and "tickets abiertos" in refused.stderr
    forced = atiende(tmp_path, "customers", "anonymise", EMAIL, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert f"#{ticket.number}" in forced.stdout
    view = await services.customers.get(customer.id)
    assert view.email is None and view.name.startswith("Cliente anonimizado")
    entry = await PersonalDataLog.get(action="anonimización")
    assert entry.details["forzado_con_abiertos"] == [ticket.number]
    assert (await services.queries.get(ticket.number)).estado is Estado.NEW


@sqlite_only("it reads the SQLite file to count the audit rows")
async def test_cli_export_by_phone_and_unknown_person(services: Services, team: Team,
                                                      tmp_path: Path) -> None:
    await ana_case(services, team)
    env = {"ATIENDE_DATABASE_URL": services.settings.effective_database_url}
    done = atiende(tmp_path, "customers", "export", "9 1234 5678", "--to", "out", env=env)
    assert done.returncode == 0, done.stderr
    archive = next((tmp_path / "out").glob("datos-cliente-*.zip"))
    assert verify(archive)["kind"] == "personal-data"
    missing = atiende(tmp_path, "customers", "export", "nadie@example.cl", env=env)
    assert missing.returncode == 1 and "No encontré" in missing.stderr
    unknown = atiende(tmp_path, "customers", "export", "12.345.678-5", env=env)
    assert unknown.returncode == 1 and "No encontré" in unknown.stderr
    ana = await services.customers.find("9 1234 5678")
    await services.customers.update(team.admin, ana.id, rut="12.345.678-5")
    by_rut = atiende(tmp_path, "customers", "export", "12.345.678-5", "--to", "rut", env=env)
    assert by_rut.returncode == 0, by_rut.stderr
    con = sqlite3.connect(services.settings.effective_database_url.removeprefix("sqlite://"))
    try:
        assert con.execute("SELECT count(*) FROM registro_datos_personales").fetchone()[0] == 2
    finally:
        con.close()


def test_a_rut_is_told_from_a_phone_number() -> None:
    from bot.records.people import _RUT, rut_candidates

    assert all(_RUT.match(r) for r in ("12.345.678-5", "12345678-5", "9.876.543-K"))
    assert not any(_RUT.match(r) for r in ("912345678", "+56 9 1234 5678", "12.345.678"))
    assert rut_candidates("9.876.543-k") == ["9876543-K", "9876543K", "9.876.543-K"]
