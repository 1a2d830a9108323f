"""``insert`` makes the row ``Model.create`` makes: same columns written, same instance
returned, same refusals, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError, ValidationError
from tortoise.models import Model

from bot.process.domain import Canal, Estado, InteractionKind, Prioridad, TipoIncidencia
from bot.storage.inserts import insert
from db.models import Customer, InboxItem, Interaction, TeamMember, Ticket

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def _columns(row: Model) -> dict[str, Any]:
    names = type(row)._meta.fields_db_projection
    return {name: getattr(row, name) for name in names if name != "id"}


async def _both(model: type[Model], unique: tuple[str, Any, Any] | None = None,
                **values: Any) -> tuple[Model, Model]:
    """The same values through ``create`` and ``insert`` (a unique column apart: its
    two values); both rows read back."""
    name, first, second = unique or ("", None, None)
    made = await model.create(**values, **({name: first} if unique else {}))
    ours = await insert(model, **values, **({name: second} if unique else {}))
    assert ours.pk is not None and ours.pk != made.pk and ours._saved_in_db

    def same(row: Model) -> dict[str, Any]:
        return {k: v for k, v in _columns(row).items() if k != name}

    assert same(ours) == same(made)  # the instances returned
    back_made, back_ours = await model.get(pk=made.pk), await model.get(pk=ours.pk)
    assert same(back_ours) == same(back_made)  # what the database holds
    assert getattr(back_ours, name or "id") == (second if unique else ours.pk)
    return back_made, back_ours


async def test_rows_match_create_for_every_model_a_message_inserts(database: str) -> None:
    admin = await TeamMember.create(name="Carla", role="administrador", created_at=NOW)
    await _both(Customer, ("phone", "+56912345678", "+56912345679"), name="Ana Pérez",
                created_at=NOW)
    ana = await Customer.create(name="Ana", email="ana@example.cl", created_at=NOW)
    made, ticket = await _both(
        Ticket, customer=ana, assignee=admin, channel=Canal.WHATSAPP, subject="Sin internet",
        description="No tengo internet", tipo=TipoIncidencia.RECLAMO, prioridad=Prioridad.ALTA,
        created_at=NOW, updated_at=NOW, first_response_due=NOW, resolution_due=NOW,
        suggestion_reasons=["corte"])
    assert (ticket.customer_id, ticket.assignee_id, ticket.estado) == (ana.id, admin.id,
                                                                        Estado.NEW)
    assert ticket.version == 1 and ticket.previous_ticket_id is None
    _, message = await _both(Interaction, ("external_id", "wamid.1", "wamid.2"), ticket=ticket, kind=InteractionKind.INBOUND,
                             channel=Canal.WHATSAPP, author_name="Ana", body="Hola <b>",
                             created_at=NOW, meta={"a": [1, "ñ"]})
    assert message.ticket_id == ticket.id and message.meta == {"a": [1, "ñ"]}
    await _both(InboxItem, ("key", "whatsapp:1", "whatsapp:2"), channel=Canal.WHATSAPP, kind="k",
                payload={"message": {"id": "x"}}, summary="+569", status="procesado",
                attempts=1, processed_at=NOW, ticket_id_ref=None, next_attempt_at=NOW,
                created_at=NOW)
    item = await insert(InboxItem, key="whatsapp:k", channel=Canal.WHATSAPP, kind="k",
                        payload={"message": {"id": "x"}}, summary="+569", next_attempt_at=NOW,
                        created_at=NOW)
    back = await InboxItem.get(id=item.id)
    assert (back.status, back.attempts, back.payload, back.last_error) == \
        ("pendiente", 0, {"message": {"id": "x"}}, "")


async def test_the_relation_set_on_the_instance_is_the_object_given(database: str) -> None:
    ana = await Customer.create(name="Ana", email="ana@example.cl", created_at=NOW)
    ticket = await insert(Ticket, customer=ana, channel=Canal.EMAIL, created_at=NOW,
                          updated_at=NOW, first_response_due=NOW, resolution_due=NOW)
    assert ticket.customer is ana and ticket.customer_id == ana.id


async def test_the_same_refusals_as_create(database: str) -> None:
    await insert(InboxItem, key="k:1", channel=Canal.EMAIL, kind="k", next_attempt_at=NOW,
                 created_at=NOW)
    with pytest.raises(IntegrityError):  # the unique key
        await insert(InboxItem, key="k:1", channel=Canal.EMAIL, kind="k",
                     next_attempt_at=NOW, created_at=NOW)
    with pytest.raises(ValidationError):  # the field's own validators (max_length)
        await insert(Customer, name="x" * 201, created_at=NOW)
    with pytest.raises(ValueError, match="non nullable"):
        await insert(Customer, name=None, created_at=NOW)
    with pytest.raises(TypeError, match="no column"):
        await insert(Customer, nombre="Ana", created_at=NOW)
    unsaved = Customer(name="Ana", created_at=NOW)
    with pytest.raises(ValueError, match="save the related row first"):
        await insert(Ticket, customer=unsaved, channel=Canal.EMAIL, created_at=NOW,
                     updated_at=NOW, first_response_due=NOW, resolution_due=NOW)
    assert await Customer.all().count() == 0 and await Ticket.all().count() == 0
