"""The ``atiende`` command as a person runs it, and the exports it writes."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.records.export import COLUMNS, tickets_table, to_csv, to_xlsx
from bot.services import Services
from tests.conftest import SANTIAGO, Team

ROOT = Path(__file__).resolve().parents[3]


def atiende(tmp_path: Path, *args: str, stdin: str = "",
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess with a clean ATIENDE_ environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    base.update({"ATIENDE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)})
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                          capture_output=True, cwd=tmp_path, env=base, timeout=60)


async def resolved_ticket(services: Services, team: Team) -> int:
    customer = await services.customers.find_or_create(email="ana@example.cl",
                                                       name="=HYPERLINK(\"x\")")
    view = await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                       description="Consulta por hosting")
    n = view.number
    await services.tickets.classify(team.admin, n, tipo=TipoIncidencia.CONSULTA,
                                    prioridad=Prioridad.MEDIA)
    await services.tickets.assign(team.admin, n, team.sofia.id)
    services.clock.advance(hours=1)  # type: ignore[attr-defined]
    await services.tickets.propose(team.admin, n, detalle="Plan Pyme")
    await services.tickets.confirm(team.admin, n)
    return n


async def test_csv_export_uses_the_process_names(services: Services, team: Team) -> None:
    n = await resolved_ticket(services, team)
    data = to_csv(tickets_table(await services.queries.all()), SANTIAGO)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == COLUMNS
    for name in ("Ticket", "Cliente", "Canal", "Tipo_Incidencia", "Prioridad", "Estado",
                 "Responsable", "Fecha_Creacion", "Fecha_Primera_Respuesta", "Fecha_Resolucion"):
        assert name in rows[0]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Ticket"] == f"#{n}" and row["Estado"] == "Resuelto"
    assert row["Tipo_Incidencia"] == "Consulta" and row["Responsable"] == "Sofía"
    assert row["Fecha_Creacion"] == "2026-12-04 17:50"
    assert row["Fecha_Resolucion"] == "2026-12-04 18:50"
    assert row["Conformidad"] == "expresa" and row["Primera_Respuesta_En_Plazo"] == "Sí"
    assert row["Cliente"].startswith("'=")  # a formula from a customer stays text


async def test_xlsx_export(services: Services, team: Team) -> None:
    await resolved_ticket(services, team)
    book = to_xlsx([tickets_table(await services.queries.all())], SANTIAGO)
    sheet = load_workbook(io.BytesIO(book))["Tickets"]
    header = [c.value for c in sheet[1]]
    assert header == COLUMNS
    assert [c.value for c in sheet[2]][header.index("Estado")] == "Resuelto"


def test_cli_bad_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    result = atiende(tmp_path, "db", "upgrade", env={"ATIENDE_TIMEZONE": "Mars/Olympus"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error de configuración: ATIENDE_TIMEZONE")
    result = atiende(tmp_path, "db", "upgrade", env={"ATIENDE_BUSINESS_HOURS": "09:00-08:00"})
    assert result.returncode == 2 and "ATIENDE_BUSINESS_HOURS" in result.stderr


def test_cli_team_export_and_report(tmp_path: Path) -> None:
    assert atiende(tmp_path, "db", "upgrade").returncode == 0
    added = atiende(tmp_path, "team", "add", "Carla", "--role", "administrador",
                    "--email", "carla@empresa.cl")
    assert added.returncode == 0 and "Carla" in added.stdout
    second = atiende(tmp_path, "team", "add", "Otra", "--role", "administrador")
    assert second.returncode == 1 and "Ya hay un administrador" in second.stderr
    invite = atiende(tmp_path, "team", "invite", "Carla")
    assert invite.returncode == 0 and "/start " in invite.stdout
    console = atiende(tmp_path, "console", stdin="/nuevo\n+56 9 1234 5678\nPedro\n2\n"
                      "Me cobraron dos veces\n2\n3\n1\n/salir\n")
    assert console.returncode == 0, console.stderr
    assert "✓ Ticket creado." in console.stdout
    exported = atiende(tmp_path, "export", "--format", "csv")
    lines = exported.stdout.splitlines()
    assert exported.returncode == 0 and lines[0].lstrip("\ufeff").startswith("Ticket;Cliente")
    assert lines[1].startswith("#1;Pedro;")
    xlsx = tmp_path / "tickets.xlsx"
    assert atiende(tmp_path, "export", "--format", "xlsx", "-o", str(xlsx)).returncode == 0
    assert load_workbook(xlsx)["Tickets"].max_row == 2
    report = atiende(tmp_path, "report")
    assert "Tickets nuevos: 1" in report.stdout and "Abiertos hoy: 1" in report.stdout


def test_run_without_tokens_opens_the_console(tmp_path: Path) -> None:
    result = atiende(tmp_path, "run", stdin="/tickets\n")
    assert result.returncode == 0, result.stderr
    assert "No hay ningún chat configurado" in result.stdout
    assert "No hay tickets que mostrar." in result.stdout
    assert (tmp_path / "data" / "atiende.db").exists()


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({"ATIENDE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env=env)
    try:
        # The console banner comes after the signal handlers are installed: a fixed
        # delay instead raced the start-up (migrations) on a loaded machine.
        assert proc.stdout is not None
        assert "No hay ningún chat configurado" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    # the console is a conversation: the log lines went to the log file
    assert "stopping" not in err
    assert "stopping" in (tmp_path / "data" / "atiende.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_an_empty_database(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"t.{fmt}"
    result = atiende(tmp_path, "export", "--format", fmt, "-o", str(out))
    assert result.returncode == 0 and out.stat().st_size > 0


def test_cli_mail_import_and_reminders_dry_run(tmp_path: Path) -> None:
    from tests.handlers.email.harness import mail

    eml = tmp_path / "consulta.eml"
    eml.write_bytes(mail(subject="Consulta por dominio", message_id="<cli-import@example.cl>"))
    first = atiende(tmp_path, "mail", "import", str(eml))
    assert first.returncode == 0, first.stderr
    assert "1 correos leídos" in first.stdout and "1 tickets nuevos" in first.stdout
    again = atiende(tmp_path, "mail", "import", str(eml))
    assert "1 ya importados" in again.stdout
    missing = atiende(tmp_path, "mail", "import", str(tmp_path / "nada"))
    assert missing.returncode == 2 and "No existe" in missing.stderr  # a usage error
    dry = atiende(tmp_path, "reminders", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip()  # either what is due or "Nada que enviar ahora."


def test_run_refuses_to_start_with_a_broken_template(tmp_path: Path) -> None:
    import shutil

    from bot.outgoing.templates import default_templates_dir

    code = tmp_path / "code"
    shutil.copytree(ROOT / "bot", code / "bot")
    shutil.copytree(ROOT / "db", code / "db")
    shutil.copytree(ROOT / "handlers", code / "handlers")
    shutil.copytree(default_templates_dir(), code / "templates")
    broken = code / "templates" / "general" / "cierre.j2"
    broken.write_text(broken.read_text(encoding="utf-8") + "{{ variable_que_no_existe }}",
                      encoding="utf-8")
    result = atiende(tmp_path, "run", env={"PYTHONPATH": str(code)})
    assert result.returncode == 1
    assert "plantillas tienen errores" in result.stderr and "cierre" in result.stderr
