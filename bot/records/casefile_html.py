"""The case file as one printable HTML page: inline CSS, no script, no external link,
so it opens the same on any computer and prints cleanly (A4, page breaks between
sections, black on white). Every value from a customer or a person is escaped.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.process.domain import InteractionKind
from bot.process.views import InteractionView
from bot.records.casefile import CaseFile, ConformityEpisode, Deadline

_DAYS = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
_KINDS = {InteractionKind.INBOUND: "Mensaje del cliente", InteractionKind.OUTBOUND:
          "Mensaje al cliente", InteractionKind.NOTE: "Nota interna",
          InteractionKind.EVENT: "Cambio registrado"}
_OUTCOMES = {"expresa": "Conformidad expresa del cliente",
             "sin respuesta": "Cerrado sin respuesta del cliente",
             "rechazada": "El cliente indicó que no estaba resuelto",
             "pendiente": "Sin respuesta aún"}

CSS = """
@page { size: A4; margin: 18mm 15mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 190mm; margin: 0 auto; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2pt; } h2 { font-size: 12.5pt; margin: 16pt 0 6pt;
     border-bottom: 1.5pt solid #333; padding-bottom: 2pt; break-after: avoid; }
.sub { color: #444; margin: 0 0 10pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th, td { border: 0.75pt solid #999; padding: 3pt 5pt; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: 600; } tr { break-inside: avoid; }
.facts th { width: 32%; } .ok { color: #0a5d1a; font-weight: 600; }
.late { color: #a10000; font-weight: 600; } .run { color: #7a5200; font-weight: 600; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 2pt 0 0; }
.entry { border-left: 3pt solid #bbb; padding: 2pt 0 4pt 7pt; margin: 0 0 7pt;
         break-inside: avoid; }
.entry.in { border-left-color: #1f4e9c; } .entry.out { border-left-color: #0a5d1a; }
.entry.note { border-left-color: #999; background: #f6f6f6; }
.meta { color: #333; font-size: 9.5pt; } .files { font-size: 9.5pt; margin: 2pt 0 0 12pt; }
blockquote { margin: 4pt 0 4pt 10pt; padding: 3pt 8pt; border-left: 3pt solid #1f4e9c;
             background: #f2f5fb; white-space: pre-wrap; }
code { font-size: 8pt; word-break: break-all; }
.foot { margin-top: 18pt; font-size: 9pt; color: #444; border-top: 0.75pt solid #999;
        padding-top: 4pt; }
@media print { a { color: inherit; text-decoration: none; } }
"""


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def when(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "—"
    local = value.astimezone(zone)
    return f"{_DAYS[local.weekday()]} {local:%d-%m-%Y %H:%M}"


def _value(value: str | None, zone: ZoneInfo) -> str:
    """A change's old/new value; recorded instants are shown in the company's time."""
    if value and len(value) >= 16 and value[4] == "-" and "T" in value:
        try:
            return when(datetime.fromisoformat(value), zone)
        except ValueError:
            pass
    return value or "—"


def render_case_file(case: CaseFile, zone: ZoneInfo) -> str:
    t = case.ticket
    parts = [
        "<!DOCTYPE html>", '<html lang="es"><head><meta charset="utf-8">',
        f"<title>Expediente del ticket #{t.number} — {e(case.company)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Expediente del ticket #{t.number}</h1>",
        f'<p class="sub">{e(case.company)} · Atención al Cliente y Reclamos · generado el '
        f"{when(case.generated_at, zone)} · horas en {e(zone.key)}</p>",
        _facts(case, zone), _deadlines(case.deadlines, zone), _conformity(case, zone),
        _history(case, zone), _files(case),
        f'<p class="foot">Este expediente y sus adjuntos van en un mismo archivo; '
        f"manifest.json lista cada archivo con su suma SHA-256 para comprobar que no fue "
        f"alterado. Ticket #{t.number}, versión {t.version}.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _facts(case: CaseFile, zone: ZoneInfo) -> str:
    t, c = case.ticket, case.ticket.customer
    rows = [("Cliente", c.name or "—"), ("Correo", c.email or "—"), ("Teléfono", c.phone or "—"),
            ("Empresa", c.company or "—"), ("Canal", t.channel.label), ("Asunto", t.subject),
            ("Tipo_Incidencia", t.tipo.value if t.tipo else "sin clasificar"),
            ("Prioridad", t.prioridad.value if t.prioridad else "sin clasificar"),
            ("Estado", t.estado.value),
            ("Responsable", t.assignee.name if t.assignee else "—"),
            ("Fecha_Creacion", when(t.created_at, zone)),
            ("Fecha_Primera_Respuesta", when(t.first_response_at, zone)),
            ("Fecha_Resolucion", when(t.resolved_at, zone)),
            ("Conformidad", t.conformity_kind.value if t.conformity_kind else "—")]
    if t.discard_reason:
        rows.append(("Motivo del descarte", t.discard_reason))
    if t.previous_ticket:
        rows.append(("Ticket anterior", f"#{t.previous_ticket}"))
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<h2>1. El caso</h2><table class="facts">{body}</table>'


def _kept(d: Deadline) -> str:
    if d.kept is None:
        return f'<span class="run">{e(d.note or "en curso")}</span>'
    if d.kept:
        return '<span class="ok">Sí, cumplido</span>'
    return f'<span class="late">No, fuera de plazo</span>{" — " + e(d.note) if d.note else ""}'


def _deadlines(items: list[Deadline], zone: ZoneInfo) -> str:
    rows = "".join(f"<tr><td>{e(d.label)}</td><td>{when(d.due, zone)}</td>"
                   f"<td>{when(d.done_at, zone)}</td><td>{_kept(d)}</td></tr>" for d in items)
    return ("<h2>2. Plazos</h2><table><tr><th>Plazo</th><th>Vencía</th><th>Cumplido el</th>"
            f"<th>¿Se cumplió?</th></tr>{rows}</table>")


def _conformity(case: CaseFile, zone: ZoneInfo) -> str:
    if not case.conformity:
        return ("<h2>3. Conformidad del cliente</h2><p>No se solicitó la conformidad del "
                "cliente en este ticket.</p>")
    return "<h2>3. Conformidad del cliente</h2>" + "".join(
        _episode(n, ep, zone) for n, ep in enumerate(case.conformity, 1))


def _episode(n: int, ep: ConformityEpisode, zone: ZoneInfo) -> str:
    out = [f"<h3>Solicitud {n}: {e(_OUTCOMES.get(ep.outcome, ep.outcome))}</h3>",
           "<table class=\"facts\">",
           f"<tr><th>Solicitud enviada</th><td>{when(ep.requested_at, zone)} por "
           f"{e(ep.request.channel.label)}{_delivery(ep.request)}</td></tr>"]
    if ep.reminded_at:
        out.append(f"<tr><th>Recordatorio enviado</th><td>{when(ep.reminded_at, zone)}</td></tr>")
    if ep.closed_at:
        out.append(f"<tr><th>Cierre de la solicitud</th><td>{when(ep.closed_at, zone)}, "
                   f"registrado por {e(ep.recorded_by)}"
                   f"{' (' + e(ep.reason) + ')' if ep.reason else ''}</td></tr>")
    out.append("</table><p><b>Lo que se le pidió al cliente:</b></p>"
               f"<blockquote>{e(ep.request.body)}</blockquote>")
    if ep.words:
        out.append("<p><b>Las palabras del cliente:</b></p>")
        out += [f'<p class="meta">{when(w.created_at, zone)} · {e(w.author_name)} · '
                f"{e(w.channel.label)}</p><blockquote>{e(w.body)}</blockquote>"
                for w in ep.words]
    elif ep.outcome == "sin respuesta":
        out.append("<p>El cliente no respondió la solicitud"
                   f"{' ni el recordatorio' if ep.reminded_at else ''}; el caso se dio por "
                   "cerrado en la fecha indicada, sin su respuesta (no es una "
                   "conformidad del cliente).</p>")
    return "".join(out)


def _delivery(i: InteractionView) -> str:
    return f" (estado del envío: {e(i.delivery_status.value)})" if i.delivery_status else ""


def _history(case: CaseFile, zone: ZoneInfo) -> str:
    out = ["<h2>4. Historial completo</h2>"]
    for i in case.history:
        css = {InteractionKind.INBOUND: "in", InteractionKind.OUTBOUND: "out",
               InteractionKind.NOTE: "note"}.get(i.kind, "")
        head = (f'<div class="entry {css}"><div class="meta"><b>{when(i.created_at, zone)}</b>'
                f" · {e(_KINDS[i.kind])} · {e(i.author_name or '—')} · {e(i.channel.label)}"
                f"{' · automático' if i.automatic else ''}{_delivery(i)}</div>")
        body = ""
        if i.kind is InteractionKind.EVENT and i.field:
            body = (f'<div class="text">{e(i.field)}: {e(_value(i.old_value, zone))} → '
                    f"{e(_value(i.new_value, zone))}"
                    f"{' (' + e(i.meta.get('reason')) + ')' if i.meta.get('reason') else ''}"
                    "</div>")
        if i.body:
            body += f'<div class="text">{e(i.body)}</div>'
        files = "".join(f"<li>{e(a.filename)} — {e(case.files.get(a.id) or a.note or 'no guardado')}"
                        "</li>" for a in i.attachments)
        out.append(head + body + (f'<ul class="files">{files}</ul>' if files else "") + "</div>")
    return "".join(out)


def _files(case: CaseFile) -> str:
    rows = [f"<tr><td>{e(a.filename)}</td><td>{e(case.files.get(a.id) or '—')}</td>"
            f"<td>{f'{a.size:,}'.replace(',', '.')}</td><td><code>{e(a.sha256)}</code></td></tr>"
            for i in case.history for a in i.attachments]
    if not rows:
        return "<h2>5. Adjuntos</h2><p>El ticket no tiene adjuntos.</p>"
    return ("<h2>5. Adjuntos</h2><table><tr><th>Nombre</th><th>En este archivo</th>"
            f"<th>Bytes</th><th>SHA-256</th></tr>{''.join(rows)}</table>")
