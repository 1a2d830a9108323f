"""Scenario 4: nobody answers the conformity request (shared/scenarios.md §4).

Thu 10 Dec 15:00 Sofía proposes a solution on #2 from Slack (the request goes by SMTP);
Mon 14 Dec 15:00 (two business days) Ana gets the polite reminder, not a minute before;
Thu 17 Dec 15:00 (five business days) #2 becomes Resuelto, closed without the customer's answer, both
cards say so, and ``atiende report`` and the export count it apart.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.process.domain import ConformityKind, Estado
from bot.records.export import tickets_table, to_csv
from tests.conftest import santiago
from tests.handlers.email.harness import mail
from tests.handlers.email.test_email_smtp import OUTLOOK_REPLY
from tests.scenarios.desk import Desk, desk
from tests.scenarios.test_scenario_3_email_threads import arrives, email_question_on_ticket_2

__all__ = ["desk"]

pytestmark = pytest.mark.imap
ROOT = Path(__file__).resolve().parents[2]


def atiende_report(database_url: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({"ATIENDE_DATABASE_URL": database_url, "ATIENDE_DATA_DIR": str(cwd / "cli"),
                "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, "-m", "bot", "report", "--from", "2026-12-01",
                           "--to", "2026-12-31"], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_unanswered_conformity_request(desk: Desk, tmp_path: Path) -> None:
    s = desk.services
    our_id = await email_question_on_ticket_2(desk)
    desk.at(2026, 12, 9, 15, 0)
    await arrives(desk, mail(subject="RE: [#2] Consulta por hosting",
                             message_id="<ana-2@example.cl>", in_reply_to=our_id,
                             body=OUTLOOK_REPLY.format(n=2), hour=15))
    assert (await s.queries.get(2)).estado is Estado.IN_PROGRESS

    # Thu 10 Dec 15:00: Sofía proposes the solution from the Slack card
    desk.at(2026, 12, 10, 15, 0)
    await desk.slack_click("USOFIA", 2, "atiende_proponer")
    t = await s.queries.get(2)
    assert t.estado is Estado.PENDING_CONFORMITY, desk.slack_ephemerals("USOFIA")
    assert t.conformity_requested_at == santiago(2026, 12, 10, 15, 0)
    assert await desk.deliver() == 1
    request = desk.smtp.messages[-1]
    assert request.rcpt_tos == ["ana@example.cl"] and "[#2]" in request.message["Subject"]
    mails = len(desk.smtp.messages)

    # the reminder: two business days later, not a minute before
    desk.at(2026, 12, 14, 14, 59)
    assert await desk.sweep() == []
    desk.at(2026, 12, 14, 15, 0)
    assert await desk.sweep() == [(2, "recordatorio")]
    assert await desk.deliver() == 1
    assert len(desk.smtp.messages) == mails + 1
    reminder = desk.smtp.messages[-1]
    assert reminder.rcpt_tos == ["ana@example.cl"] and "[#2]" in reminder.message["Subject"]
    body = reminder.message.get_body(("plain",)).get_content()
    assert body.startswith("Hola, Ana:")  # by first name, never "Estimado/a Ana Pérez"
    assert "daremos por cerrado el caso" in body and "entenderemos" not in body
    assert (await s.queries.get(2)).estado is Estado.PENDING_CONFORMITY
    desk.at(2026, 12, 15, 15, 0)
    assert await desk.sweep() == []  # reminded once only

    # tacit conformity: five business days after the request
    desk.at(2026, 12, 17, 14, 59)
    assert await desk.sweep() == []
    desk.at(2026, 12, 17, 15, 0)
    assert await desk.sweep() == [(2, "sin respuesta")]
    t = await s.queries.get(2)
    assert t.estado is Estado.RESOLVED
    assert t.resolved_at == santiago(2026, 12, 17, 15, 0)
    assert t.conformity_kind is ConformityKind.NO_ANSWER
    assert "Resuelto" in (await desk.tg_card(2))["text"]
    assert "sin respuesta del cliente" in (await desk.tg_card(2))["text"].lower()
    slack_card = str((await desk.slack_card(2))["blocks"])
    assert "Resuelto" in slack_card and "17/12 15:00" in slack_card

    # the report counts it apart; the export says so in its Conformidad column
    report = atiende_report(s.settings.effective_database_url, tmp_path)
    assert "Cerrados: 0 con conformidad del cliente, 1 sin respuesta del cliente" in report
    text = to_csv(tickets_table(await s.queries.all()), s.settings.zone).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, two = rows[0], next(r for r in rows[1:] if r[0] == "#2")
    assert two[header.index("Conformidad")] == "sin respuesta"
    assert two[header.index("Fecha_Resolucion")] == "2026-12-17 15:00"
    assert two[header.index("Estado")] == "Resuelto"
