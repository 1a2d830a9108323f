"""Annex ANX-COM-001: the shipped templates and the sandboxed renderer."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from bot.outgoing.templates import (
    WHATSAPP_MAX_CHARS,
    RenderedMessage,
    TemplateContext,
    TemplateRenderer,
    default_templates_dir,
    template_filters,
)
from bot.process.dates_es import format_datetime_es
from bot.process.domain import TipoIncidencia
from bot.process.template_names import TEMPLATE_TITLES, TemplateName

ZONE = ZoneInfo("America/Santiago")
TYPES: list[TipoIncidencia | None] = [None, *TipoIncidencia]
NUMERO = 4821

# 2026-12-09 20:50 UTC is 17:50 in Santiago (summer time, UTC-3).
FIRST_REPLY = datetime(2026, 12, 9, 20, 50, tzinfo=UTC)
RESOLUTION = datetime(2026, 12, 11, 20, 50, tzinfo=UTC)
CONFORMITY = datetime(2026, 12, 16, 20, 50, tzinfo=UTC)
# The longest Spanish date we can print: "miércoles 30 de septiembre de 2026, 17:50".
LONGEST_DATE = datetime(2026, 9, 30, 20, 50, tzinfo=UTC)


def make_ctx(**changes: object) -> TemplateContext:
    ctx = TemplateContext(
        numero=NUMERO,
        cliente="Ana Pérez",
        tipo=TipoIncidencia.RECLAMO,
        asunto="Cobro duplicado en mi boleta",
        plazo_primera_respuesta=FIRST_REPLY,
        plazo_resolucion=RESOLUTION,
        agente="Carla Soto",
        empresa="Comercial Andes SpA",
        detalle="",
        plazo_conformidad=None,
    )
    return dataclasses.replace(ctx, **changes)  # type: ignore[arg-type]


# Every field filled in vs every optional field empty (name, deadlines, detalle).
FULL = {"detalle": "Le devolveremos el cobro duplicado.", "plazo_conformidad": CONFORMITY}
EMPTY = {
    "cliente": "",
    "asunto": "",
    "plazo_primera_respuesta": None,
    "plazo_resolucion": None,
    "agente": "",
    "detalle": "",
    "plazo_conformidad": None,
}


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(default_templates_dir(), ZONE)


def parts(message: RenderedMessage) -> dict[str, str]:
    return {
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "whatsapp": message.whatsapp,
    }


def copy_templates(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), directory)
    return directory


def renderer_with(tmp_path: Path, relative: str, source: str) -> TemplateRenderer:
    """A copy of the shipped templates with one file replaced."""
    directory = copy_templates(tmp_path)
    (directory / relative).write_text(source, encoding="utf-8")
    return TemplateRenderer(directory, ZONE)


# --- every message, every type ------------------------------------------------------
@pytest.mark.parametrize("fill", [FULL, EMPTY], ids=["full", "empty"])
@pytest.mark.parametrize("tipo", TYPES, ids=lambda t: str(t or "sin_tipo"))
@pytest.mark.parametrize("name", list(TemplateName))
def test_every_message_renders_all_parts_cleanly(
    renderer: TemplateRenderer,
    name: TemplateName,
    tipo: TipoIncidencia | None,
    fill: dict[str, object],
) -> None:
    message = renderer.render(name, make_ctx(tipo=tipo, **fill))

    assert message.template is name
    for part, value in parts(message).items():
        assert value.strip(), part
        assert "None" not in value, part
        assert "{{" not in value and "{%" not in value, part
        assert "\n\n\n" not in value, part
        assert all(line == line.rstrip() for line in value.splitlines()), part
        assert value == value.strip(), part
    assert f"[#{NUMERO}]" in message.subject
    assert "\n" not in message.subject
    assert str(NUMERO) in message.text and str(NUMERO) in message.whatsapp
    assert message.html.startswith("<!DOCTYPE html>")
    assert '<html lang="es">' in message.html
    assert "Estimado/a" not in message.text
    assert message.text.startswith(("Hola, ", "Estimad", "De nuestra consideración:"))
    assert message.whatsapp.startswith("Hola")


def test_every_message_has_a_title() -> None:
    assert set(TEMPLATE_TITLES) == set(TemplateName)
    assert TEMPLATE_TITLES[TemplateName.INFO_REQUEST] == "Solicitud de información"


# --- variables: unknown names fail in the tests, not in front of a customer --------
def template_files() -> list[Path]:
    return sorted(default_templates_dir().rglob("*.j2"))


def test_shipped_templates_exist() -> None:
    names = {path.relative_to(default_templates_dir()).as_posix() for path in template_files()}
    for name in TemplateName:
        assert f"general/{name.value}.j2" in names
    assert {"_formato/asunto.j2", "_formato/correo_texto.j2"} <= names


@pytest.mark.parametrize(
    "path", template_files(), ids=lambda p: p.relative_to(default_templates_dir()).as_posix()
)
def test_template_uses_only_known_variables(renderer: TemplateRenderer, path: Path) -> None:
    env = SandboxedEnvironment()
    env.filters.update(template_filters(ZONE))
    tree = env.parse(path.read_text(encoding="utf-8"))
    assert meta.find_undeclared_variables(tree) <= renderer.variables()


def test_every_context_field_is_a_template_variable(renderer: TemplateRenderer) -> None:
    fields = {field.name for field in dataclasses.fields(TemplateContext)}
    assert fields <= renderer.variables()


def test_check_finds_nothing_in_the_shipped_templates(renderer: TemplateRenderer) -> None:
    assert renderer.check() == []


def test_unknown_variable_raises_at_render(tmp_path: Path) -> None:
    source = (default_templates_dir() / "general/cierre.j2").read_text(encoding="utf-8")
    broken = source.replace("{% block cuerpo %}", "{% block cuerpo %}\nLlámenos al {{ telefono }}.")
    assert broken != source
    renderer = renderer_with(tmp_path, "general/cierre.j2", broken)

    with pytest.raises(UndefinedError, match="telefono"):
        renderer.render(TemplateName.CLOSURE, make_ctx(tipo=None))
    assert any("telefono" in problem for problem in renderer.check())


def test_check_reports_typos_and_missing_files(tmp_path: Path) -> None:
    renderer = renderer_with(tmp_path, "reclamo/acuse_recibos.j2", "{% extends formato %}")
    (tmp_path / "templates/general/cierre.j2").unlink()
    (tmp_path / "templates/general/recordatorio_cliente.j2").write_text(
        "{% extends formato %}{% block cuerpo %}{{ x | no_such_filter }}{% endblock %}",
        encoding="utf-8",
    )

    problems = "\n".join(renderer.check())
    assert "reclamo/acuse_recibos.j2" in problems
    assert "general/cierre.j2: missing" in problems
    assert "no_such_filter" in problems


# --- customer data is data ----------------------------------------------------------
HOSTILE = "{{ secret }} {% raw %} <b>x</b> & *bold*"


def test_customer_data_is_literal_in_text_and_escaped_in_html(
    renderer: TemplateRenderer,
) -> None:
    ctx = make_ctx(cliente=HOSTILE, asunto=HOSTILE, detalle=HOSTILE, agente=HOSTILE)
    message = renderer.render(TemplateName.INFO_REQUEST, ctx)

    assert HOSTILE in message.subject
    for text in (message.text, message.whatsapp):
        # detalle, signature (a name like that gets the neutral greeting)
        assert text.count(HOSTILE) >= 2
        assert "&lt;" not in text and "&amp;" not in text
    escaped = "{{ secret }} {% raw %} &lt;b&gt;x&lt;/b&gt; &amp; *bold*"
    assert message.html.count(escaped) >= 3  # title, detalle, signature
    assert "<b>x</b>" not in message.html


@pytest.mark.parametrize(
    "expression",
    [
        "cliente.__class__",
        "cliente.__class__.__mro__[1].__subclasses__()",
        "cliente.__init__.__globals__",
        "plazo_resolucion.__class__.__init__",
        "'{0.__class__}'.format(cliente)",
        "cliente | attr('__class__')",
    ],
)
def test_sandbox_blocks_attribute_tricks(tmp_path: Path, expression: str) -> None:
    source = "{% extends formato %}{% block asunto %}{{ " + expression + " }}{% endblock %}"
    renderer = renderer_with(tmp_path, "general/cierre.j2", source)

    with pytest.raises(SecurityError):
        renderer.render(TemplateName.CLOSURE, make_ctx(tipo=None))


def test_no_globals_beyond_the_variables(tmp_path: Path) -> None:
    source = "{% extends formato %}{% block asunto %}{{ lipsum.__globals__ }}{% endblock %}"
    renderer = renderer_with(tmp_path, "general/cierre.j2", source)

    with pytest.raises(UndefinedError, match="lipsum"):
        renderer.render(TemplateName.CLOSURE, make_ctx(tipo=None))


def test_subject_is_one_line_with_only_our_tag(renderer: TemplateRenderer) -> None:
    ctx = make_ctx(asunto="Re: [#999] cobro\r\nBcc: alguien@example.com")
    subject = renderer.render(TemplateName.STATUS_UPDATE, ctx).subject

    assert "\n" not in subject and "\r" not in subject
    assert subject.endswith(f"[#{NUMERO}]")
    assert "[#999]" not in subject
    assert subject.count("[#") == 1


def test_subject_stays_one_line_even_if_a_template_breaks_lines(tmp_path: Path) -> None:
    source = "{% extends formato %}{% block asunto %}\nHemos cerrado\n\nsu caso\n{% endblock %}"
    renderer = renderer_with(tmp_path, "general/cierre.j2", source)
    subject = renderer.render(TemplateName.CLOSURE, make_ctx(tipo=None)).subject

    assert subject == f"Hemos cerrado su caso – Cobro duplicado en mi boleta [#{NUMERO}]"


def test_detalle_paragraphs_become_html_paragraphs(renderer: TemplateRenderer) -> None:
    ctx = make_ctx(detalle="Primera línea\nsegunda línea\n\nOtro párrafo")
    message = renderer.render(TemplateName.INFO_REQUEST, ctx)

    assert "<p>Primera línea<br>\nsegunda línea</p>" in message.html
    assert "<p>Otro párrafo</p>" in message.html
    assert "Primera línea\nsegunda línea\n\nOtro párrafo" in message.text


# --- WhatsApp -----------------------------------------------------------------------
# Realistic worst cases: name 60, asunto 120, detalle 400 characters, long agent and
# company names, and every deadline printed with the longest Spanish date.
LONG_NAME = "María José Fernández Valenzuela de la Fuente y Echeverría Ltda"[:60]
LONG_ASUNTO = ("Cobro duplicado en la boleta electrónica del pedido web " * 3)[:120]
LONG_DETALLE = (
    "Para revisar su caso necesitamos:\n"
    "1. Una fotografía legible de la boleta.\n"
    "2. El número del pedido.\n"
    "3. La fecha aproximada del cobro.\n"
    + "Además, le pedimos confirmar el medio de pago utilizado en la compra. "
    * 5
)[:400].strip()
REALISTIC: dict[str, object] = {
    "cliente": LONG_NAME,
    "asunto": LONG_ASUNTO,
    "detalle": LONG_DETALLE,
    "agente": "Francisca Alejandra Gutiérrez Montenegro",
    "empresa": "Distribuidora Comercial del Pacífico SpA",
    "plazo_primera_respuesta": LONGEST_DATE,
    "plazo_resolucion": LONGEST_DATE,
    "plazo_conformidad": LONGEST_DATE,
}


def test_realistic_sizes() -> None:
    assert (len(LONG_NAME), len(LONG_ASUNTO)) == (60, 120)
    assert 395 <= len(LONG_DETALLE) <= 400
    assert len(format_datetime_es(LONGEST_DATE, ZONE)) == len(
        "miércoles 30 de septiembre de 2026, 17:50"
    )


@pytest.mark.parametrize("tipo", TYPES, ids=lambda t: str(t or "sin_tipo"))
@pytest.mark.parametrize("name", list(TemplateName))
def test_whatsapp_fits_in_1024_characters(
    renderer: TemplateRenderer, name: TemplateName, tipo: TipoIncidencia | None
) -> None:
    whatsapp = renderer.render(name, make_ctx(tipo=tipo, **REALISTIC)).whatsapp

    assert LONG_DETALLE in whatsapp  # the long part really is in there
    assert len(whatsapp) <= WHATSAPP_MAX_CHARS == 1024


def test_whatsapp_uses_whatsapp_bold(renderer: TemplateRenderer) -> None:
    whatsapp = renderer.render(TemplateName.ACKNOWLEDGEMENT, make_ctx()).whatsapp

    assert f"*caso n.º {NUMERO}*" in whatsapp
    assert "<" not in whatsapp


# --- dates, greetings, missing values ------------------------------------------------
def test_spanish_date_in_company_time_zone() -> None:
    assert format_datetime_es(FIRST_REPLY, ZONE) == "miércoles 9 de diciembre de 2026, 17:50"
    # winter time (UTC-4)
    winter = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert format_datetime_es(winter, ZONE) == "miércoles 1 de julio de 2026, 08:00"
    assert format_datetime_es(None, ZONE) == ""


def test_naive_datetime_is_refused(renderer: TemplateRenderer) -> None:
    with pytest.raises(ValueError, match="naive"):
        format_datetime_es(datetime(2026, 12, 9, 17, 50), ZONE)  # noqa: DTZ001
    naive = make_ctx(plazo_resolucion=datetime(2026, 12, 9, 17, 50))  # noqa: DTZ001
    with pytest.raises(ValueError, match="plazo_resolucion"):
        renderer.render(TemplateName.STATUS_UPDATE, naive)


def test_deadlines_render_as_spanish_dates(renderer: TemplateRenderer) -> None:
    message = renderer.render(TemplateName.ACKNOWLEDGEMENT, make_ctx())

    for text in (message.text, message.html, message.whatsapp):
        # the first reply as a span, the resolution as a business date without the hour
        assert "dentro de las próximas 24 horas." in text
        assert "a más tardar el viernes 11 de diciembre." in text
        assert "17:50" not in text


def test_missing_deadlines_read_naturally(renderer: TemplateRenderer) -> None:
    ctx = make_ctx(plazo_primera_respuesta=None, plazo_resolucion=None)
    message = renderer.render(TemplateName.ACKNOWLEDGEMENT, ctx)

    for text in (message.text, message.whatsapp):
        assert "a más tardar" not in text
        assert "a la brevedad" in text
        assert " el ." not in text and " el ," not in text


def test_tacit_conformity_only_when_its_deadline_is_given(renderer: TemplateRenderer) -> None:
    without = renderer.render(TemplateName.CONFORMITY_REQUEST, make_ctx())
    with_deadline = renderer.render(
        TemplateName.CONFORMITY_REQUEST, make_ctx(plazo_conformidad=CONFORMITY)
    )

    assert "daremos por cerrado el caso" not in without.text
    assert ("el miércoles 16 de diciembre daremos por cerrado el caso; si necesita retomarlo, "
            "basta con responder a este mensaje.") in with_deadline.text
    assert "conforme y cerraremos" not in with_deadline.text
    assert "¿Podemos dar por resuelto su reclamo?" in with_deadline.whatsapp


def test_greeting_uses_the_name(renderer: TemplateRenderer) -> None:
    message = renderer.render(TemplateName.CLOSURE, make_ctx())

    assert message.text.startswith("Hola, Ana:\n")
    assert "<p>Hola, Ana:</p>" in message.html
    assert message.whatsapp.startswith("Hola, Ana.\n")


@pytest.mark.parametrize("cliente", ["", "   "])
def test_neutral_greeting_without_a_name(renderer: TemplateRenderer, cliente: str) -> None:
    message = renderer.render(TemplateName.CLOSURE, make_ctx(cliente=cliente))

    assert message.text.startswith("De nuestra consideración:\n")
    assert "<p>De nuestra consideración:</p>" in message.html
    assert message.whatsapp.startswith("Hola.\n")


def test_detalle_is_included_when_given(renderer: TemplateRenderer) -> None:
    detalle = "Aplicamos una nota de crédito por $12.990."
    for name in TemplateName:
        message = renderer.render(name, make_ctx(detalle=detalle))
        assert detalle in message.text and detalle in message.whatsapp, name
        assert detalle in message.html, name


def test_signature_without_agent(renderer: TemplateRenderer) -> None:
    message = renderer.render(TemplateName.ACKNOWLEDGEMENT, make_ctx(agente=""))

    assert "Atentamente,\n\nEquipo de Atención al Cliente\nComercial Andes SpA" in message.text
    assert message.whatsapp.endswith("\nAtención al Cliente de Comercial Andes SpA")


# --- wording per type ----------------------------------------------------------------
def test_reclamo_wording_differs_from_consulta(renderer: TemplateRenderer) -> None:
    reclamo = renderer.render(TemplateName.ACKNOWLEDGEMENT, make_ctx(tipo=TipoIncidencia.RECLAMO))
    consulta = renderer.render(TemplateName.ACKNOWLEDGEMENT, make_ctx(tipo=TipoIncidencia.CONSULTA))

    assert reclamo.subject.startswith("Hemos recibido su reclamo")
    assert consulta.subject.startswith("Hemos recibido su consulta")
    assert "Lamentamos los inconvenientes" in reclamo.text
    assert "Lamentamos" not in consulta.text
    assert "Lamentamos los inconvenientes" in reclamo.whatsapp
    # a reclamo's acknowledgement promises the resolution deadline too
    assert "entregarle una solución a más tardar" in reclamo.text
    assert "solución" not in consulta.text


def test_consulta_answer_is_not_called_a_proposal(renderer: TemplateRenderer) -> None:
    ctx = make_ctx(tipo=TipoIncidencia.CONSULTA, detalle="El horario es de 9 a 18 h.")
    message = renderer.render(TemplateName.PROPOSED_RESOLUTION, ctx)

    assert message.subject.startswith("Respuesta a su consulta")
    assert "Esta es la respuesta a su consulta" in message.text


def test_unclassified_ticket_gets_the_general_wording(renderer: TemplateRenderer) -> None:
    message = renderer.render(TemplateName.ACKNOWLEDGEMENT, make_ctx(tipo=None))

    assert renderer.source_name(TemplateName.ACKNOWLEDGEMENT, None) == "general/acuse_recibo.j2"
    assert message.subject.startswith("Hemos recibido su mensaje")
    assert "(Reclamo)" not in message.text


def type_specific_files() -> list[tuple[TipoIncidencia, TemplateName]]:
    found = []
    for tipo in TipoIncidencia:
        for path in sorted((default_templates_dir() / tipo.value.lower()).glob("*.j2")):
            found.append((tipo, TemplateName(path.stem)))
    return found


@pytest.mark.parametrize("tipo,name", type_specific_files())
def test_type_specific_file_changes_the_wording(
    renderer: TemplateRenderer, tmp_path: Path, tipo: TipoIncidencia, name: TemplateName
) -> None:
    folder = tipo.value.lower()
    assert renderer.source_name(name, tipo) == f"{folder}/{name.value}.j2"
    # the same ticket through a copy of the templates without the type's own file
    directory = copy_templates(tmp_path)
    (directory / folder / f"{name.value}.j2").unlink()
    only_general = TemplateRenderer(directory, ZONE)
    assert only_general.source_name(name, tipo) == f"general/{name.value}.j2"

    for fill in (FULL, EMPTY):
        ctx = make_ctx(tipo=tipo, **fill)
        specific, general = renderer.render(name, ctx), only_general.render(name, ctx)
        assert specific.text != general.text
        assert specific.whatsapp != general.whatsapp


def test_reclamo_and_consulta_have_their_own_files() -> None:
    specific = set(type_specific_files())
    assert (TipoIncidencia.RECLAMO, TemplateName.ACKNOWLEDGEMENT) in specific
    assert (TipoIncidencia.CONSULTA, TemplateName.ACKNOWLEDGEMENT) in specific
    assert (TipoIncidencia.SUGERENCIA, TemplateName.ACKNOWLEDGEMENT) in specific


# --- menu ----------------------------------------------------------------------------
def test_menu_per_type(renderer: TemplateRenderer) -> None:
    process_order = renderer.available(TipoIncidencia.RECLAMO)
    assert set(process_order) == set(TemplateName)
    for tipo in TYPES:
        menu = renderer.available(tipo)
        assert menu[0] is TemplateName.ACKNOWLEDGEMENT
        assert menu == sorted(menu, key=process_order.index), tipo
        assert len(set(menu)) == len(menu)

    assert renderer.available(TipoIncidencia.CONSULTA) == [
        n for n in process_order if n is not TemplateName.REJECTION]
    # a suggestion is asked too: "¿podemos dar por atendida su sugerencia?"
    assert TemplateName.CONFORMITY_REQUEST in renderer.available(TipoIncidencia.SUGERENCIA)
    assert TemplateName.REJECTION not in renderer.available(TipoIncidencia.SUGERENCIA)
    assert TemplateName.CLOSURE in renderer.available(TipoIncidencia.SUGERENCIA)
    before_triage = renderer.available(None)
    assert TemplateName.INFO_REQUEST in before_triage
    assert TemplateName.PROPOSED_RESOLUTION not in before_triage


def test_available_returns_a_fresh_list(renderer: TemplateRenderer) -> None:
    renderer.available(None).clear()
    assert renderer.available(None)


# --- layout of the folder --------------------------------------------------------------
def test_default_templates_dir_is_the_repository_folder() -> None:
    directory = default_templates_dir()
    assert directory.is_dir()
    assert directory.name == "templates"
    assert (directory.parent / "bot" / "outgoing" / "templates.py").is_file()


def test_missing_directory_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TemplateRenderer(tmp_path / "nope", ZONE)


def test_annex_documents_every_template_and_variable(renderer: TemplateRenderer) -> None:
    annex = (default_templates_dir() / "ANX-COM-001.md").read_text(encoding="utf-8")

    for name in TemplateName:
        assert f"`{name.value}`" in annex, name
        assert TEMPLATE_TITLES[name] in annex, name
    for variable in renderer.variables():
        assert f"`{variable}`" in annex, variable
    assert "ATIENDE_WHATSAPP_TEMPLATES" in annex
    assert "[#" in annex
