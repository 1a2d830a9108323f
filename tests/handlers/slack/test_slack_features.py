"""Identity, App Home, threads, attachments, reminders, rate limits and escaping."""

from __future__ import annotations

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Estado, InteractionKind, TipoIncidencia
from bot.process.notify import Audience, Digest, Notice
from bot.process.views import TicketView
from handlers.slack import mrkdwn
from handlers.slack.identity import NOT_ON_TEAM
from handlers.slack.modals import TEMPLATE_SELECT
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SlackRig, block_actions, rig, submission

__all__ = ["rig"]

NASTY = "Hola <!channel> <@U123> *bold* <b>x</b> & {{ secret }}"


async def _ticket(rig: SlackRig, team: Team, text: str = "hola", **kw: object) -> TicketView:
    customer = await rig.services.customers.find_or_create(email="ana@example.cl", name="Ana")
    view = await rig.services.tickets.open(team.admin, customer_id=customer.id,
                                           channel=Canal.EMAIL, description=text, **kw)
    await rig.front.drain()
    return view


def test_mrkdwn_escaping() -> None:
    assert mrkdwn.escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert mrkdwn.escape("&amp;") == "&amp;amp;"
    assert "<" not in mrkdwn.literal(NASTY) and "*b" not in mrkdwn.literal(NASTY)
    assert mrkdwn.quote("a\n<b>") == "> a\n> &lt;b&gt;"
    assert mrkdwn.mention("U1", "x") == "<@U1>" and mrkdwn.mention(None, "<x>") == "&lt;x&gt;"


async def test_customer_text_pings_nobody(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team, NASTY)
    await rig.services.intake.receive(IncomingMessage(
        Canal.EMAIL, NASTY, "<m2@example.cl>", email="ana@example.cl", name="Ana <!here>",
        ticket_number=1))
    await rig.front.drain()
    posted = [c.params for c in rig.fake.calls_to("chat.postMessage")]
    posted += [c.params for c in rig.fake.calls_to("chat.update")]
    assert len(posted) >= 3
    for params in posted:
        for block in params.get("blocks", []):
            texts = [block.get("text") or {}] + list(block.get("fields", []))
            for t in texts:
                if t.get("type") == "mrkdwn":
                    assert "<!" not in t["text"] and "<@U123>" not in t["text"], t
        assert "<!channel>" not in params["text"] and "<!here>" not in params["text"]
    # the customer's words still show literally, as plain text
    card = await rig.card(1)
    assert any(b.get("text", {}).get("text") == NASTY for b in card["blocks"])


