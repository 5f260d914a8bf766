"""Cron schedules: a customer's standard 5-field cron becomes EventBridge Scheduler's ``cron(...)``, and we work out
when that fires next in the schedule's time zone.

``next_fire`` reads the EventBridge form, not the customer's text, so the time we show is the time the scheduler
will actually use. Pure: no AWS, no clock.
"""

import re
from bisect import bisect_left
from calendar import monthrange
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones


class CronError(ValueError):
    """A cron expression or time zone we cannot schedule; the message says plainly what is wrong."""


MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
#: Indexed by the standard cron number: 0 is Sunday. EventBridge numbers the same days 1-7.
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

# Each month's longest length, leap years included: a day that fits no month in the list never fires.
_LONGEST_MONTH = {month: 29 if month == 2 else monthrange(2001, month)[1] for month in range(1, 13)}

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# Quartz extensions (last day, nearest weekday, nth weekday, no specific value): named in the error so the
# customer learns why, rather than being told the value is simply invalid.
_QUARTZ_ONLY = re.compile(r"\?|.*#.*|[0-9]*L|L-?[0-9]*|[0-9]*W|LW", re.IGNORECASE)


@dataclass(frozen=True)
class _Field:
    """One position of a cron expression: its name in error messages, its range and the names it accepts.

    ``end`` is where ``*`` and ``a/n`` stop, if not at ``high``: standard day-of-week accepts 7 for Sunday, but its
    week ends on Saturday, so ``1/2`` is Monday, Wednesday, Friday.
    """

    name: str
    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)
    end: int | None = None

    @property
    def last(self) -> int:
        return self.high if self.end is None else self.end


_MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}

_STANDARD = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, {name: number for number, name in enumerate(DAY_NAMES)}, end=6),
)

_EVENTBRIDGE = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, {name: number for number, name in enumerate(DAY_NAMES, start=1)}),
    _Field("year", 1970, 2199),
)


def to_eventbridge(expression: str) -> str:
    """Standard 5-field cron (minute hour day-of-month month day-of-week) → EventBridge Scheduler's
    ``cron(minutes hours day-of-month month day-of-week year)``, e.g. ``0 9 * * MON-FRI`` → ``cron(0 9 ? * MON-FRI *)``.

    The output is canonical rather than a copy of the input, so it only uses syntax EventBridge documents: ``*`` for a
    whole field; ``a/n`` for "every n from a to the end" (three values or more); otherwise ascending numbers and
    ``a-b`` runs, comma-separated. Days of the week are written as names (``SUN``…``SAT``), because EventBridge
    numbers them 1-7 from Sunday where standard cron uses 0-6 (and 7). The day field the customer left as ``*``
    becomes ``?``; the year is always ``*``.

    Standard cron fires on *either* day field when both are restricted, which EventBridge cannot express, so that is
    refused. Any day field other than a plain ``*`` counts as restricted (``1-31`` too), as POSIX cron reads it.
    """
    texts = _standard_fields(expression)
    minutes, hours, days, months, weekdays = (_values(text, spec) for text, spec in zip(texts, _STANDARD, strict=True))
    restricts_days, restricts_weekdays = texts[2] != "*", texts[4] != "*"
    if restricts_days and restricts_weekdays:
        raise CronError(
            "restricting both day-of-month and day-of-week is not supported "
            "(EventBridge Scheduler cannot express 'either')"
        )
    if restricts_weekdays:
        day_of_month, day_of_week = "?", _spell_weekdays({day % 7 for day in weekdays})
    else:
        day_of_month, day_of_week = _spell_numbers(days, _STANDARD[2]), "?"
    minute, hour, month = (
        _spell_numbers(minutes, _STANDARD[0]),
        _spell_numbers(hours, _STANDARD[1]),
        _spell_numbers(months, _STANDARD[3]),
    )
    return f"cron({minute} {hour} {day_of_month} {month} {day_of_week} *)"


def next_fire(eventbridge_expression: str, timezone: str, after: datetime) -> datetime | None:
    """The first time strictly after ``after`` (tz-aware) that an EventBridge ``cron(...)`` expression fires, read in
    the wall-clock time of the IANA ``timezone``; returned in UTC. None if it never fires again (a past year, Feb 30).

    Daylight saving: a wall time that does not exist (clocks spring forward over it) is skipped, not moved; a wall
    time that happens twice (clocks fall back) fires once, at its first occurrence.
    """
    if after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    pattern = _parse_eventbridge(eventbridge_expression)
    zone = _zone(timezone)
    if not pattern.has_a_day():
        return None
    wall_after = after.astimezone(zone).replace(tzinfo=None, fold=0)
    start = wall_after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for wall in pattern.wall_times(start):
        instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence of a repeated time
        if instant.astimezone(zone).replace(tzinfo=None) != wall:
            continue  # in the spring-forward gap
        if instant > after:  # `after` may be the second occurrence of a repeated time: its first is already past
            return instant
    return None


def check_timezone(name: str) -> None:
    """Refuse a time zone that is not an IANA name, before it reaches the scheduler."""
    _zone(name)


def _zone(name: str) -> ZoneInfo:
    if name not in _iana_names():
        raise CronError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


@cache
def _iana_names() -> frozenset[str]:
    # 'localtime' is the host's own zone under another name, not an IANA zone; the scheduler would refuse it.
    return frozenset(available_timezones() - {"localtime"})


