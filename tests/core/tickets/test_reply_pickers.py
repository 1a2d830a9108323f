"""The two new annex messages (rechazo_reclamo, derivacion) are offered by every reply
picker, because the pickers read the per-type menu: driven through the console as the
administrator types it, and checked in the Telegram buttons' payload encoding."""

from __future__ import annotations

from bot.process.domain import Canal, TipoIncidencia
from bot.process.template_names import TEMPLATE_TITLES, TemplateName
from bot.services import Services
from handlers.console import Console, ConsoleSender
from handlers.telegram import callbacks
from tests.conftest import Team
from tests.handlers.console.test_console import drive


async def _reclamo(services: Services, team: Team) -> int:
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana Pérez")
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=Canal.EMAIL, subject="RE: Cobro",
                                       description="Me cobraron dos veces.",
                                       tipo=TipoIncidencia.RECLAMO)
    return view.number


async def test_console_picker_offers_the_rejection_and_sends_it(services: Services,
                                                                team: Team) -> None:
    n = await _reclamo(services, team)
    menu = services.replies.templates_for(await services.queries.get(n))
    rejection = menu.index(TemplateName.REJECTION) + 1  # numbered choices start at 1
    out: list[str] = []
    services.outbox.register(Canal.EMAIL, ConsoleSender(out.append))
    console = Console(services, team.carla, out.append)
    await drive(console, [f"/responder {n}", str(rejection),
                          "La boleta corresponde al plan anual contratado.", "1"])
    await services.outbox.deliver_due()
    text = "\n".join(out)
    assert TEMPLATE_TITLES[TemplateName.REJECTION] in text
    assert TEMPLATE_TITLES[TemplateName.REFERRAL] in text
    assert "no procede, por las siguientes razones" in text
    assert "La boleta corresponde al plan anual contratado." in text and "SERNAC" in text
    history = await services.queries.history(n)
    assert [i.template for i in history if i.template] == ["rechazo_reclamo"]


def test_telegram_buttons_encode_the_new_templates() -> None:
    for name in (TemplateName.REJECTION, TemplateName.REFERRAL):
        index = callbacks.template_index(name)
        assert callbacks.template_at(str(index)) is name
    # appended: the buttons already on people's phones keep their meaning
    assert callbacks.template_at("0") is TemplateName.ACKNOWLEDGEMENT
    assert callbacks.template_at("6") is TemplateName.CUSTOMER_REMINDER
