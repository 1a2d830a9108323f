"""``/reporte`` on Telegram: summary text plus an album of six charts, for members only."""

from __future__ import annotations

from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram

STRANGER = 4242
PNG = b"\x89PNG\r\n\x1a\n"


async def test_reporte_sends_summary_and_charts(desk: Desk, fake_telegram: FakeTelegram) -> None:
    await desk.customer_writes("Mi boleta no llegó.")
    fake_telegram.clear()
    await desk.text("/reporte semana")
    text = fake_telegram.last("sendMessage").params["text"]
    assert "Reporte · últimos 7 días" in text and "Tickets nuevos: 1" in text
    group = fake_telegram.last("sendMediaGroup")
    media = group.params["media"]
    assert len(media) == 6 and all(item["type"] == "photo" for item in media)
    assert media[0]["caption"].startswith("Cumplimiento de plazos\nSemana (lunes)")
    uploads = list(group.files.values())
    assert len(uploads) == 6 and all(u.data.startswith(PNG) for u in uploads)
    assert all(len(u.data) < 300_000 for u in uploads)


async def test_reporte_bad_period_and_stranger(desk: Desk, fake_telegram: FakeTelegram) -> None:
    fake_telegram.clear()
    await desk.text("/reporte ayer")
    assert "No entiendo el período" in desk.last_message()["text"]
    assert fake_telegram.calls_to("sendMediaGroup") == []
    await desk.text("/reporte", user=STRANGER)
    assert "solo para el equipo" in desk.last_message(STRANGER)["text"]
    assert fake_telegram.calls_to("sendMediaGroup") == []
