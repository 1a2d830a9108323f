"""The weekly report: posted by itself once per week (even across restarts), on the
week's first business day; and the morning summary's line on yesterday's compliance."""

from __future__ import annotations

from bot.jobs.weekly_report import WeeklyReport
from bot.reminders import build_reminders
from bot.services import build_services
from tests.conftest import santiago
from tests.core.reports.harness import known_set
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram


def albums(fake: FakeTelegram) -> list[int]:
    return [int(c.params["chat_id"]) for c in fake.calls_to("sendMediaGroup")]


async def test_weekly_report_once_per_week_across_restarts(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    services, clock = desk.services, desk.services.clock
    await known_set(services, desk.team)
    weekly = WeeklyReport(services)
    fake_telegram.clear()
    clock.set(santiago(2026, 12, 14, 8, 0))  # type: ignore[attr-defined]  # Monday, before 08:30
    assert await weekly.send_if_due() == []
    clock.set(santiago(2026, 12, 14, 8, 31))  # type: ignore[attr-defined]
    digests = await weekly.send_if_due()
    assert [d.audience.value for d in digests] == ["channel", "admin"]
    assert albums(fake_telegram) == [CARLA]  # the channel has no notifier in this test
    text = fake_telegram.last("sendMessage").params["text"]
    assert "semana del 07/12/2026 al 13/12/2026" in text
    assert "Cerrados: 0 con conformidad del cliente, 0 sin respuesta del cliente" in text
    assert await weekly.send_if_due() == []  # once
    again = build_services(services.settings, clock)
    again.notifiers.extend(services.notifiers)
    restarted = WeeklyReport(again)
    assert await restarted.send_if_due() == []  # a restart or second instance: not again
    clock.set(santiago(2026, 12, 16, 10, 0))  # type: ignore[attr-defined]
    assert await restarted.send_if_due() == []
    assert albums(fake_telegram) == [CARLA]
    clock.set(santiago(2026, 12, 21, 9, 0))  # type: ignore[attr-defined]  # next Monday
    assert len(await restarted.send_if_due()) == 2
    assert albums(fake_telegram) == [CARLA, CARLA]
    assert "semana del 14/12/2026 al 20/12/2026" in fake_telegram.last("sendMessage").params[
        "text"]


async def test_holiday_monday_moves_it_to_tuesday_and_setting_turns_it_off(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    services, clock = desk.services, desk.services.clock
    weekly = WeeklyReport(services)
    clock.set(santiago(2026, 6, 29, 9, 0))  # type: ignore[attr-defined]  # San Pedro y San Pablo
    assert weekly.due_week(clock.now()) is None
    assert await weekly.send_if_due() == []
    assert weekly.next_at(santiago(2026, 6, 26, 12, 0)) == santiago(2026, 6, 30, 8, 30)
    clock.set(santiago(2026, 6, 30, 8, 30))  # type: ignore[attr-defined]
    assert len(await weekly.send_if_due()) == 2
    off = services.settings.model_copy(update={"weekly_report": False})
    quiet = WeeklyReport(build_services(off, clock))
    clock.set(santiago(2026, 7, 6, 9, 0))  # type: ignore[attr-defined]
    assert await quiet.send_if_due() == []
    assert len(albums(fake_telegram)) == 1


async def test_morning_summary_says_how_yesterday_went(desk: Desk) -> None:
    services, clock = desk.services, desk.services.clock
    await known_set(services, desk.team)
    clock.set(santiago(2026, 12, 17, 8, 0))  # type: ignore[attr-defined]  # Thursday
    digests = await build_reminders(services).send_summary()
    assert digests and digests[0].summary.endswith("Ayer: 1 de 1 resueltos en 48 h hábiles.")
