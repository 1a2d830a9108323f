"""A ticket's case file, opened and read as a mediator would: the archive, the HTML
document's contents, and the attachments beside it."""

from __future__ import annotations

import hashlib
import json
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.records.casefile import build_case_file
from bot.records.casefile_html import render_case_file
from bot.services import Services
from tests.conftest import SANTIAGO, Team
from tests.core.app.test_cli_export import atiende

HOSTILE = "<script>alert('x')</script> & <b>negrita</b>"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"captura del cobro" * 40


class Reader(HTMLParser):
    """The visible text and the tags of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._skip += tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag == "style"

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


async def troubled_ticket(services: Services, team: Team) -> int:
    """Email with a photo, a fix the customer rejects, a second one left unanswered."""
    s = services
    photo = s.attachments.store(PHOTO, "captura cobro.png", "image/png")
    opened = await s.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body=f"Me cobraron dos veces diciembre. {HOSTILE}",
        external_id="<a1@example.cl>", email="ana@example.cl", name="Ana <Pérez>",
        subject="Cobro duplicado", attachments=[photo]))
    n = opened.ticket.number  # type: ignore[union-attr]
    await s.tickets.classify(team.admin, n, tipo=TipoIncidencia.RECLAMO,
                             prioridad=Prioridad.MEDIA)
    await s.tickets.assign(team.admin, n, team.diego.id)
    s.clock.advance(hours=1)  # type: ignore[attr-defined]
    await s.tickets.reply(team.actor(team.diego), n, text="Revisamos su caso, Ana.")
    s.clock.advance(hours=2)  # type: ignore[attr-defined]
    await s.tickets.propose(team.actor(team.diego), n, detalle="Anulamos el segundo cargo")
    s.clock.advance(hours=3)  # type: ignore[attr-defined]
    answer = await s.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="No, sigue sin funcionar: el cargo sigue en mi cuenta",
        external_id="<a2@example.cl>", email="ana@example.cl", ticket_number=n))
    assert answer.interaction is not None
    await s.tickets.reject(team.actor(team.diego), n, reason="el cliente indica que sigue "
                           "pendiente")  # "Sigue pendiente" on the card
    s.clock.advance(days=1)  # type: ignore[attr-defined]
    await s.tickets.propose(team.actor(team.diego), n, detalle="Reembolso emitido")
    for _ in range(12):  # business days pass without an answer
        s.clock.advance(days=1)  # type: ignore[attr-defined]
        await s.conformity.sweep()
    return n


async def test_case_file_tells_the_whole_case(services: Services, team: Team,
                                             tmp_path: Path) -> None:
    n = await troubled_ticket(services, team)
    view = await services.queries.get(n)
    assert view.conformity_kind is not None and view.conformity_kind.value == "sin respuesta"
    env = {"ATIENDE_DATABASE_URL": services.settings.effective_database_url}
    done = atiende(tmp_path, "ticket", "file", str(n), "--to", "out", env=env)
    assert done.returncode == 0, done.stderr
    archive = next((tmp_path / "out").glob(f"expediente-ticket-{n}-*.zip"))
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(z.read(entry["path"])).hexdigest() == entry["sha256"]
        page = z.read("expediente.html").decode()
        photo = next(name for name in names if name.startswith("adjuntos/"))
        assert z.read(photo) == PHOTO
    assert names == {"manifest.json", "expediente.html", photo}

    reader = Reader()
    reader.feed(page)
    text = reader.text
    assert "script" not in reader.tags and "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;negrita" in page
    assert HOSTILE in text and "Ana <Pérez>" in text  # shown as typed, never as markup
    assert not any(t in reader.tags for t in ("img", "link", "iframe"))  # self-contained
    assert "http" not in page.replace("http-equiv", "")
    for expected in ("Expediente del ticket #", "Hosting Andino", "ana@example.cl",
                     "Reclamo", "Media", "Resuelto", "Diego", "America/Santiago",
                     "vie 04-12-2026 17:50",  # opened: Friday 17:50 Santiago time
                     "Revisamos su caso, Ana.", "captura cobro.png", photo):
        assert expected in text, expected
    # deadlines and whether each was kept
    assert "Primera respuesta" in text and "Resolución" in text
    assert "Sí, cumplido" in text or "No, fuera de plazo" in text
    # the conformity evidence: her own words on the first request, none on the second
    assert "Solicitud 1: El cliente indicó que no estaba resuelto" in text
    assert "No, sigue sin funcionar: el cargo sigue en mi cuenta" in text
    assert "Solicitud 2: Cerrado sin respuesta del cliente" in text
    assert "Recordatorio enviado" in text and "ni el recordatorio" in text
    second = text.split("Solicitud 2:")[1].split("4. Historial")[0]
    assert "Las palabras del cliente" not in second
    assert text.index("Solicitud 1") < text.index("Solicitud 2") < text.index("4. Historial")


async def test_deadlines_kept_missed_running_and_discarded(services: Services,
                                                          team: Team) -> None:
    from bot.records.casefile import deadlines

    s = services
    customer = await s.customers.find_or_create(email="ana@example.cl")
    late = await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                description="Sin respuesta")
    s.clock.advance(days=10)  # type: ignore[attr-defined]
    first, resolution = deadlines(await s.queries.get(late.number), s.clock.now())
    assert first.kept is None and resolution.kept is None
    assert resolution.note == "vencido, sin resolver"
    await s.tickets.discard(team.admin, late.number, "Duplicado")
    first, resolution = deadlines(await s.queries.get(late.number), s.clock.now())
    assert first.kept is False and first.note == "sin respuesta al cliente"
    assert resolution.kept is None and "descartado" in resolution.note

    quick = await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                 description="Consulta")
    await s.tickets.reply(team.admin, quick.number, text="Listo")
    await s.tickets.propose(team.admin, quick.number, detalle="Hecho")
    await s.tickets.confirm(team.admin, quick.number)
    first, resolution = deadlines(await s.queries.get(quick.number), s.clock.now())
    assert first.kept is True and resolution.kept is True

    html_page = render_case_file(await build_case_file(s.queries, late.number, s.clock.now(),
                                                       "Hosting Andino"), SANTIAGO)
    assert "No se solicitó la conformidad" in html_page and "Motivo del descarte" in html_page