def _standard_fields(expression: str) -> list[str]:
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise CronError(f"{text!r} is not supported; use one of {', '.join(_MACROS)} or five fields")
        text = _MACROS[text.lower()]
    texts = text.split()
    if len(texts) != len(_STANDARD):
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(texts)}")
    return texts


def _values(text: str, spec: _Field) -> set[int]:
    """The numbers a field matches; every comma-separated item is ``*``, ``a`` or ``a-b``, optionally ``/step``."""
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"field '{spec.name}': empty item in {text!r}")
        span, slash, step_text = item.partition("/")
        step = _step(step_text, spec) if slash else 1
        if span == "*":
            first, last = spec.low, spec.last
        else:
            first_text, dash, last_text = span.partition("-")
            first = _number(first_text, spec)
            if dash:
                last = _number(last_text, spec)
                if first > last:
                    raise CronError(f"field '{spec.name}': range {span!r} runs backwards")
            elif slash:
                last = max(first, spec.last)  # 'a/n' runs to the end of the field; '7/n' is just Sunday
            else:
                last = first
        values.update(range(first, last + 1, step))
    return values


def _number(token: str, spec: _Field) -> int:
    if token.isascii() and token.isdigit():
        value = int(token)
        if not spec.low <= value <= spec.high:
            raise CronError(f"field '{spec.name}': {value} is out of range {spec.low}-{spec.high}")
        return value
    if token.upper() in spec.names:
        return spec.names[token.upper()]
    if _QUARTZ_ONLY.fullmatch(token):
        raise CronError(f"field '{spec.name}': {token!r} is not supported (no L, W, # or ?)")
    if not token:
        raise CronError(f"field '{spec.name}': a range or step is missing a number")
    raise CronError(f"field '{spec.name}': {token!r} is not a number or a name")


def _step(token: str, spec: _Field) -> int:
    if not (token.isascii() and token.isdigit() and 1 <= int(token) <= spec.high):
        raise CronError(f"field '{spec.name}': step {token!r} must be a whole number from 1 to {spec.high}")
    return int(token)


def _spell_numbers(values: set[int], spec: _Field) -> str:
    ordered = sorted(values)
    if len(ordered) == spec.last - spec.low + 1:
        return "*"
    first = ordered[0]
    if len(ordered) >= 3:
        step = ordered[1] - first
        if step > 1 and ordered == list(range(first, spec.last + 1, step)):
            return f"{first}/{step}"
    return _spell_runs(ordered, str)


def _spell_weekdays(days: set[int]) -> str:
    """Names, not numbers: EventBridge's 1=Sunday would silently shift a standard cron's numbers by a day."""
    return "*" if len(days) == len(DAY_NAMES) else _spell_runs(sorted(days), DAY_NAMES.__getitem__)


def _spell_runs(ordered: list[int], label: Callable[[int], str]) -> str:
    runs: list[list[int]] = []
    for value in ordered:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ",".join(label(run[0]) if len(run) == 1 else f"{label(run[0])}-{label(run[-1])}" for run in runs)


@dataclass(frozen=True)
class _Pattern:
    """A parsed EventBridge cron. The day field given as '?' holds every day, so a date fires when it is in both."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]  # 0 is Sunday
    years: tuple[int, ...]

    def has_a_day(self) -> bool:
        """False for day/month pairs no calendar has (Feb 30, Apr 31): searching years for them would be slow."""
        return any(day <= _LONGEST_MONTH[month] for month in self.months for day in self.days)

    def wall_times(self, start: datetime) -> Iterator[datetime]:
        """Matching wall-clock minutes from ``start`` on, in order; whole days and hours are skipped, not scanned."""
        for year in self.years[bisect_left(self.years, start.year) :]:
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                first_day = start.day if (year, month) == (start.year, start.month) else 1
                for day in range(first_day, monthrange(year, month)[1] + 1):
                    if not self.fires_on(date(year, month, day)):
                        continue
                    on_start_day = (year, month, day) == (start.year, start.month, start.day)
                    for hour in self.hours:
                        if on_start_day and hour < start.hour:
                            continue
                        for minute in self.minutes:
                            wall = datetime(year, month, day, hour, minute)  # wall-clock time: no zone yet
                            if wall >= start:
                                yield wall

    def fires_on(self, day: date) -> bool:
        return day.day in self.days and day.isoweekday() % 7 in self.weekdays


@lru_cache(maxsize=1024)
def _parse_eventbridge(expression: str) -> _Pattern:
    """Cached: a warm function reads the same few expressions again and again."""
    match = re.fullmatch(r"\s*cron\((.*)\)\s*", expression)
    if not match:
        raise CronError(f"expected 'cron(minutes hours day-of-month month day-of-week year)', got {expression!r}")
    texts = match.group(1).split()
    if len(texts) != len(_EVENTBRIDGE):
        raise CronError(f"expected 6 fields (minutes hours day-of-month month day-of-week year), got {len(texts)}")
    if (texts[2] == "?") == (texts[4] == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    minutes, hours, days, months, weekdays, years = (
        _values("*" if text == "?" and index in (2, 4) else text, spec)
        for index, (text, spec) in enumerate(zip(texts, _EVENTBRIDGE, strict=True))
    )
    return _Pattern(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=tuple(sorted(months)),
        weekdays=frozenset(day - 1 for day in weekdays),
        years=tuple(sorted(years)),
    )
