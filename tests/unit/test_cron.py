"""Cron: standard cron → EventBridge Scheduler, and when that fires next, checked against croniter."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from croniter.croniter import CroniterBadDateError
from hypothesis import given, settings
from hypothesis import strategies as st

from trigger_platform.cron import DAY_NAMES, MONTH_NAMES, CronError, check_timezone, next_fire, to_eventbridge

#: Zones without daylight saving since 2000, where croniter's answers are the reference.
STEADY_ZONES = ("UTC", "Asia/Tokyo", "Asia/Kolkata")
FIRES = 20


def fires(expression: str, timezone: str, after: datetime, count: int = FIRES) -> list[datetime]:
    """Successive fire times of a standard cron, going through the EventBridge form as the platform does."""
    eventbridge = to_eventbridge(expression)
    found: list[datetime] = []
    while len(found) < count and (fire := next_fire(eventbridge, timezone, after)) is not None:
        found.append(fire)
        after = fire
    return found


def croniter_fires(expression: str, timezone: str, after: datetime, count: int = FIRES) -> list[datetime]:
    schedule = croniter(expression, after.astimezone(ZoneInfo(timezone)))
    found: list[datetime] = []
    try:
        while len(found) < count:
            found.append(schedule.get_next(datetime).astimezone(UTC))
    except CroniterBadDateError:  # croniter's way of saying "never again"
        pass
    return found


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --- translation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "eventbridge"),
    [
        ("0 9 * * MON-FRI", "cron(0 9 ? * MON-FRI *)"),
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("30 2 * * 0", "cron(30 2 ? * SUN *)"),
        ("0 12 * * 7", "cron(0 12 ? * SUN *)"),
        ("0 12 * * 1", "cron(0 12 ? * MON *)"),
        ("0 12 * * 6", "cron(0 12 ? * SAT *)"),
        ("0 12 * * 1-5", "cron(0 12 ? * MON-FRI *)"),
        ("0 12 * * 5-7", "cron(0 12 ? * SUN,FRI-SAT *)"),
        ("0 12 * * sat,sun", "cron(0 12 ? * SUN,SAT *)"),
        ("0 12 * * 0-7", "cron(0 12 ? * * *)"),
        ("0 12 * * 1/2", "cron(0 12 ? * MON,WED,FRI *)"),
        ("0 12 * * */3", "cron(0 12 ? * SUN,WED,SAT *)"),
        ("* * * * *", "cron(* * * * ? *)"),
        ("*/30 * * * *", "cron(0,30 * * * ? *)"),
        ("5/15 * * * *", "cron(5/15 * * * ? *)"),
        ("0-59/20 * * * *", "cron(0/20 * * * ? *)"),
        ("0-30/10 * * * *", "cron(0,10,20,30 * * * ? *)"),
        ("5,50 * * * *", "cron(5,50 * * * ? *)"),
        ("5-5 * * * *", "cron(5 * * * ? *)"),
        ("0,1,2,3,30 9-17 * * *", "cron(0-3,30 9-17 * * ? *)"),
        ("0 */6 * * *", "cron(0 0/6 * * ? *)"),
        ("0 0 1-31 * *", "cron(0 0 * * ? *)"),
        ("0 0 1,15 */3 *", "cron(0 0 1,15 1/3 ? *)"),
        ("0 0 1 jan-mar,Dec *", "cron(0 0 1 1-3,12 ? *)"),
        ("  0   9 * *   MON-FRI ", "cron(0 9 ? * MON-FRI *)"),
        ("@yearly", "cron(0 0 1 1 ? *)"),
        ("@annually", "cron(0 0 1 1 ? *)"),
        ("@monthly", "cron(0 0 1 * ? *)"),
        ("@weekly", "cron(0 0 ? * SUN *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@midnight", "cron(0 0 * * ? *)"),
        ("@HOURLY", "cron(0 * * * ? *)"),
    ],
)
def test_standard_cron_translates_to_eventbridge(standard: str, eventbridge: str) -> None:
    assert to_eventbridge(standard) == eventbridge


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("60 * * * *", "field 'minute': 60 is out of range 0-59"),
        ("* 25 * * *", "field 'hour': 25 is out of range 0-23"),
        ("* 24 * * *", "field 'hour'"),
        ("* * 0 * *", "field 'day-of-month': 0 is out of range 1-31"),
        ("* * 32 * *", "field 'day-of-month'"),
        ("* * * 0 *", "field 'month': 0 is out of range 1-12"),
        ("* * * 13 *", "field 'month'"),
        ("* * * * 8", "field 'day-of-week': 8 is out of range 0-7"),
        ("5-1 * * * *", "field 'minute': range '5-1' runs backwards"),
        ("* * * * MON-SUN", "field 'day-of-week': range 'MON-SUN' runs backwards"),
        ("* * * DEC-JAN *", "field 'month'"),
        ("*/0 * * * *", "field 'minute': step '0'"),
        ("* 1-5/0 * * *", "field 'hour': step '0'"),
        ("*/60 * * * *", "field 'minute': step '60' must be a whole number from 1 to 59"),
        ("*/1.5 * * * *", "field 'minute': step '1.5'"),
        ("5/ * * * *", "field 'minute': step ''"),
        ("1,,2 * * * *", "field 'minute': empty item"),
        ("1, * * * *", "field 'minute': empty item"),
        ("* ,3 * * *", "field 'hour': empty item"),
        ("-5 * * * *", "field 'minute': a range or step is missing a number"),
        ("* * * * 1-", "field 'day-of-week': a range or step is missing a number"),
        ("/5 * * * *", "field 'minute'"),
        ("1-2-3 * * * *", "field 'minute': '2-3' is not a number or a name"),
        ("x * * * *", "field 'minute': 'x' is not a number or a name"),
        ("MON * * * *", "field 'minute'"),
        ("* * * * JAN", "field 'day-of-week'"),
        ("* * * FOO *", "field 'month'"),
        ("\uff11 * * * *", "field 'minute'"),
        ("* * L * *", "field 'day-of-month': 'L' is not supported"),
        ("* * 15W * *", "field 'day-of-month': '15W' is not supported"),
        ("* * LW * *", "field 'day-of-month'"),
        ("* * * * 5L", "field 'day-of-week': '5L' is not supported"),
        ("* * * * 5#2", "field 'day-of-week': '5#2' is not supported"),
        ("* * ? * *", "field 'day-of-month': '?' is not supported"),
        ("* * * * ?", "field 'day-of-week': '?' is not supported"),
        ("0 0 1 * MON", "restricting both day-of-month and day-of-week is not supported"),
        ("0 0 */2 * 1", "restricting both day-of-month and day-of-week"),
        ("0 0 1-31 * 0-6", "restricting both day-of-month and day-of-week"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("* * * * * *", "expected 5 fields"),
        ("", "expected 5 fields"),
        ("@reboot", "'@reboot' is not supported"),
        ("@every 5m", "is not supported"),
    ],
)
def test_invalid_cron_is_refused_naming_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        to_eventbridge(expression)
    assert message in str(raised.value)


def test_a_cron_error_is_a_value_error() -> None:
    assert issubclass(CronError, ValueError)


# --- time zones --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Etc/GMT+5"])
def test_iana_time_zones_are_accepted(name: str) -> None:
    check_timezone(name)


@pytest.mark.parametrize("name", ["Mars/Base", "", "Europe", "europe/berlin", "localtime", "/etc/passwd", "../UTC"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(CronError, match="unknown time zone"):
        check_timezone(name)


def test_next_fire_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(CronError, match="unknown time zone 'Mars/Base'"):
        next_fire("cron(0 9 * * ? *)", "Mars/Base", utc(2026, 1, 1))


# --- reading EventBridge expressions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 9 * * *", "expected 'cron(minutes hours day-of-month month day-of-week year)'"),
        ("rate(5 minutes)", "expected 'cron("),
        ("cron(0 9 * * ?)", "expected 6 fields"),
        ("cron(0 9 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 9 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 9 * * ? *)", "field 'minutes': 60 is out of range 0-59"),
        ("cron(0 24 * * ? *)", "field 'hours'"),
        ("cron(0 9 ? * 0 *)", "field 'day-of-week': 0 is out of range 1-7"),
        ("cron(0 9 * * ? 1969)", "field 'year': 1969 is out of range 1970-2199"),
        ("cron(0 9 L * ? *)", "field 'day-of-month': 'L' is not supported"),
        ("cron(0 9 ? * 2#1 *)", "field 'day-of-week': '2#1' is not supported"),
        ("cron(? 9 * * ? *)", "field 'minutes': '?' is not supported"),
    ],
)
def test_invalid_eventbridge_cron_is_refused(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        next_fire(expression, "UTC", utc(2026, 1, 1))
    assert message in str(raised.value)


def test_next_fire_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire("cron(0 9 * * ? *)", "UTC", datetime(2026, 1, 1))


@pytest.mark.parametrize(("number", "name"), list(enumerate(DAY_NAMES, start=1)))
def test_eventbridge_numbers_weekdays_from_sunday_as_one(number: int, name: str) -> None:
    after = utc(2026, 3, 1)  # a Sunday
    by_number = next_fire(f"cron(0 0 ? * {number} *)", "UTC", after)
    assert by_number == next_fire(f"cron(0 0 ? * {name} *)", "UTC", after)
    assert by_number is not None
    assert DAY_NAMES[by_number.isoweekday() % 7] == name


def test_explicit_years_fire_in_those_years_only() -> None:
    expression = "cron(0 0 1 1 ? 2027-2028)"
    assert next_fire(expression, "UTC", utc(2026, 6, 1)) == utc(2027, 1, 1)
    assert next_fire(expression, "UTC", utc(2027, 1, 1)) == utc(2028, 1, 1)
    assert next_fire(expression, "UTC", utc(2028, 1, 1)) is None


def test_a_year_in_the_past_never_fires() -> None:
    assert next_fire("cron(0 0 1 1 ? 2020)", "UTC", utc(2026, 1, 1)) is None


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 FEB *"])
def test_a_day_no_month_has_never_fires(expression: str) -> None:
    assert next_fire(to_eventbridge(expression), "UTC", utc(2026, 1, 1)) is None


def test_february_29th_skips_2100_which_is_not_a_leap_year() -> None:
    assert fires("0 0 29 2 *", "UTC", utc(2096, 3, 1), count=2) == [utc(2104, 2, 29), utc(2108, 2, 29)]


def test_the_next_fire_is_strictly_after_a_fire_time() -> None:
    assert next_fire("cron(0 9 * * ? *)", "UTC", utc(2026, 1, 1, 9)) == utc(2026, 1, 2, 9)
    assert next_fire("cron(0 9 * * ? *)", "UTC", utc(2026, 1, 1, 8, 59, 59, 999999)) == utc(2026, 1, 1, 9)


# --- daylight saving, checked by hand ----------------------------------------------------------------------------
# 2026: Berlin springs forward 29 March 02:00 CET → 03:00 CEST and falls back 25 October 03:00 CEST → 02:00 CET;
# New York springs forward 8 March 02:00 EST → 03:00 EDT and falls back 1 November 02:00 EDT → 01:00 EST.


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        pytest.param(
            "30 2 * * *",
            "Europe/Berlin",
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)],
            id="berlin-02:30-does-not-exist-on-29-march",
        ),
        pytest.param(
            "*/30 * * * *",
            "Europe/Berlin",
            utc(2026, 3, 29, 0, 15),
            [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)],
            id="berlin-half-hourly-jumps-from-01:30-to-03:00",
        ),
        pytest.param(
            "30 2 * * *",
            "Europe/Berlin",
            utc(2026, 10, 24, 12),
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
            id="berlin-02:30-fires-once-at-its-summer-time-occurrence",
        ),
        pytest.param(
            "*/30 * * * *",
            "Europe/Berlin",
            utc(2026, 10, 24, 23, 45),
            [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 0)],
            id="berlin-half-hourly-does-not-repeat-the-02:00-hour",
        ),
        pytest.param(
            "*/30 * * * *",
            "Europe/Berlin",
            utc(2026, 10, 25, 1, 10),  # 02:10 CET, the second 02:10 of the night
            [utc(2026, 10, 25, 2, 0)],
            id="berlin-from-inside-the-repeated-hour",
        ),
        pytest.param(
            "0 9 * * MON-FRI",
            "Europe/Berlin",
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 30, 7), utc(2026, 3, 31, 7)],
            id="berlin-09:00-weekdays-move-an-hour-earlier-in-utc",
        ),
        pytest.param(
            "0 9 * * MON-FRI",
            "America/New_York",
            utc(2026, 3, 6, 12),
            [utc(2026, 3, 6, 14), utc(2026, 3, 9, 13)],
            id="new-york-09:00-weekdays-across-march",
        ),
        pytest.param(
            "0 2 * * *",
            "America/New_York",
            utc(2026, 3, 7, 12),
            [utc(2026, 3, 9, 6)],
            id="new-york-02:00-does-not-exist-on-8-march",
        ),
        pytest.param(
            "30 1 * * *",
            "America/New_York",
            utc(2026, 10, 31, 12),
            [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
            id="new-york-01:30-fires-once-at-its-daylight-time-occurrence",
        ),
        pytest.param(
            "0 * * * *",
            "America/New_York",
            utc(2026, 11, 1, 3, 30),
            [utc(2026, 11, 1, 4), utc(2026, 11, 1, 5), utc(2026, 11, 1, 7)],
            id="new-york-hourly-does-not-repeat-01:00",
        ),
        pytest.param(
            "0 9 * * MON-FRI",
            "America/New_York",
            utc(2026, 10, 30, 12),
            [utc(2026, 10, 30, 13), utc(2026, 11, 2, 14)],
            id="new-york-09:00-weekdays-across-november",
        ),
    ],
)
def test_daylight_saving_skips_missing_times_and_fires_repeated_times_once(
    expression: str, timezone: str, after: datetime, expected: list[datetime]
) -> None:
    assert fires(expression, timezone, after, count=len(expected)) == expected


# --- against croniter, in zones without daylight saving ----------------------------------------------------------

REFERENCE_EXPRESSIONS = [
    "* * * * *",
    "*/5 * * * *",
    "*/7 * * * *",
    "5/15 * * * *",
    "59/5 * * * *",
    "0 * * * *",
    "59 23 * * *",
    "0 9 * * MON-FRI",
    "30 8-18/2 * * 1-5",
    "0 12 * * 7",
    "30 2 * * 0",
    "0 0 * * 0-7",
    "0 0 * * 5-7",
    "15 10 * * SAT,SUN",
    "0 0 * * sun-tue",
    "0 0 * * */2",
    "0 0 * * 1/2",
    "0 0 * * 1-7/3",
    "0 0 1 * *",
    "0 0 31 * *",
    "0 0 30 * *",
    "0 0 28-31 * *",
    "0 0 29 2 *",
    "0 0 1 1 *",
    "0 6 1,15 * *",
    "0 0 */10 * *",
    "0 0 5/7 * *",
    "45 4 1-7 * *",
    "0 0 1 */3 *",
    "0 0 1 JAN,JUL *",
    "0 0 * feb *",
    "0 0 * 12 FRI",
    "0 0 31 1,3,5,7,8,10,12 *",
    "23 0-20/2 * * *",
    "0,30 9-17 * * MON-FRI",
    "1,2,3,5,8,13,21,34,55 * * * *",
    "0 0,12 1 */2 *",
    "*/59 */23 * * *",
    "10-20/3 1 * * *",
    "0 0 30 2 *",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@yearly",
]

REFERENCE_STARTS = [utc(2026, 2, 25, 13, 37, 20), utc(2027, 12, 31, 23, 59, 59), utc(2028, 2, 28, 18, 30)]


@pytest.mark.parametrize("timezone", STEADY_ZONES)
@pytest.mark.parametrize("expression", REFERENCE_EXPRESSIONS)
def test_fire_times_match_croniter(expression: str, timezone: str) -> None:
    for after in REFERENCE_STARTS:
        assert fires(expression, timezone, after) == croniter_fires(expression, timezone, after)


def field_expressions(
    low: int, high: int, names: tuple[str, ...] = (), first_named: int = 0, step_end: int | None = None
) -> st.SearchStrategy[str]:
    """Random valid items for one standard cron field: numbers, names, ranges, steps, lists."""
    numbers = st.integers(low, high)
    # croniter runs 'a/n' on day-of-week from a to 6 and reads '7/n' as every day; we read it as Sunday.
    starts = numbers if step_end is None else st.integers(low, step_end)
    steps = st.integers(1, high)
    values = numbers.map(str)
    if names:
        values = values | st.integers(first_named, first_named + len(names) - 1).map(
            lambda number: names[number - first_named]
        )
    # croniter reads a one-value range such as '5-5' as a full cycle; we read it as 5.
    ranges = st.lists(numbers, min_size=2, max_size=2, unique=True).map(lambda pair: "{}-{}".format(*sorted(pair)))
    items = st.one_of(
        values,
        ranges,
        steps.map(lambda step: f"*/{step}"),
        st.tuples(starts, steps).map(lambda pair: "{}/{}".format(*pair)),
        st.tuples(ranges, steps).map(lambda pair: "{}/{}".format(*pair)),
    )
    return st.just("*") | st.lists(items, min_size=1, max_size=3).map(",".join)


@st.composite
def standard_expressions(draw: st.DrawFn) -> str:
    """Valid 5-field crons that restrict at most one of the day fields."""
    minute = draw(field_expressions(0, 59))
    hour = draw(field_expressions(0, 23))
    day = draw(field_expressions(1, 31))
    month = draw(field_expressions(1, 12, MONTH_NAMES, first_named=1))
    weekday = draw(field_expressions(0, 7, DAY_NAMES, step_end=6))
    if draw(st.booleans()):
        day = "*"
    else:
        weekday = "*"
    return f"{minute} {hour} {day} {month} {weekday}"


@settings(max_examples=300, deadline=None)
@given(
    standard_expressions(),
    st.sampled_from(STEADY_ZONES),
    st.datetimes(datetime(2000, 1, 1), datetime(2060, 12, 31), timezones=st.just(UTC)),
)
def test_random_fire_times_match_croniter(expression: str, timezone: str, after: datetime) -> None:
    assert fires(expression, timezone, after) == croniter_fires(expression, timezone, after)


def wall_clock_fires(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The documented daylight-saving rule applied to croniter's naive wall-clock times: skip a time that does not
    exist, take a repeated one at its first occurrence."""
    zone = ZoneInfo(timezone)
    schedule = croniter(expression, after.astimezone(zone).replace(tzinfo=None))
    found: list[datetime] = []
    while len(found) < count:
        wall = schedule.get_next(datetime)
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant > after:
            found.append(instant)
    return found


@settings(max_examples=200, deadline=None)
@given(
    standard_expressions(),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]),
    st.datetimes(datetime(2020, 1, 1), datetime(2040, 12, 31), timezones=st.just(UTC)),
)
def test_in_daylight_saving_zones_fires_follow_wall_clock_time(expression: str, timezone: str, after: datetime) -> None:
    found = fires(expression, timezone, after, count=10)
    if not found:
        assert croniter_fires(expression, "UTC", after, count=1) == []  # a day no month has
        return
    assert found == wall_clock_fires(expression, timezone, after, count=10)
    assert all(fire.astimezone(ZoneInfo(timezone)).fold == 0 for fire in found)