async def test_unknown_users_are_refused(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team)
    rig.fake.add_user("USTRANGER", "someone@else.cl", "Stranger")
    await rig.click("USTRANGER", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    await rig.click("UNOBODY", 1, "atiende_proponer")
    await rig.command("USTRANGER", "lista")
    ticket = await rig.services.queries.get(1)
    assert ticket.tipo is None and ticket.estado is Estado.NEW
    told = [c.params for c in rig.fake.calls_to("chat.postEphemeral")]
    assert [p["user"] for p in told] == ["USTRANGER", "UNOBODY", "USTRANGER"]
    assert all(p["text"] == NOT_ON_TEAM for p in told)
    assert await rig.services.team.by_slack("USTRANGER") is None


async def test_app_home_shows_mine_and_overdue_and_refreshes(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team, "mío", assignee_id=team.diego.id)
    await _ticket(rig, team, "de Carla")
    rig.services.clock.advance(hours=30)  # type: ignore[attr-defined]
    response = await rig.event({"type": "app_home_opened", "user": "UDIEGO", "tab": "home",
                                "channel": "D1", "event_ts": "1.1"})
    assert response.status_code == 200
    view = rig.fake.last("views.publish").params["view"]
    text = str(view["blocks"])
    assert "Mis tickets (1)" in text and "Vencidos del equipo (2)" in text
    assert "vencido hace 6 h" in text
    published = len(rig.fake.calls_to("views.publish"))
    await rig.services.tickets.classify(team.admin, 1, tipo=TipoIncidencia.RECLAMO)
    await rig.front.drain()
    assert len(rig.fake.calls_to("views.publish")) == published + 1
    assert "Reclamo" in str(rig.fake.last("views.publish").params["view"])


async def test_rate_limited_post_is_retried(rig: SlackRig, team: Team) -> None:
    rig.fake.fail_next("chat.postMessage", 429, retry_after=0)
    await _ticket(rig, team)
    calls = rig.fake.calls_to("chat.postMessage")
    assert [c.fault for c in calls] == [429, None]
    assert await rig.card(1)


async def test_thread_reply_becomes_note_once(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team)
    ts = await rig.card_ts(1)
    event = {"type": "message", "channel": CHANNEL, "user": "USOFIA", "text": "revisé <@U9>",
             "ts": "999.1", "thread_ts": ts, "channel_type": "channel"}
    posts = len(rig.fake.calls_to("chat.postMessage"))
    await rig.event(event, "Ev1")
    await rig.event(event, "Ev1")  # Slack's retry
    await rig.event({**event, "ts": "999.2", "bot_id": "B1", "text": "bot"})
    await rig.event({**event, "ts": "999.3", "thread_ts": None, "text": "top level"})
    notes = [i for i in await rig.services.queries.history(1) if i.kind is InteractionKind.NOTE]
    assert [(n.author_name, n.body) for n in notes] == [("Sofía", "revisé <@U9>")]
    assert len(rig.fake.calls_to("chat.postMessage")) == posts  # not echoed
    assert rig.fake.last("reactions.add").params["timestamp"] == "999.1"


async def test_attachments_go_to_the_thread(rig: SlackRig, team: Team) -> None:
    stored = rig.services.attachments.store(b"%PDF-1.4 test", "factura.pdf", "application/pdf")
    await rig.services.intake.receive(IncomingMessage(
        Canal.EMAIL, "adjunto factura", "<m1@example.cl>", email="ana@example.cl",
        attachments=[stored]))
    await rig.front.drain()
    [upload] = rig.fake.uploads.values()
    assert (upload.filename, upload.data) == ("factura.pdf", b"%PDF-1.4 test")
    assert upload.thread_ts == await rig.card_ts(1) and upload.channel_id == CHANNEL


async def test_customer_message_when_pending_carries_conformity_buttons(
        rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team)
    await rig.services.tickets.propose(team.admin, 1)
    await rig.services.intake.receive(IncomingMessage(
        Canal.EMAIL, "sí, ya está", "<m3@example.cl>", email="ana@example.cl",
        ticket_number=1))
    await rig.front.drain()
    last = (await rig.thread(1))[-1]
    ids = [e["action_id"] for b in last["blocks"] for e in b.get("elements", [])]
    assert ids == ["atiende_conforme", "atiende_rechazar"]
    block = last["blocks"][-1]
    payload = block_actions("UDIEGO", [{"action_id": "atiende_rechazar", "type": "button",
                                        "block_id": block["block_id"],
                                        "value": block["elements"][1]["value"]}], last["ts"])
    await rig.interact(payload)
    assert (await rig.services.queries.get(1)).estado is Estado.IN_PROGRESS


async def test_reply_modal_template_select_updates_preview(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team)
    await rig.click("UDIEGO", 1, "atiende_responder")
    view = rig.fake.views[rig.fake.last("views.open").response["view"]["id"]]
    action = {"action_id": TEMPLATE_SELECT, "block_id": "tpl", "type": "static_select",
              "selected_option": {"value": "solicitud_informacion"}}
    await rig.interact(block_actions("UDIEGO", [action], view=view))
    updated = rig.fake.last("views.update").params["view"]
    assert any(b.get("block_id") == "text:solicitud_informacion" for b in updated["blocks"])


async def test_commands_answer_ephemerally(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team, "problema con hosting", assignee_id=team.diego.id)
    for text, expected in (("lista mios", "problema con hosting"), ("1", "Historial"),
                           ("buscar hosting", "#1"), ("", "/ticket nuevo")):
        await rig.command("UDIEGO", text)
        params = rig.fake.last("chat.postEphemeral").params
        assert params["user"] == "UDIEGO"
        assert expected in str(params.get("blocks") or params["text"]), text


async def test_notifier_mentions_assignee_in_thread(rig: SlackRig, team: Team) -> None:
    ticket = await _ticket(rig, team, assignee_id=team.diego.id)
    [notifier] = [n for n in rig.services.notifiers if n.name == "slack"]
    notice = Notice(ticket, "primera_respuesta", "vencido", "Primera respuesta vencida <!>")
    digest = Digest(Audience.ASSIGNEE, team.diego, "Aviso", (notice,))
    assert notifier.can_reach(digest)
    assert not notifier.can_reach(Digest(Audience.ASSIGNEE, team.carla, "x", (notice,)))
    await notifier.deliver(digest)
    params = rig.fake.last("chat.postMessage").params
    assert params["thread_ts"] == await rig.card_ts(1)
    assert params["text"].startswith("⏰ <@UDIEGO>") and "&lt;!&gt;" in params["text"]
    await notifier.deliver(Digest(Audience.CHANNEL, None, "Resumen", (notice, notice)))
    assert "thread_ts" not in rig.fake.last("chat.postMessage").params


async def test_discard_is_admin_only(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team)
    await rig.click("UDIEGO", 1, "atiende_descartar")
    view = rig.fake.views[rig.fake.last("views.open").response["view"]["id"]]

    await rig.interact(submission("UDIEGO", view, {"motivo": "spam"}))
    assert (await rig.services.queries.get(1)).estado is Estado.NEW
    assert "administrador" in rig.fake.last("chat.postEphemeral").params["text"]


async def test_reply_modal_with_whatsapp_window_closed(rig: SlackRig, team: Team) -> None:
    s = rig.services
    s.settings.whatsapp_templates = {"actualizacion_estado": "atiende_actualizacion"}
    customer = await s.customers.find_or_create(phone="+56 9 1234 5678")
    await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.WHATSAPP,
                         description="me cobraron dos veces")
    await rig.front.drain()
    s.clock.advance(hours=40)  # type: ignore[attr-defined]
    await rig.click("UDIEGO", 1, "atiende_responder")
    view = rig.fake.views[rig.fake.last("views.open").response["view"]["id"]]
    assert "ventana de 24 horas" in str(view["blocks"])
    assert not any(b.get("block_id", "").startswith("text:") for b in view["blocks"])
    select = next(b for b in view["blocks"] if b.get("block_id") == "tpl")
    assert [o["value"] for o in select["element"]["options"]] == ["actualizacion_estado"]

    await rig.interact(submission("UDIEGO", view, {"tpl": "actualizacion_estado"}))
    [out] = [i for i in await s.queries.history(1) if i.kind is InteractionKind.OUTBOUND]
    assert out.meta["approved_template"] == "atiende_actualizacion"
    assert "plantilla aprobada" in (await rig.thread(1))[-1]["text"]


