"""Texts that fit their platform's limit by design, cut where a reader expects it.

A cut happens on a word (or a line) and is marked with "…", never inside a word or
silently. What must survive a cut says so: a list keeps its summary and says how many
items did not fit ("y 12 más"); a customer message keeps its question and deadline and
shortens the agent's detail instead (``shrink_detail``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.outgoing.templates import RenderedMessage, TemplateContext, TemplateRenderer
from bot.process.template_names import TemplateName

ELLIPSIS = "…"


def cut(text: str, limit: int, *, measure: Callable[[str], int] = len) -> str:
    """``text`` if it fits; else its start, cut on a line or word, ending in "…"."""
    if measure(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:max(limit, 0)]
    low, high = 0, len(text)  # the longest prefix that fits with the mark
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid] + ELLIPSIS) <= limit:
            low = mid
        else:
            high = mid - 1
    head = text[:low]
    for sep in ("\n", " "):
        at = head.rfind(sep)
        if at >= low * 2 // 3:  # do not throw away more than a third for a nicer cut
            head = head[:at]
            break
    return head.rstrip() + ELLIPSIS


def fit_lines(lines: Sequence[str], limit: int, *, header: str = "", footer: str = "",
              more: Callable[[int], str] = lambda n: f"… y {n} más.",
              measure: Callable[[str], int] = len, sep: str = "\n") -> str:
    """Header, as many whole lines as fit, "y N más" for the rest, and the footer: the
    header and footer (a summary, a question) are never dropped."""
    kept: list[str] = []

    def compose(body: list[str], hidden: int) -> str:
        parts = [p for p in (header, *body, more(hidden) if hidden else "", footer) if p]
        return sep.join(parts)

    for i, line in enumerate(lines):
        hidden_after = len(lines) - i - 1
        if measure(compose([*kept, line], hidden_after)) > limit:
            break
        kept.append(line)
    hidden = len(lines) - len(kept)
    text = compose(kept, hidden)
    return text if measure(text) <= limit else cut(text, limit, measure=measure)


def shrink_detail(render: Callable[[str], str], detail: str, limit: int,
                  *, measure: Callable[[str], int] = len) -> tuple[str, bool]:
    """Render with ``detail``; if the result is over ``limit``, shorten the detail (only
    the detail: the fixed wording around it, with its question and deadline, stays)
    until the whole fits. Returns the text and whether the detail was cut."""
    text = render(detail)
    over = measure(text) - limit
    if over <= 0 or not detail:
        return text, False
    budget = max(len(detail) - over - len(ELLIPSIS), 0)
    while True:
        shorter = cut(detail, budget) if budget > 0 else ""
        text = render(shorter)
        if measure(text) <= limit or not shorter:
            return text, True
        budget -= max(measure(text) - limit, 1)


# --- customer messages ----------------------------------------------------------------
WHATSAPP_TEXT_MAX = 4096  # Cloud API text.body
WHATSAPP_BUTTONS_BODY_MAX = 1024  # interactive body.text: the conformity request's buttons


def render_fitting(renderer: TemplateRenderer, template: TemplateName,
                   ctx: TemplateContext) -> RenderedMessage:
    """Render a customer message whose WhatsApp form fits WhatsApp: when a long detail
    pushes it over, only the detail is shortened, so the question and the deadline of
    a conformity request are always sent."""
    rendered = renderer.render(template, ctx)
    limit = (WHATSAPP_BUTTONS_BODY_MAX if template in _WITH_BUTTONS else WHATSAPP_TEXT_MAX)
    if len(rendered.whatsapp) <= limit or not ctx.detalle:
        return rendered

    def whatsapp(detail: str) -> str:
        return renderer.render(template, replace(ctx, detalle=detail)).whatsapp

    text, _ = shrink_detail(whatsapp, ctx.detalle, limit)
    return replace(rendered, whatsapp=text)


_WITH_BUTTONS = frozenset({TemplateName.CONFORMITY_REQUEST, TemplateName.CUSTOMER_REMINDER})
