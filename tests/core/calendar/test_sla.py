"""SLA clock: the issue's acceptance examples, hand-checked schedules, and properties.

The properties run across several zones and schedules, with instants drawn both at
random and next to DST transitions, because those are where wall-clock arithmetic
breaks (America/Santiago changes at local midnight, Europe/Madrid at 02:00/03:00,
Australia/Lord_Howe by half an hour).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.calendar.sla import (
    MAX_CLOSED_DAYS,
    BusinessCalendar,
    Deadlines,
    add_business_days,
    add_business_hours,
    business_hours_between,
    calendar_for,
    deadlines,
    parse_business_hours,
)
from bot.process.settings import Settings, SettingsError, load_settings

SCL = ZoneInfo("America/Santiago")
MAD = ZoneInfo("Europe/Madrid")
SPLIT = "mon-fri 09:00-13:00,14:00-18:00; sat 09:00-13:00"
US = timedelta(microseconds=1)


def scl(*args: int) -> datetime:
    return datetime(*args, tzinfo=SCL)  # type: ignore[misc]


@cache
def chile(business_hours: str = "", closed: tuple[date, ...] = ()) -> Settings:
    return Settings(
        _env_file=None,
        timezone="America/Santiago",
        holidays_country="CL",
        business_hours=business_hours,
        closed_dates=list(closed),
    )


# --- acceptance examples (Chile, America/Santiago) -------------------------------------
def test_issue_example_deadlines_skip_weekend_and_holiday() -> None:
    # Fri 17:50 + 24 h -> Sat 17:50. Business: Fri 6h10 + Mon 24h (Tue 8 Dec is a
    # holiday) + Wed 17h50 = 48h -> Wed 9 Dec 17:50.
    got = deadlines(scl(2026, 12, 4, 17, 50), chile())
    assert got == Deadlines(scl(2026, 12, 5, 17, 50), scl(2026, 12, 9, 17, 50))
    assert got.first_response.tzinfo is UTC and got.resolution.tzinfo is UTC


@pytest.mark.parametrize(
    ("days", "expected"), [(2, scl(2026, 12, 14, 15)), (5, scl(2026, 12, 17, 15))]
)
def test_issue_example_business_days(days: int, expected: datetime) -> None:
    assert add_business_days(scl(2026, 12, 10, 15), days, chile()) == expected


def test_split_shift_resolution() -> None:
    # Fri 0h10, Sat 4h, Mon 7 8h, (Tue holiday), Wed-Fri 24h, Sat 12 4h = 40h10;
    # Mon 14: 09-13 gives 44h10, then 14:00 + 3h50 = 17:50.
    assert deadlines(scl(2026, 12, 4, 17, 50), chile(SPLIT)).resolution == scl(2026, 12, 14, 17, 50)


def test_saturday_hours() -> None:
    cal = calendar_for(chile(SPLIT))
    # Sat 12:00-13:00 is 1 h, Mon 09-13 is 4 h, then 14:00 + 3 h.
    assert cal.add_business_hours(scl(2026, 12, 5, 12), 8) == scl(2026, 12, 7, 17)
    # Sat afternoon is closed: the clock starts Monday 09:00.
    assert cal.add_business_hours(scl(2026, 12, 5, 14), 1) == scl(2026, 12, 7, 10)
    assert cal.is_business_day(date(2026, 12, 5)) and not cal.is_business_day(date(2026, 12, 6))


def test_bare_range_means_monday_to_friday() -> None:
    # 9 h days: Thu 2h, Fri 9, Mon 9, Tue 9, Wed 9, Thu 9 = 47h; Fri 18 Dec 09:00 + 1h.
    got = deadlines(scl(2026, 12, 10, 16), chile("09:00-18:00")).resolution
    assert got == scl(2026, 12, 18, 10)


def test_closed_dates_remove_whole_days() -> None:
    # Mon 7 Dec closed, Tue 8 a holiday: Fri 6h10 + Wed 24h + Thu 17h50.
    settings = chile(closed=(date(2026, 12, 7),))
    assert deadlines(scl(2026, 12, 4, 17, 50), settings).resolution == scl(2026, 12, 10, 17, 50)
    assert not calendar_for(settings).is_business_day(date(2026, 12, 7))


def test_deadline_may_end_an_interval_but_never_starts_the_next() -> None:
    cal = calendar_for(chile(SPLIT))
    assert cal.add_business_hours(scl(2026, 12, 7, 9), 4) == scl(2026, 12, 7, 13)
    assert cal.add_business_hours(scl(2026, 12, 5, 14), 0) == scl(2026, 12, 7, 9)


def test_add_business_days_from_closed_time_and_onto_closed_time() -> None:
    # Sat is closed by default: count from Mon 7 00:00; Tue 8 is a holiday: Wed 9, Thu 10.
    assert add_business_days(scl(2026, 12, 5, 10), 2, chile()) == scl(2026, 12, 10)
    # Fri 17:30 + 1 = Sat 17:30, closed (Sat 09-13): next open moment Mon 09:00.
    assert add_business_days(scl(2026, 12, 11, 17, 30), 1, chile(SPLIT)) == scl(2026, 12, 14, 9)


def test_between_counts_only_open_time_and_is_antisymmetric() -> None:
    a, b = scl(2026, 12, 4, 12), scl(2026, 12, 9, 12)
    assert business_hours_between(a, b, chile()) == 12 + 24 + 12
    assert business_hours_between(b, a, chile()) == -48
    assert add_business_hours(a, 48, chile()) == b


def test_open_intervals_merge_consecutive_days() -> None:
    cal = calendar_for(chile())
    got = list(cal.open_intervals(scl(2026, 12, 3, 12), scl(2026, 12, 10, 6)))
    assert got == [
        (scl(2026, 12, 3, 12), scl(2026, 12, 5)),
        (scl(2026, 12, 7), scl(2026, 12, 8)),
        (scl(2026, 12, 9), scl(2026, 12, 10, 6)),
    ]


# --- daylight saving, hand-checked ---------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "country", "day", "hours"),
    [
        ("America/Santiago", "CL", date(2026, 9, 6), 23),  # 00:00 skipped: starts 01:00
        ("America/Santiago", "CL", date(2027, 4, 3), 25),  # 23:00-24:00 repeated
        ("Europe/Madrid", "ES", date(2026, 3, 29), 23),
        ("Europe/Madrid", "ES", date(2026, 10, 25), 25),
    ],
)
def test_dst_day_lengths(zone: str, country: str, day: date, hours: int) -> None:
    cal = BusinessCalendar(zone, "mon-sun 00:00-24:00", country=country)
    z = ZoneInfo(zone)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), z) + timedelta(hours=12)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), z) + timedelta(hours=12)
    assert cal.business_hours_between(start, end) == 12 + hours + 12


def test_santiago_skipped_midnight_starts_the_day_at_the_jump() -> None:
    cal = BusinessCalendar(SCL, "sun 00:00-02:00")
    # 6 Sep 2026: clocks jump from 00:00 -04 to 01:00 -03, so the shift is 01:00-02:00 -03.
    day = list(cal.open_intervals(scl(2026, 9, 5), scl(2026, 9, 8)))
    jump = datetime(2026, 9, 6, 4, tzinfo=UTC)
    assert day == [(jump, jump + timedelta(hours=1))]
    assert cal.next_open(scl(2026, 9, 5, 22)) == jump
    # A shift starting inside the skipped hour starts at the jump too, not 30 min later.
    half = BusinessCalendar(SCL, "sun 00:30-02:00")
    assert list(half.open_intervals(scl(2026, 9, 5), scl(2026, 9, 8))) == day


def test_madrid_shift_through_both_transitions() -> None:
    cal = BusinessCalendar(MAD, "sun 02:00-04:00", country="ES")
    assert (
        cal.business_hours_between(
            datetime(2026, 3, 28, tzinfo=MAD), datetime(2026, 3, 30, tzinfo=MAD)
        )
        == 1
    )
    assert (
        cal.business_hours_between(
            datetime(2026, 10, 24, tzinfo=MAD), datetime(2026, 10, 26, tzinfo=MAD)
        )
        == 3
    )


def test_repeated_hour_is_open_and_keeps_its_wall_time() -> None:
    cal = BusinessCalendar(SCL, "mon-sun 00:00-24:00")
    second = datetime(2027, 4, 3, 23, 30, fold=1, tzinfo=SCL)
    assert cal.is_open(second)
    # Compare in UTC: an ambiguous local time never equals a datetime in another zone.
    landing = cal.add_business_days(datetime(2027, 4, 2, 23, 30, tzinfo=SCL), 1)
    assert landing == datetime(2027, 4, 4, 2, 30, tzinfo=UTC)  # the first 23:30 (-03)


# --- parsing and validation ------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("09:00-08:00", "termina antes de empezar"),
        ("10:00-10:00", "termina antes de empezar"),
        ("22:00-02:00", "no cruza la medianoche"),
        ("moon 09:00-10:00", "día desconocido 'moon'"),
        ("fri-mon 09:00-10:00", "al revés"),
        ("mon-fri", "faltan las horas"),
        (";", "ningún horario"),
        ("25:00-26:00", "hora inválida 25:00"),
        ("09:60-10:00", "hora inválida 09:60"),
        ("24:30-24:45", "hora inválida 24:30"),
        ("9-18", "turno inválido '9-18'"),
        ("mon 09:00-13:00,12:00-14:00", "superpuestos el lunes"),
        ("mon 09:00-12:00; mon-tue 11:00-13:00", "superpuestos el lunes"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="horario de atención inválido") as caught:
        parse_business_hours(spec)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "monday", "saturday"),
    [
        ("", ((0, 1440),), ()),
        ("  ", ((0, 1440),), ()),
        ("09:00-18:00", ((540, 1080),), ()),
        ("mon,wed 9:00-10:00", ((540, 600),), ()),
        ("lun-sáb 08:00-12:00, 12:00-24:00", ((480, 1440),), ((480, 1440),)),
        (SPLIT, ((540, 780), (840, 1080)), ((540, 780),)),
        ("sat 09:00-10:00; SAT 11:00-12:00", (), ((540, 600), (660, 720))),
    ],
)
def test_good_specs(spec: str, monday: tuple, saturday: tuple) -> None:
    days = parse_business_hours(spec).days
    assert (days[0], days[5]) == (monday, saturday)


def test_settings_validator_uses_the_parser() -> None:
    with pytest.raises(SettingsError, match="ATIENDE_BUSINESS_HOURS.*día desconocido"):
        load_settings(_env_file=None, business_hours="moon 09:00-10:00")


def test_naive_datetimes_are_rejected() -> None:
    cal, naive = calendar_for(chile()), datetime(2026, 12, 4, 12)  # noqa: DTZ001
    for call in (
        lambda: cal.is_open(naive),
        lambda: cal.next_open(naive),
        lambda: cal.open_intervals(naive, scl(2027, 1, 1)),
        lambda: cal.add_business_hours(naive, 1),
        lambda: cal.add_business_days(naive, 1),
        lambda: cal.business_hours_between(scl(2026, 1, 1), naive),
        lambda: deadlines(naive, chile()),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_bad_arguments() -> None:
    cal = calendar_for(chile())
    with pytest.raises(ValueError):
        cal.add_business_hours(scl(2026, 12, 4), -1)
    with pytest.raises(ValueError):
        cal.add_business_days(scl(2026, 12, 4), -1)
    with pytest.raises(ValueError, match="feriados desconocido"):
        BusinessCalendar(SCL, country="XX")


def test_scans_are_bounded() -> None:
    first = date(2030, 1, 1)
    closed = tuple(first + timedelta(days=i) for i in range(MAX_CLOSED_DAYS + 30))
    cal = BusinessCalendar(SCL, closed_dates=closed)
    with pytest.raises(ValueError, match="sin horario"):
        cal.add_business_hours(scl(2030, 1, 1), 1)
    with pytest.raises(ValueError, match="sin días hábiles"):
        cal.add_business_days(scl(2029, 12, 31, 12), 1)
    assert cal.business_hours_between(scl(2030, 1, 1), scl(2031, 1, 1)) == 0


def test_calendar_is_cached_on_relevant_fields() -> None:
    same = Settings(_env_file=None, timezone="America/Santiago", company_name="Otra")
    assert calendar_for(chile()) is calendar_for(same)
    assert calendar_for(chile()) is not calendar_for(chile(closed=(date(2026, 12, 7),)))


def test_deadlines_are_fast() -> None:
    settings, created = chile(SPLIT), scl(2026, 12, 4, 17, 50)
    deadlines(created, settings)
    began = time.perf_counter()
    for minutes in range(1000):
        deadlines(created + timedelta(minutes=minutes), settings)
    assert (time.perf_counter() - began) / 1000 < 0.001


# --- properties ----------------------------------------------------------------------
CONFIGS = [
    ("America/Santiago", "CL", None, ""),
    ("America/Santiago", "CL", None, SPLIT),
    (
        "America/Santiago",
        "CL",
        None,
        "mon,wed-sun 00:00-00:30,00:45-01:30,23:00-24:00; tue 12:00-24:00",
    ),
    ("Europe/Madrid", "ES", None, ""),
    ("Europe/Madrid", "ES", None, "mon-sun 01:30-02:30,02:45-03:15,22:00-24:00"),
    ("America/New_York", "US", None, "09:00-17:00"),
    ("Australia/Lord_Howe", "AU", "NSW", "mon-fri 01:00-02:15,02:30-24:00"),
]
START, END = datetime(2000, 1, 1), datetime(2040, 12, 31)  # noqa: DTZ001 (st.datetimes bounds are naive)
PROPS = hsettings(max_examples=200, deadline=None, database=None)


@cache
def calendar(index: int) -> BusinessCalendar:
    zone, country, subdivision, hours = CONFIGS[index]
    closed = (date(2026, 12, 30), date(2027, 4, 1))
    return BusinessCalendar(
        zone, hours, country=country, subdivision=subdivision, closed_dates=closed
    )


@cache
def transition_days(zone: str) -> list[date]:
    """UTC dates whose offset differs from the day before's, 2000-2040."""
    z, t, found = ZoneInfo(zone), datetime(2000, 1, 1, 12, tzinfo=UTC), []
    while t.year <= 2040:
        if t.astimezone(z).utcoffset() != (t + timedelta(days=1)).astimezone(z).utcoffset():
            found.append(t.date())
        t += timedelta(days=1)
    return found


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    if draw(st.booleans()):
        day = draw(st.sampled_from(transition_days(zone)))
        minutes = draw(st.integers(-3 * 1440, 3 * 1440))
        return datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=minutes)
    return draw(st.datetimes(START, END, timezones=st.just(UTC)))


