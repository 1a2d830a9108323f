"""Standard customer messages (annex ANX-COM-001) and their sandboxed renderer.

Each message lives in one Jinja2 file under ``templates/``, holding three blocks: the
email subject (``asunto``), the email body (``cuerpo``, shared by the plain-text and the
HTML email) and the WhatsApp text (``whatsapp``). A file starts with
``{% extends formato %}``: the renderer sets ``formato`` to one of the layouts in
``templates/_formato/``, which add the greeting, the signature, the ``[#<numero>]``
subject tag and the HTML frame around the block that layout shows.

Lookup: ``<tipo>/<name>.j2`` (``consulta/``, ``reclamo/``, ``sugerencia/``) when that file
exists, else ``general/<name>.j2``; an unclassified ticket always gets ``general/``.

Safety: customer data is only ever passed as variables, never compiled as template
source, and both environments are sandboxed with ``StrictUndefined``. The HTML
environment autoescapes; the text environment (subject, plain-text email, WhatsApp)
inserts values literally, so a customer's ``<b>`` or ``&`` reaches a text message as
typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    meta,
    pass_eval_context,
)
from jinja2.nodes import EvalContext
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from bot.process.dates_es import format_datetime_es, format_day_es
from bot.process.domain import TipoIncidencia
from bot.process.greeting import greetings
from bot.process.template_names import TemplateName

WHATSAPP_MAX_CHARS = 1024
PARAMETER_MAX_CHARS = 600  # one approved-template parameter (the body as a whole: 1,024)

TEMPLATE_SUFFIX = ".j2"
GENERAL_DIR = "general"
TYPE_DIRS: dict[TipoIncidencia, str] = {tipo: tipo.value.lower() for tipo in TipoIncidencia}

# Layouts (values of ``formato``), one per rendered part.
LAYOUT_SUBJECT = "_formato/asunto.j2"
LAYOUT_TEXT = "_formato/correo_texto.j2"
LAYOUT_HTML = "_formato/correo_html.j2"
LAYOUT_WHATSAPP = "_formato/whatsapp.j2"

# Nouns for "su <tipo_nombre>"; an unclassified ticket is a "solicitud".
_TIPO_NOMBRES: dict[TipoIncidencia | None, str] = {
    None: "solicitud",
    TipoIncidencia.CONSULTA: "consulta",
    TipoIncidencia.RECLAMO: "reclamo",
    TipoIncidencia.SUGERENCIA: "sugerencia",
}

# Everything a template may name. ``formato`` is set by the renderer, not by callers.
TEMPLATE_VARIABLES: frozenset[str] = frozenset(
    {
        "numero",
        "cliente",
        "tipo",
        "tipo_nombre",
        "asunto",
        "plazo_primera_respuesta",
        "plazo_resolucion",
        "plazo_conformidad",
        "agente",
        "empresa",
        "detalle",
        "formato",
        "saludo_correo",
        "saludo_whatsapp",
        "cliente_nombre_pila",
        "cliente_trato",
        "horas_primera_respuesta",
        "cerrado_sin_respuesta",
    }
)

# A subject keeps the topic, not the mail client's "RE: RV: Fwd:" chain, and stays short.
SUBJECT_TOPIC_MAX = 70
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|rv|res|fw|fwd|aw|tr|wg|sv|vs|enc|ref|rif|antw|doorst)\s*(?:\[\d+\]|\(\d+\))?"
    r"\s*[:：]\s*)+", re.IGNORECASE)

# Menu per type, in process order. Before triage only the messages that need no
# classification; only a reclamo can be rejected as "no procede".
_EVERY_STEP = (
    TemplateName.ACKNOWLEDGEMENT,
    TemplateName.INFO_REQUEST,
    TemplateName.STATUS_UPDATE,
    TemplateName.REFERRAL,
    TemplateName.PROPOSED_RESOLUTION,
    TemplateName.REJECTION,
    TemplateName.CONFORMITY_REQUEST,
    TemplateName.CLOSURE,
    TemplateName.CUSTOMER_REMINDER,
)
_MENUS: dict[TipoIncidencia | None, tuple[TemplateName, ...]] = {
    None: (
        TemplateName.ACKNOWLEDGEMENT,
        TemplateName.INFO_REQUEST,
        TemplateName.STATUS_UPDATE,
        TemplateName.REFERRAL,
        TemplateName.CUSTOMER_REMINDER,
    ),
    TipoIncidencia.CONSULTA: tuple(n for n in _EVERY_STEP if n is not TemplateName.REJECTION),
    TipoIncidencia.RECLAMO: _EVERY_STEP,
    TipoIncidencia.SUGERENCIA: tuple(n for n in _EVERY_STEP
                                     if n is not TemplateName.REJECTION),
}

_TICKET_TAG = re.compile(r"\[#\d+\]")
_BLANK_LINES = re.compile(r"\n\s*\n")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class TemplateContext:
    """What a message may say about a ticket. Datetimes must be timezone-aware."""

    numero: int
    cliente: str
    tipo: TipoIncidencia | None
    asunto: str
    plazo_primera_respuesta: datetime | None
    plazo_resolucion: datetime | None
    agente: str
    empresa: str
    detalle: str = ""  # the agent's own words (what is needed, what the solution was)
    # when closure without answer applies: "if we hear nothing by then, we close the case"
    plazo_conformidad: datetime | None = None
    # the customer's own fields when known (else derived from ``cliente``): the greeting
    cliente_nombre_pila: str | None = None
    cliente_trato: str | None = None  # "Sr." / "Sra."
    horas_primera_respuesta: float = 24.0  # promised as "dentro de las próximas 24 horas"
    cerrado_sin_respuesta: bool = False  # the closure: the customer never answered


@dataclass(frozen=True)
class RenderedMessage:
    """One message in every form a channel needs."""

    template: TemplateName | None  # None: a free-text reply
    subject: str  # one line, always carries "[#<numero>]"
    text: str  # plain-text email body
    html: str  # HTML email body (a whole document)
    whatsapp: str  # WhatsApp text, WhatsApp formatting (*bold*)


def clean_subject(subject: str, limit: int = SUBJECT_TOPIC_MAX) -> str:
    """The topic of a customer's subject: no "RE: RV: Fwd:" chain (Spanish and English,
    repeated), no ticket tag, one line, at most ``limit`` characters cut on a word."""
    text = _one_line(_TICKET_TAG.sub(" ", subject or ""))
    previous = None
    while previous != text:  # "RE: [#12] RV: ..." after the tag went
        previous = text
        text = _REPLY_PREFIX.sub("", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    cut = cut[: cut.rfind(" ")] if " " in cut[limit // 2:] else text[:limit]
    return cut.rstrip(" ,;:-–") + "…"


@pass_eval_context
def _paragraphs(eval_ctx: EvalContext, value: str) -> str:
    """HTML only: blank-line separated blocks become ``<p>``, single newlines ``<br>``."""
    if not eval_ctx.autoescape:
        return value
    html = str(value) if isinstance(value, Markup) else str(escape(value))
    blocks = [block.strip() for block in _BLANK_LINES.split(html) if block.strip()]
    return Markup(
        "\n".join(
            "<p>" + "<br>\n".join(line.strip() for line in block.splitlines()) + "</p>"
            for block in blocks
        )
    )


def template_filters(zone: ZoneInfo) -> dict[str, Callable[..., str]]:
    """The filters templates may use: ``fecha`` (Spanish date and time in ``zone``),
    ``dia`` (the date only, for promises), ``parrafos``."""
    return {
        "fecha": lambda value: format_datetime_es(value, zone),
        "dia": lambda value: format_day_es(value, zone),
        "parrafos": _paragraphs,
    }


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, no blank edges."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _EXTRA_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _one_line(text: str) -> str:
    """A header value: all whitespace (newlines included) collapsed to single spaces."""
    return " ".join(text.split())


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def default_templates_dir() -> Path:
    """The repository's ``templates/`` folder, next to the ``bot`` package.

    Found from this file's location, which also holds for an editable install; a
    regular wheel does not ship the folder, so pass ``directory`` explicitly then.
    """
    return Path(__file__).resolve().parents[2] / "templates"


class TemplateRenderer:
    """Renders the annex ANX-COM-001 messages from ``directory`` in a company time zone.

    Build one at start-up and share it; it holds two sandboxed Jinja2 environments
    (HTML with autoescaping, text without) that cache compiled templates and reload
    a file edited on disk.
    """

    def __init__(self, directory: Path, timezone: ZoneInfo) -> None:
        if not directory.is_dir():
            raise FileNotFoundError(f"templates directory not found: {directory}")
        self._directory = directory
        self._zone = timezone
        self._html_env = self._environment(autoescape=True)
        self._text_env = self._environment(autoescape=False)

    def _environment(self, *, autoescape: bool) -> SandboxedEnvironment:
        env = SandboxedEnvironment(
            loader=FileSystemLoader(self._directory, encoding="utf-8"),
            autoescape=autoescape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.filters.update(template_filters(self._zone))
        # Templates see only the context variables: no range, lipsum, cycler, ...
        env.globals.clear()
        return env

    # --- public API -----------------------------------------------------------------
    def render(self, name: TemplateName, ctx: TemplateContext) -> RenderedMessage:
        """All four parts of message ``name`` for ``ctx``.

        Raises ``jinja2.UndefinedError`` if a template names an unknown variable,
        ``jinja2.sandbox.SecurityError`` on unsafe attribute access, ``ValueError`` for a
        naive deadline.
        """
        source = self.source_name(name, ctx.tipo)
        values = self._values(ctx)

        def part(env: SandboxedEnvironment, layout: str) -> str:
            return env.get_template(source).render({**values, "formato": layout})

        return RenderedMessage(
            template=name,
            subject=_one_line(part(self._text_env, LAYOUT_SUBJECT)),
            text=_tidy(part(self._text_env, LAYOUT_TEXT)),
            html=_tidy(part(self._html_env, LAYOUT_HTML)),
            whatsapp=_tidy(part(self._text_env, LAYOUT_WHATSAPP)),
        )

    def available(self, tipo: TipoIncidencia | None) -> list[TemplateName]:
        """The messages that fit a ticket of this type, in process (menu) order."""
        return list(_MENUS[tipo])

    def variables(self) -> frozenset[str]:
        """The names templates may use."""
        return TEMPLATE_VARIABLES

    def source_name(self, name: TemplateName, tipo: TipoIncidencia | None) -> str:
        """The file (relative to the directory) that ``render`` uses for this type."""
        if tipo is not None:
            specific = f"{TYPE_DIRS[tipo]}/{name.value}{TEMPLATE_SUFFIX}"
            if (self._directory / specific).is_file():
                return specific
        return f"{GENERAL_DIR}/{name.value}{TEMPLATE_SUFFIX}"

    def check(self) -> list[str]:
        """Problems a customer would otherwise meet at send time; ``[]`` when all is well.

        Syntax errors, unknown filters, unknown variables, a missing ``general/`` file,
        a file in a type folder that names no message (a typo: it would never be used).
        Meant for start-up and for the tests.
        """
        problems: list[str] = []
        for path in sorted(self._directory.rglob(f"*{TEMPLATE_SUFFIX}")):
            relative = path.relative_to(self._directory).as_posix()
            try:
                tree = self._text_env.parse(path.read_text(encoding="utf-8"))
                for env in (self._text_env, self._html_env):
                    env.get_template(relative)  # compiles: catches unknown filters
            except TemplateSyntaxError as exc:
                problems.append(f"{relative}:{exc.lineno}: {exc.message}")
                continue
            except TemplateError as exc:
                problems.append(f"{relative}: {exc}")
                continue
            unknown = meta.find_undeclared_variables(tree) - TEMPLATE_VARIABLES
            if unknown:
                problems.append(f"{relative}: unknown variables {sorted(unknown)}")
        known = {f"{name.value}{TEMPLATE_SUFFIX}" for name in TemplateName}
        for name in TemplateName:
            general = f"{GENERAL_DIR}/{name.value}{TEMPLATE_SUFFIX}"
            if not (self._directory / general).is_file():
                problems.append(f"{general}: missing (every message needs a general version)")
        for folder in TYPE_DIRS.values():
            for path in sorted((self._directory / folder).glob(f"*{TEMPLATE_SUFFIX}")):
                if path.name not in known:
                    problems.append(f"{folder}/{path.name}: not a message name, never used")
        return problems

    def parameters(self, ctx: TemplateContext, names: Sequence[str]) -> tuple[str, ...]:
        """The body parameters of a WhatsApp approved template, in order.

        Meta refuses an empty parameter and one with line breaks, tabs or runs of
        spaces: each value is one line, ``-`` when there is nothing to say.
        """
        values = self._values(ctx)
        signature = " · ".join(x for x in (str(values["agente"]), "Atención al Cliente"
                                           + (f" de {values['empresa']}"
                                              if values["empresa"] else "")) if x)
        extra = {
            "saludo": values["saludo_whatsapp"],
            "cliente": values["cliente"] or "cliente",
            "plazo_resolucion": format_day_es(ctx.plazo_resolucion, self._zone),
            "plazo_conformidad": format_day_es(ctx.plazo_conformidad, self._zone),
            "firma": signature,
        }
        out = []
        for name in names:
            value = " ".join(str(extra.get(name, values.get(name, ""))).split())
            out.append(value[:PARAMETER_MAX_CHARS] or "-")
        return tuple(out)

    # --- internals ------------------------------------------------------------------
    def _values(self, ctx: TemplateContext) -> Mapping[str, object]:
        deadlines = {
            "plazo_primera_respuesta": ctx.plazo_primera_respuesta,
            "plazo_resolucion": ctx.plazo_resolucion,
            "plazo_conformidad": ctx.plazo_conformidad,
        }
        for field, value in deadlines.items():
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{field} must be a timezone-aware datetime, got {value!r}")
        hello = greetings(ctx.cliente, ctx.cliente_nombre_pila, ctx.cliente_trato)
        return {
            "numero": ctx.numero,
            "cliente": _one_line(ctx.cliente),
            "tipo": ctx.tipo.value if ctx.tipo is not None else "",
            "tipo_nombre": _TIPO_NOMBRES[ctx.tipo],
            # our own tag goes into the subject; a stray one could thread a reply wrongly
            "asunto": clean_subject(ctx.asunto),
            "cliente_nombre_pila": hello.first_name or "",
            "cliente_trato": _one_line(ctx.cliente_trato or ""),
            "saludo_correo": hello.email,
            "saludo_whatsapp": hello.whatsapp,
            "horas_primera_respuesta": f"{ctx.horas_primera_respuesta:g}",
            "cerrado_sin_respuesta": ctx.cerrado_sin_respuesta,
            **deadlines,
            "agente": _one_line(ctx.agente),
            "empresa": _one_line(ctx.empresa),
            "detalle": _clean(ctx.detalle),
        }


def text_to_html(text: str) -> str:
    """A person's plain text as a small, escaped HTML document (paragraphs, line breaks)."""
    paragraphs = [p for p in _BLANK_LINES.split(_clean(text)) if p.strip()]
    body = "\n".join(f"<p>{escape(p).replace(chr(10), Markup('<br>'))}</p>" for p in paragraphs)
    return f'<!DOCTYPE html>\n<html lang="es"><meta charset="utf-8"><body>\n{body}\n</body></html>'


def plain_message(numero: int, asunto: str, text: str, agente: str,
                  empresa: str) -> RenderedMessage:
    """A free-text reply (no template): the person's words as typed, with our subject tag."""
    subject = _one_line(f"Re: {clean_subject(asunto) or 'Su solicitud'} [#{numero}]")
    words = _tidy(text)
    return RenderedMessage(template=None, subject=subject, text=words,
                           html=text_to_html(words), whatsapp=words)
