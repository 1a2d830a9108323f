"""Dates as a Spanish-speaking customer reads them: "jueves 3 de diciembre".

Used by the templates, the cards and the reminders alike, so a promise reads the same
wherever it is shown; locale-free (no ``setlocale``), so the output never depends on
the machine.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def format_day_es(value: datetime | date | None, zone: ZoneInfo) -> str:
    """``jueves 3 de diciembre``: the business date a customer can hold us to.

    No hour (a promise "a las 06:21" reads as a machine's) and no year (the weekday
    makes the date unambiguous). ``""`` for ``None``.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: deadlines must be timezone-aware")
        value = value.astimezone(zone).date()
    return f"{_WEEKDAYS[value.weekday()]} {value.day} de {_MONTHS[value.month - 1]}"


def format_datetime_es(value: datetime | None, zone: ZoneInfo) -> str:
    """``miércoles 9 de diciembre de 2026, 17:50`` in ``zone``; ``""`` for ``None``."""
    if value is None:
        return ""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: deadlines must be timezone-aware")
    local = value.astimezone(zone)
    weekday = _WEEKDAYS[local.weekday()]
    month = _MONTHS[local.month - 1]
    return f"{weekday} {local.day} de {month} de {local.year}, {local:%H:%M}"