@st.composite
def cases(draw: st.DrawFn, count: int = 1) -> tuple:
    index = draw(st.integers(0, len(CONFIGS) - 1))
    return (calendar(index), *(draw(instants(CONFIGS[index][0])) for _ in range(count)))


hours_st = st.floats(0.0, 150.0)


@PROPS
@given(cases(), hours_st)
def test_deadline_never_falls_inside_closed_time(case: tuple, hours: float) -> None:
    cal, a = case
    due = cal.add_business_hours(a, hours)
    assert due >= a and cal.is_open(cal.next_open(a))
    if hours > 1e-6:
        assert cal.is_open(due - US)


@PROPS
@given(cases(), hours_st)
def test_between_inverts_add(case: tuple, hours: float) -> None:
    cal, a = case
    assert abs(cal.business_hours_between(a, cal.add_business_hours(a, hours)) - hours) < 1e-6


@PROPS
@given(cases(2), hours_st, hours_st)
def test_add_is_monotonic(case: tuple, h1: float, h2: float) -> None:
    cal, a, b = case
    a, b, h1, h2 = min(a, b), max(a, b), min(h1, h2), max(h1, h2)
    assert cal.add_business_hours(a, h1) <= cal.add_business_hours(a, h2)
    assert cal.add_business_hours(a, h1) <= cal.add_business_hours(b, h1)


