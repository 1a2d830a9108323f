"""HTTP mode's edge: signatures, unreadable bodies, and every recorded Slack payload."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import Team, corpus_params
from tests.handlers.slack.harness import SlackRig, rig

__all__ = ["rig"]

SLACK_CORPUS = corpus_params("slack")


def _as_request(path: Path) -> tuple[bytes, str]:
    """``*.form.txt``: a form body as is; ``*.json``: an Events API body (JSON) or an
    interactivity payload (form field ``payload``), decided by its ``type``."""
    raw = path.read_bytes()
    if path.name.endswith(".form.txt"):
        return raw.strip(), "application/x-www-form-urlencoded"
    data = json.loads(raw)
    if data.get("type") in ("event_callback", "url_verification", "app_rate_limited"):
        return raw, "application/json"
    return urlencode({"payload": json.dumps(data)}).encode(), "application/x-www-form-urlencoded"


@pytest.mark.parametrize("path", SLACK_CORPUS, ids=lambda p: getattr(p, "name", "no-corpus"))
async def test_corpus_payload_is_handled(rig: SlackRig, team: Team, path: Path) -> None:
    body, content_type = _as_request(path)
    response = await rig.send(body, content_type)
    assert response.status_code == 200, response.text
    if path.name == "slack_url_verification.json":
        assert json.loads(body)["challenge"] in response.text
    # strangers in the corpus change nothing
    assert await rig.services.queries.list() is not None
    assert (await rig.services.queries.list()).total == 0


async def test_bad_signature_is_rejected(rig: SlackRig, team: Team) -> None:
    form = urlencode({"command": "/ticket", "text": "nuevo", "user_id": "UDIEGO",
                      "channel_id": "C1", "trigger_id": "t"}).encode()
    response = await rig.send(form, "application/x-www-form-urlencoded", secret="wrong")
    assert response.status_code == 401
    old = int(time.time()) - 600
    response = await rig.send(form, "application/x-www-form-urlencoded", timestamp=old)
    assert response.status_code == 401
    assert not rig.fake.calls_to("views.open")


@pytest.mark.parametrize("body,content_type", [
    (b"payload=%FF%FE\xff\xfe", "application/x-www-form-urlencoded"),
    (b"\xff{\"type\": \"event_callback\"}", "application/json"),
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
])
async def test_unreadable_body_is_400_not_500(rig: SlackRig, body: bytes,
                                              content_type: str) -> None:
    response = await rig.send(body, content_type)
    assert response.status_code == 400


async def test_signed_command_reaches_the_listener(rig: SlackRig, team: Team) -> None:
    response = await rig.command("UDIEGO", "nuevo")
    assert response.status_code == 200
    assert rig.fake.last("views.open").params["trigger_id"] == "trig.cmd"
