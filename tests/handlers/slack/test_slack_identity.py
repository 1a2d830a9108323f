"""Linking a Slack user to a team member by email: only full members of our workspace.

A guest or a Slack Connect user can show any email in their profile; linking them by it
would let a stranger act as our administrator."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.process.domain import Canal
from handlers.slack.identity import NOT_ON_TEAM
from tests.conftest import Team
from tests.handlers.slack.harness import SlackRig, rig

__all__ = ["rig"]


async def _ticket(rig: SlackRig, team: Team) -> None:
    customer = await rig.services.customers.find_or_create(email="ana@example.cl", name="Ana")
    await rig.services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                    description="hola")
    await rig.front.drain()


async def test_a_full_member_of_our_workspace_is_linked_by_email(rig: SlackRig,
                                                                 team: Team) -> None:
    await _ticket(rig, team)
    rig.fake.add_user("UCARLA", "carla@empresa.cl", "Carla")
    await rig.click("UCARLA", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    assert (await rig.services.queries.get(1)).tipo is not None
    member = await rig.services.team.by_slack("UCARLA")
    assert member is not None and member.name == "Carla"


@pytest.mark.parametrize("profile", [
    {"team_id": "T0OTRO"},                          # another workspace
    {"is_stranger": True},                          # Slack Connect
    {"is_restricted": True},                        # multi-channel guest
    {"is_ultra_restricted": True},                  # single-channel guest
], ids=["other_team", "stranger", "restricted", "ultra_restricted"])
async def test_an_outsider_with_our_admins_email_is_not_linked(
        rig: SlackRig, team: Team, profile: dict[str, Any],
        caplog: pytest.LogCaptureFixture) -> None:
    await _ticket(rig, team)
    user = rig.fake.add_user("UFAKE", "carla@empresa.cl", "Carla")
    user.update(profile)
    version = (await rig.services.queries.get(1)).version
    caplog.set_level(logging.INFO)
    response = await rig.click("UFAKE", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    assert response.status_code == 200
    ticket = await rig.services.queries.get(1)
    assert ticket.tipo is None and ticket.version == version
    assert await rig.services.team.by_slack("UFAKE") is None
    assert (await rig.services.team.by_slack("UCARLA")) is None
    assert rig.fake.last("chat.postEphemeral").params["text"] == NOT_ON_TEAM
    assert any("not linked by email" in r.getMessage() for r in caplog.records
               if r.name == "handlers.slack.identity")