NEARBY = st.timedeltas(timedelta(days=-60), timedelta(days=60))


@PROPS
@given(cases(), NEARBY, NEARBY)
def test_between_is_additive(case: tuple, to_b: timedelta, to_c: timedelta) -> None:
    cal, a = case
    b, c = a + to_b, a + to_c
    total = cal.business_hours_between(a, b) + cal.business_hours_between(b, c)
    assert abs(total - cal.business_hours_between(a, c)) < 1e-6


@PROPS
@given(cases(2))
def test_intervals_agree_with_is_open_and_next_open(case: tuple) -> None:
    cal, a, b = case
    a, b = min(a, b), min(max(a, b), min(a, b) + timedelta(days=20))
    spans = list(cal.open_intervals(a, b))
    assert all(s < e for s, e in spans) and all(
        e1 < s2 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False)
    )
    assert all(cal.is_open(s) and cal.is_open(e - US) for s, e in spans)
    if b > a:
        assert cal.is_open(a) == bool(spans and spans[0][0] == a)
    following = cal.next_open(a)
    assert cal.business_hours_between(a, following) == 0 and cal.is_open(following)


@PROPS
@given(cases(), st.integers(0, 7))
def test_add_business_days_lands_open(case: tuple, days: int) -> None:
    cal, a = case
    due = cal.add_business_days(a, days)
    assert cal.is_open(due) and due >= cal.next_open(a)


