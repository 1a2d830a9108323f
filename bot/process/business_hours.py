"""The business hours setting, read: ``mon-fri 09:00-18:00; sat 10:00-14:00``.

Apart from the SLA calendar (``bot/calendar/sla.py``) so that the settings can check the value
when they load without importing the calendar, which itself reads the settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_MINUTES = 24 * 60

_WEEKDAYS = {  # English and Spanish abbreviations, with and without accents
    name: number
    for names in ("mon tue wed thu fri sat sun", "lun mar mie jue vie sab dom")
    for number, name in enumerate(names.split())
}
_WEEKDAYS.update({"mié": 2, "sáb": 5})
_DAY_LABELS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class WeeklySchedule:
    """Open wall-clock intervals per weekday (index 0 = Monday).

    Intervals are ``(start, end)`` minutes since local midnight, sorted, disjoint and
    non-touching; ``end`` may be 1440 (24:00).
    """

    days: tuple[tuple[tuple[int, int], ...], ...]


def parse_business_hours(spec: str) -> WeeklySchedule:
    """Parse the ``business_hours`` setting; ``ValueError`` (in Spanish) says what is wrong.

    ``""`` means whole days Monday to Friday. Otherwise ``;``-separated segments, each an
    optional day list (``mon,wed``, ``mon-fri``; Spanish ``lun..dom`` also accepted; none
    means Monday to Friday) and ``,``-separated ``HH:MM-HH:MM`` shifts (``24:00`` may end a
    shift; shifts never cross midnight). Segments naming the same day add up.
    """
    text = spec.strip().lower()
    if not text:
        return WeeklySchedule(tuple(((0, DAY_MINUTES),) if wd < 5 else () for wd in range(7)))
    per_day: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for segment in filter(None, (part.strip() for part in text.split(";"))):
        digit = re.search(r"\d", segment)
        if digit is None:
            raise _bad(spec, f"faltan las horas en {segment!r} (formato HH:MM-HH:MM)")
        head, tail = segment[: digit.start()].strip(), segment[digit.start() :]
        weekdays = _parse_days(spec, head) if head else range(5)
        shifts = [_parse_shift(spec, part) for part in tail.split(",")]
        for wd in weekdays:
            per_day[wd].extend(shifts)
    if not any(per_day):
        raise _bad(spec, "no hay ningún horario de atención")
    days: list[tuple[tuple[int, int], ...]] = []
    for wd, shifts in enumerate(per_day):
        merged: list[tuple[int, int]] = []
        for start, end in sorted(shifts):
            if merged and start < merged[-1][1]:
                raise _bad(
                    spec,
                    f"turnos superpuestos el {_DAY_LABELS[wd]}: "
                    f"{_hhmm(*merged[-1])} y {_hhmm(start, end)}",
                )
            if merged and start == merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        days.append(tuple(merged))
    return WeeklySchedule(tuple(days))


def _parse_days(spec: str, head: str) -> list[int]:
    found: list[int] = []
    for item in head.replace(" ", "").split(","):
        names = item.split("-")
        unknown = [name for name in names if name not in _WEEKDAYS]
        if unknown or len(names) > 2:
            raise _bad(
                spec,
                f"día desconocido {(unknown or [item])[0]!r}; use mon, tue, wed, thu, fri, "
                "sat, sun (o lun, mar, mie, jue, vie, sab, dom), listas 'mon,wed' o rangos 'mon-fri'",
            )
        first, last = _WEEKDAYS[names[0]], _WEEKDAYS[names[-1]]
        if last < first:
            raise _bad(
                spec, f"rango de días al revés {item!r} (de lunes a domingo, p. ej. 'mon-fri')"
            )
        found.extend(range(first, last + 1))
    return found


def _parse_shift(spec: str, part: str) -> tuple[int, int]:
    match = _RANGE.fullmatch(part.strip())
    if match is None:
        raise _bad(spec, f"turno inválido {part.strip()!r}; use HH:MM-HH:MM, p. ej. 09:00-18:00")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    for hour, minute in ((h1, m1), (h2, m2)):
        if minute > 59 or hour > 24 or (hour == 24 and minute):
            raise _bad(spec, f"hora inválida {hour:02d}:{minute:02d} (00:00 a 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise _bad(
            spec,
            f"el turno {_hhmm(start, end)} termina antes de empezar; un turno no cruza "
            "la medianoche (use p. ej. 22:00-24:00 y 00:00-06:00)",
        )
    return start, end


def _hhmm(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _bad(spec: str, why: str) -> ValueError:
    return ValueError(f"horario de atención inválido {spec!r}: {why}")
