"""Schedule maths and the rules a model cannot check alone: pure functions of a schedule and a time."""

from datetime import datetime, timedelta

from trigger_platform.definitions import AnySchedule, AtSchedule, CronSchedule, IntervalSchedule
from trigger_platform.errors import FieldError

#: EventBridge Scheduler's smallest rate() is one minute, and rates count whole minutes.
MIN_RECURRING_SECONDS = 60
#: How far ahead a one-time schedule may point.
MAX_AHEAD = timedelta(days=5 * 366)


def is_recurring(schedule: AnySchedule) -> bool:
    return isinstance(schedule, CronSchedule) or (isinstance(schedule, IntervalSchedule) and schedule.is_recurring)


def _bounds_errors(schedule: IntervalSchedule | CronSchedule) -> list[FieldError]:
    if not is_recurring(schedule):
        return [
            FieldError(f"schedule.{name}", "only recurring schedules take a start/end bound")
            for name in ("start_at", "end_at")
            if getattr(schedule, name) is not None
        ]
    if schedule.start_at and schedule.end_at and schedule.end_at <= schedule.start_at:
        return [FieldError("schedule.end_at", "must be after start_at")]
    return []


def _cron_errors(schedule: CronSchedule) -> list[FieldError]:
    from trigger_platform.cron import CronError, check_timezone, to_eventbridge

    errors = []
    try:
        to_eventbridge(schedule.cron)
    except CronError as problem:
        errors.append(FieldError("schedule.cron", str(problem)))
    try:
        check_timezone(schedule.timezone)
    except CronError as problem:
        errors.append(FieldError("schedule.timezone", str(problem)))
    return errors


def schedule_errors(schedule: AnySchedule, now: datetime) -> list[FieldError]:
    """What is wrong with ``schedule`` at ``now`` (empty when it is valid)."""
    if isinstance(schedule, AtSchedule):
        if schedule.at <= now:
            return [FieldError("schedule.at", "must be in the future")]
        if schedule.at > now + MAX_AHEAD:
            return [FieldError("schedule.at", "must be at most 5 years ahead")]
        return []
    errors = _bounds_errors(schedule)
    if isinstance(schedule, CronSchedule):
        errors += _cron_errors(schedule)
    elif schedule.is_recurring and (schedule.seconds < MIN_RECURRING_SECONDS or schedule.seconds % 60):
        errors.append(
            FieldError("schedule.interval", "a recurring interval must be whole minutes, at least 60 seconds")
        )
    elif timedelta(seconds=schedule.seconds) > MAX_AHEAD:
        errors.append(FieldError("schedule.interval", "must be at most 5 years"))
    if not errors and is_recurring(schedule) and next_fire_after(schedule, now, now) is None:
        errors.append(FieldError("schedule", "never fires within its bounds"))
    return errors


def next_fire_after(schedule: AnySchedule, after: datetime, defined_at: datetime) -> datetime | None:
    """The first fire strictly after ``after`` of a schedule defined (created or replaced) at
    ``defined_at``; None when it has no further fire."""
    if isinstance(schedule, AtSchedule):
        return schedule.at if schedule.at > after else None
    if isinstance(schedule, IntervalSchedule):
        step = timedelta(seconds=schedule.seconds)
        first = defined_at + step
        if schedule.start_at and schedule.is_recurring:
            first = max(first, schedule.start_at)
        if not schedule.is_recurring:
            return first if first > after else None
        candidate = first if first > after else first + step * ((after - first) // step + 1)
    else:
        from trigger_platform.cron import next_fire, to_eventbridge

        start = max(after, schedule.start_at - timedelta(microseconds=1)) if schedule.start_at else after
        found = next_fire(to_eventbridge(schedule.cron), schedule.timezone, start)
        if found is None:
            return None
        candidate = found
    if schedule.end_at and candidate > schedule.end_at:
        return None
    return candidate


def first_fire_at(schedule: AnySchedule, defined_at: datetime) -> datetime | None:
    """When a schedule defined at ``defined_at`` fires first."""
    return next_fire_after(schedule, defined_at, defined_at)
