"""Schedule maths and the time-dependent rules a model cannot check: pure functions of a schedule and a time."""

from datetime import datetime, timedelta

from trigger_platform.errors import FieldError
from trigger_platform.models import AtSchedule, IntervalSchedule

#: EventBridge Scheduler's smallest rate() is one minute.
MIN_RECURRING_SECONDS = 60
#: How far ahead a one-time ``at`` may be.
MAX_AHEAD = timedelta(days=5 * 366)


def schedule_errors(schedule: IntervalSchedule | AtSchedule, now: datetime) -> list[FieldError]:
    """What is wrong with ``schedule`` at ``now`` (empty when it is valid)."""
    if isinstance(schedule, AtSchedule):
        if schedule.at <= now:
            return [FieldError("schedule.at", "must be in the future")]
        if schedule.at > now + MAX_AHEAD:
            return [FieldError("schedule.at", "must be at most 5 years ahead")]
        return []
    if schedule.is_recurring and schedule.seconds < MIN_RECURRING_SECONDS:
        return [FieldError("schedule.interval", "a recurring interval must be at least 60 seconds")]
    if timedelta(seconds=schedule.seconds) > MAX_AHEAD:
        return [FieldError("schedule.interval", "must be at most 5 years")]
    return []


def first_fire_at(schedule: IntervalSchedule | AtSchedule, created_at: datetime) -> datetime:
    """When a schedule defined at ``created_at`` fires first."""
    if isinstance(schedule, AtSchedule):
        return schedule.at
    return created_at + timedelta(seconds=schedule.seconds)