DAY_ZONES = [
    ("America/Santiago", "CL", None),
    ("Europe/Madrid", "ES", None),
    ("America/New_York", "US", None),
    ("Australia/Lord_Howe", "AU", "NSW"),
]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def one_day_calendar(index: int, weekday: int) -> BusinessCalendar:
    zone, country, subdivision = DAY_ZONES[index]
    return BusinessCalendar(
        zone, f"{WEEKDAYS[weekday]} 00:00-24:00", country=country, subdivision=subdivision
    )


@PROPS
@given(st.data())
def test_whole_days_last_their_real_length(data: st.DataObject) -> None:
    """A day open 00:00-24:00 is exactly the instants whose local date is that day,
    found here by brute force on a 15-minute UTC grid (all these offsets are multiples
    of 15 minutes)."""
    index = data.draw(st.integers(0, len(DAY_ZONES) - 1))
    zone = DAY_ZONES[index][0]
    day = data.draw(
        st.sampled_from(transition_days(zone)) | st.dates(date(2000, 1, 1), date(2040, 12, 31))
    )
    day += timedelta(days=data.draw(st.integers(-1, 1)))
    cal = one_day_calendar(index, day.weekday())
    assume(cal.is_business_day(day))
    grid = [
        datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC)
        + timedelta(minutes=15 * i)
        for i in range(3 * 96)
    ]
    inside = [t for t in grid if t.astimezone(ZoneInfo(zone)).date() == day]
    start, end = inside[0], inside[-1] + timedelta(minutes=15)
    assert len(inside) == (end - start) / timedelta(minutes=15)  # contiguous
    assert list(cal.open_intervals(start - timedelta(hours=6), end + timedelta(hours=6))) == [
        (start, end)
    ]
