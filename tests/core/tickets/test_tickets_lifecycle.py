"""The ticket life: every transition, every domain error, the role rules."""

from __future__ import annotations

import pytest

from bot.process.domain import (
    Canal,
    ConformityKind,
    Estado,
    InteractionKind,
    Prioridad,
    TipoIncidencia,
)
from bot.process.errors import (
    InvalidInput,
    InvalidTransition,
    MemberNotFound,
    NotAllowed,
    StaleAction,
    TicketNotFound,
)
from bot.process.views import Actor
from bot.services import Services
from bot.tickets.lifecycle import LEGAL, Action, allowed_actions
from db.models import OutboxMessage
from tests.conftest import Team


async def new_ticket(services: Services, team: Team, **kw: object) -> int:
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=kw.pop("channel", Canal.EMAIL),  # type: ignore[arg-type]
                                       description="No funciona mi correo", **kw)  # type: ignore[arg-type]
    return view.number


async def drive_to(services: Services, team: Team, estado: Estado) -> int:
    """A fresh ticket brought to ``estado`` through legal operations only."""
    number = await new_ticket(services, team)
    admin = team.admin
    if estado is Estado.NEW:
        return number
    await services.tickets.assign(admin, number, team.diego.id)
    if estado is Estado.IN_PROGRESS:
        return number
    if estado is Estado.WAITING_CUSTOMER:
        await services.tickets.wait_for_customer(admin, number)
        return number
    await services.tickets.propose(admin, number, detalle="Reiniciamos su buzón")
    if estado is Estado.PENDING_CONFORMITY:
        return number
    if estado is Estado.RESOLVED:
        await services.tickets.confirm(admin, number)
        return number
    raise AssertionError(estado)


async def perform(services: Services, team: Team, action: Action, number: int) -> None:
    t, admin = services.tickets, team.admin
    calls = {
        Action.CLASSIFY: lambda: t.classify(admin, number, tipo=TipoIncidencia.RECLAMO),
        Action.ASSIGN: lambda: t.assign(admin, number, team.sofia.id),
        Action.REPLY: lambda: t.reply(admin, number, text="Hola, lo revisamos."),
        Action.NOTE: lambda: t.note(admin, number, "nota interna"),
        Action.WAIT: lambda: t.wait_for_customer(admin, number),
        Action.PROPOSE: lambda: t.propose(admin, number, detalle="Listo"),
        Action.CONFIRM: lambda: t.confirm(admin, number),
        Action.REJECT: lambda: t.reject(admin, number),
        Action.REOPEN: lambda: t.reopen(admin, number),
        Action.DISCARD: lambda: t.discard(admin, number, "duplicado"),
    }
    await calls[action]()


STARTS = [Estado.NEW, Estado.IN_PROGRESS, Estado.WAITING_CUSTOMER, Estado.PENDING_CONFORMITY,
          Estado.RESOLVED]


@pytest.mark.parametrize("start", STARTS, ids=lambda e: e.name)
@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.name)
async def test_every_action_in_every_estado(services: Services, team: Team, start: Estado,
                                            action: Action) -> None:
    number = await drive_to(services, team, start)
    before = await services.queries.get(number)
    if start in LEGAL[action]:
        await perform(services, team, action, number)
        after = await services.queries.get(number)
        assert after.version > before.version
    else:
        with pytest.raises(InvalidTransition) as err:
            await perform(services, team, action, number)
        assert f"#{number}" in str(err.value)
        after = await services.queries.get(number)
        assert after.version == before.version  # nothing changed
        assert after.estado is start


async def test_expected_transitions(services: Services, team: Team) -> None:
    t, admin = services.tickets, team.admin
    n = await new_ticket(services, team)
    assert (await services.queries.get(n)).estado is Estado.NEW
    assert (await t.assign(admin, n, team.diego.id)).estado is Estado.IN_PROGRESS
    assert (await t.wait_for_customer(admin, n)).estado is Estado.WAITING_CUSTOMER
    assert (await t.propose(admin, n, detalle="x")).estado is Estado.PENDING_CONFORMITY
    assert (await t.reject(admin, n)).estado is Estado.IN_PROGRESS
    assert (await t.propose(admin, n, detalle="y")).estado is Estado.PENDING_CONFORMITY
    done = await t.confirm(admin, n)
    assert done.estado is Estado.RESOLVED
    assert done.resolved_at == services.clock.now()
    assert done.customer_confirmed_at == services.clock.now()
    assert done.conformity_kind is ConformityKind.EXPLICIT
    reopened = await t.reopen(admin, n, "el cliente volvió a escribir")
    assert reopened.estado is Estado.IN_PROGRESS and reopened.resolved_at is None
    gone = await t.discard(admin, n, "duplicado de #3")
    assert gone.estado is Estado.DISCARDED and gone.discard_reason == "duplicado de #3"


async def test_history_records_who_what_old_new(services: Services, team: Team) -> None:
    n = await new_ticket(services, team)
    diego = team.actor(team.diego)
    await services.tickets.classify(diego, n, tipo=TipoIncidencia.RECLAMO,
                                    prioridad=Prioridad.ALTA)
    events = [i for i in await services.queries.history(n) if i.kind is InteractionKind.EVENT]
    assert [(e.field, e.old_value, e.new_value, e.author_name) for e in events] == [
        ("Tipo_Incidencia", "—", "Reclamo", "Diego"),
        ("Prioridad", "—", "Alta", "Diego"),
    ]