async def test_assigning_to_someone_off_the_team_is_refused(rig: SlackRig, team: Team) -> None:
    await _ticket(rig, team)
    rig.fake.add_user("UCARLA", "carla@empresa.cl", "Carla")
    await rig.click("UCARLA", 1, "atiende_asignar", selected_user="UGUEST")
    assert (await rig.services.queries.get(1)).assignee.name == "Carla"  # type: ignore[union-attr]
    assert "no es parte del equipo" in rig.fake.last("chat.postEphemeral").params["text"]


async def test_build_front_end_registers_notifier_and_http_route(
        services: object, fake_slack: object) -> None:
    from bot.app.frontend import wired
    from bot.services import Services, build_services
    from handlers.slack import build_front_end

    assert isinstance(services, Services)
    settings = services.settings.model_copy(update={
        "slack_bot_token": "xoxb-1", "slack_channel": CHANNEL, "slack_signing_secret": ""})
    live = build_services(settings, services.clock)
    front = wired(live, build_front_end(live))  # what bot.app.run.configured_front_ends and connect do
    assert [n.name for n in live.notifiers] == ["slack"]
    assert front.routes() == []  # type: ignore[attr-defined]  # no secret: no endpoint
    live.settings.slack_signing_secret = "s"
    assert [r.path for r in front.routes()] == ["/slack/events"]  # type: ignore[attr-defined]
