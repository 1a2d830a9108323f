"""Slack: /ticket cliente (data, an Editar button, the modal, recorded edits),
/ticket fusionar with its button, strangers refused, customer strings escaped."""

from __future__ import annotations

from typing import Any

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from handlers.slack.identity import NOT_ON_TEAM
from tests.conftest import Team
from tests.handlers.slack.harness import SlackRig, block_actions, rig, submission

__all__ = ["rig"]

NASTY = "Ana <!channel> *Pérez*"


async def _customers(rig: SlackRig) -> tuple[int, int, int]:
    s = rig.services
    a = await s.intake.receive(IncomingMessage(
        Canal.EMAIL, "Hola", "<s1@example.cl>", email="ana@example.cl", name=NASTY))
    b = await s.intake.receive(IncomingMessage(
        Canal.WHATSAPP, "Hola otra vez", "wamid.s1", phone="56912345678", name="Anita"))
    await rig.front.drain()
    assert a.ticket and b.ticket
    return a.ticket.customer.id, b.ticket.customer.id, b.ticket.number


def _ephemeral_to(rig: SlackRig, user: str) -> dict[str, Any]:
    return [c.params for c in rig.fake.calls_to("chat.postEphemeral")
            if c.params["user"] == user][-1]


def _button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return {"action_id": action_id, "block_id": block.get("block_id", "b"),
                        "type": "button", "value": element["value"], "action_ts": "1.3"}
    raise AssertionError(f"no {action_id}")


async def test_lookup_edit_modal_records_who(rig: SlackRig, team: Team) -> None:
    keep, _, _ = await _customers(rig)
    await rig.command("UDIEGO", "cliente ana@example.cl")
    shown = _ephemeral_to(rig, "UDIEGO")
    text = str(shown["blocks"])
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "#1" in text
    await rig.interact(block_actions("UDIEGO", [_button(shown["blocks"],
                                                        "atiende_cliente_editar")]))
    view = rig.fake.views[rig.fake.last("views.open").response["view"]["id"]]
    assert view["callback_id"] == "atiende_cliente"
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]
               if b.get("block_id") in ("nombre", "correo", "rut")}
    assert initial == {"nombre": NASTY, "correo": "ana@example.cl", "rut": None}
    await rig.interact(submission("UDIEGO", view, {
        "nombre": "Ana Pérez", "pila": "", "tratamiento": "Sra.", "rut": "12.345.678-5",
        "correo": "ana@example.cl", "telefono": "", "empresa": "", "notas": ""}))
    c = await rig.services.customers.get(keep)
    assert (c.name, c.form_of_address, c.rut, c.first_name) == ("Ana Pérez", "Sra.",
                                                                "12345678-5", "Ana")
    changes = await rig.services.customers.changes(keep)
    assert {(x.field, x.author_name) for x in changes} == {
        ("Nombre", "Diego"), ("Tratamiento", "Diego"), ("RUT", "Diego")}
    assert "guardado" in _ephemeral_to(rig, "UDIEGO")["text"]
    # the open ticket's card shows the new name and its thread says who changed it
    assert "Ana Pérez" in str((await rig.card(1))["blocks"])
    assert any("Cliente · Nombre" in m["text"] for m in await rig.thread(1))

    # an invalid RUT is told privately and changes nothing
    await rig.interact(submission("UDIEGO", view, {"rut": "12.345.678-4"}))
    assert "dígito verificador" in _ephemeral_to(rig, "UDIEGO")["text"]
    assert (await rig.services.customers.get(keep)).rut == "12345678-5"
    # data of another customer is refused, and that customer's name pings nobody
    other = await rig.services.customers.find_or_create(email="x@example.cl",
                                                        name="<!channel> Otro")
    await rig.services.customers.update(team.admin, other.id, rut="11.111.111-1")
    await rig.interact(submission("UDIEGO", view, {"rut": "11.111.111-1"}))
    told = _ephemeral_to(rig, "UDIEGO")["text"]
    assert "ya es del cliente «&lt;!channel&gt; Otro»" in told and "<!channel>" not in told


async def test_merge_button_merges_and_strangers_are_refused(rig: SlackRig,
                                                             team: Team) -> None:
    keep, drop, moved = await _customers(rig)
    await rig.command("UDIEGO", f"fusionar {keep} +56912345678")
    ask = _ephemeral_to(rig, "UDIEGO")
    assert "¿Fusionar estos clientes?" in str(ask["blocks"])
    merge = _button(ask["blocks"], "atiende_fusionar")

    rig.fake.add_user("USTRANGER", "someone@else.cl", "Stranger")
    await rig.interact(block_actions("USTRANGER", [merge]))  # a copied button
    assert _ephemeral_to(rig, "USTRANGER")["text"] == NOT_ON_TEAM
    await rig.command("USTRANGER", f"cliente {keep}")
    await rig.interact(block_actions("USTRANGER", [{**merge, "action_id":
                                                    "atiende_cliente_editar",
                                                    "value": str(keep)}]))
    told = [c.params for c in rig.fake.calls_to("chat.postEphemeral")
            if c.params["user"] == "USTRANGER"]
    assert [p["text"] for p in told] == [NOT_ON_TEAM] * 3 and rig.fake.calls_to("views.open") == []
    assert (await rig.services.queries.get(moved)).customer.id == drop

    await rig.interact(block_actions("UDIEGO", [merge]))
    assert "Clientes fusionados" in _ephemeral_to(rig, "UDIEGO")["text"]
    t = await rig.services.queries.get(moved)
    assert t.number == moved and t.customer.id == keep
    assert any("Cliente" in m["text"] and "Diego" in m["text"]
               for m in await rig.thread(moved))
    await rig.interact(block_actions("UDIEGO", [merge]))  # a second click: already gone
    assert "No encontré ningún cliente" in _ephemeral_to(rig, "UDIEGO")["text"]