async def test_admin_is_the_default_assignee(services: Services, team: Team) -> None:
    view = await services.queries.get(await new_ticket(services, team))
    assert view.assignee is not None and view.assignee.id == team.carla.id


async def test_domain_errors_have_plain_spanish(services: Services, team: Team) -> None:
    with pytest.raises(TicketNotFound, match="No existe el ticket #999"):
        await services.tickets.note(team.admin, 999, "hola")
    n = await new_ticket(services, team)
    with pytest.raises(InvalidInput, match="vacía"):
        await services.tickets.note(team.admin, n, "   ")
    with pytest.raises(InvalidInput, match="motivo"):
        await services.tickets.discard(team.admin, n, " ")
    with pytest.raises(InvalidInput):
        await services.tickets.classify(team.admin, n)
    with pytest.raises(MemberNotFound):
        await services.tickets.assign(team.admin, n, 4242)
    with pytest.raises(InvalidInput, match="vacío"):
        await services.tickets.reply(team.admin, n, text="  ")


async def test_only_team_members_act(services: Services, team: Team) -> None:
    n = await new_ticket(services, team)
    stranger = Actor.system("alguien")
    for call in (lambda: services.tickets.classify(stranger, n, tipo=TipoIncidencia.CONSULTA),
                 lambda: services.tickets.assign(stranger, n, team.diego.id),
                 lambda: services.tickets.reply(stranger, n, text="hola"),
                 lambda: services.tickets.discard(stranger, n, "spam")):
        with pytest.raises(NotAllowed):
            await call()
    assert (await services.queries.get(n)).version == 1


async def test_role_rules(services: Services, team: Team) -> None:
    n = await new_ticket(services, team)
    diego, sofia = team.actor(team.diego), team.actor(team.sofia)
    # An agent cannot take a ticket someone else holds (the administrator, by default).
    with pytest.raises(NotAllowed, match="administrador"):
        await services.tickets.assign(diego, n, team.diego.id)
    await services.tickets.assign(team.admin, n, team.diego.id)
    # ... but may pass on their own.
    assert (await services.tickets.assign(diego, n, team.sofia.id)).assignee.name == "Sofía"  # type: ignore[union-attr]
    with pytest.raises(NotAllowed):
        await services.tickets.assign(diego, n, team.diego.id)
    with pytest.raises(NotAllowed, match="descartar"):
        await services.tickets.discard(sofia, n, "spam")
    await services.tickets.propose(sofia, n, detalle="listo")
    await services.tickets.confirm(sofia, n)
    with pytest.raises(NotAllowed, match="reabrir"):
        await services.tickets.reopen(sofia, n)
    view = await services.queries.get(n)
    assert Action.REOPEN in allowed_actions(view, team.admin)
    assert Action.REOPEN not in allowed_actions(view, sofia)


async def test_stale_version_is_refused(services: Services, team: Team) -> None:
    n = await new_ticket(services, team)
    seen = await services.queries.get(n)
    await services.tickets.classify(team.admin, n, prioridad=Prioridad.BAJA)
    with pytest.raises(StaleAction):
        await services.tickets.classify(team.admin, n, prioridad=Prioridad.ALTA,
                                        expected_version=seen.version)
    assert (await services.queries.get(n)).prioridad is Prioridad.BAJA


async def test_reply_queues_exactly_one_outbox_row_and_stops_first_response(
        services: Services, team: Team) -> None:
    from bot.process.template_names import TemplateName

    n = await new_ticket(services, team)
    services.clock.advance(hours=2)  # type: ignore[attr-defined]
    view = await services.tickets.reply(team.admin, n, template=TemplateName.INFO_REQUEST,
                                        detalle="¿Su número de cliente?")
    assert view.estado is Estado.WAITING_CUSTOMER
    assert view.first_response_at == services.clock.now()
    rows = await OutboxMessage.all()
    assert len(rows) == 1 and rows[0].recipient == "ana@example.cl"
    assert f"[#{n}]" in rows[0].payload["subject"]
    assert "¿Su número de cliente?" in rows[0].payload["text"]


async def test_automatic_message_does_not_stop_first_response(services: Services,
                                                              team: Team) -> None:
    from bot.process.template_names import TemplateName

    n = await new_ticket(services, team)
    view = await services.tickets.reply(Actor.system(), n, template=TemplateName.ACKNOWLEDGEMENT,
                                        automatic=True)
    assert view.first_response_at is None
    assert view.estado is Estado.NEW


async def test_customer_without_contact_cannot_be_answered(services: Services,
                                                           team: Team) -> None:
    from db.models import Customer

    customer = await Customer.create(name="Sin datos", created_at=services.clock.now())
    view = await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.PHONE,
                                       description="Llamó por teléfono")
    with pytest.raises(InvalidInput, match="no tiene correo ni teléfono"):
        await services.tickets.reply(team.admin, view.number, text="Hola")
