"""The Scheduler port over EventBridge Scheduler: one schedule per scheduled trigger, named ``trigger-<id>``.

``schedule_request`` turns a trigger into the exact ``create_schedule``/``update_schedule`` arguments (pure);
``EventBridgeScheduler`` sends them and translates every AWS failure into ``ServiceUnavailable``.
Imported only by the functions that schedule, so the rest never pay for botocore.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from botocore.exceptions import BotoCoreError, ClientError

from trigger_platform.definitions import AnySchedule, AtSchedule, IntervalSchedule, ScheduledDefinition
from trigger_platform.errors import ServiceUnavailable
from trigger_platform.fire_input import ScheduledFire
from trigger_platform.records import Trigger

NAME_PREFIX = "trigger-"

# Largest first: an interval is written in the largest unit that divides it exactly.
_RATE_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


@dataclass(frozen=True)
class ScheduleTarget:
    """Where every schedule delivers, and how EventBridge retries and dead-letters a delivery."""

    group_name: str
    function_arn: str
    role_arn: str
    dead_letter_arn: str
    max_retry_attempts: int
    max_event_age_s: int


def schedule_name(trigger_id: UUID) -> str:
    return f"{NAME_PREFIX}{trigger_id}"  # 8 + 36 characters, within the 64 allowed


def _utc(moment: datetime) -> datetime:
    """The domain's times are UTC; a naive one is read as UTC rather than as this machine's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _at_expression(moment: datetime) -> str:
    return f"at({_utc(moment).strftime('%Y-%m-%dT%H:%M:%S')})"


def rate_expression(seconds: int) -> str:
    """``rate(N unit)`` in the largest unit that divides ``seconds`` exactly; EventBridge counts whole minutes."""
    if seconds < 60 or seconds % 60:
        raise ValueError("a recurring interval must be whole minutes, at least 60 seconds")
    for unit, size in _RATE_UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"rate({count} {unit})" if count == 1 else f"rate({count} {unit}s)"
    raise AssertionError("unreachable: every whole number of minutes divides by a minute")


def _first_fire(trigger: Trigger) -> datetime:
    if trigger.next_fire_at is None:
        raise ValueError("the trigger has no next fire time to schedule")
    return _utc(trigger.next_fire_at)


def _timing(trigger: Trigger, schedule: AnySchedule) -> dict[str, Any]:
    """The expression, time zone, bounds and after-completion action of one kind of schedule."""
    if isinstance(schedule, AtSchedule) or (isinstance(schedule, IntervalSchedule) and not schedule.is_recurring):
        return {
            "ScheduleExpression": _at_expression(_first_fire(trigger)),
            "ScheduleExpressionTimezone": "UTC",
            "ActionAfterCompletion": "DELETE",  # spent one-time schedules would otherwise linger and count
        }
    bounds: dict[str, Any] = {}
    if isinstance(schedule, IntervalSchedule):
        # A rate() counts from its StartDate, so the first fire is the domain's first fire time.
        start = _first_fire(trigger)
        if schedule.start_at is not None:
            start = max(start, _utc(schedule.start_at))
        bounds["StartDate"] = start
        timing = {"ScheduleExpression": rate_expression(schedule.seconds), "ScheduleExpressionTimezone": "UTC"}
    else:
        from trigger_platform.cron import to_eventbridge

        # A start that had passed when the trigger was defined bounds nothing, and AWS refuses a
        # StartDate more than five minutes in the past.
        if schedule.start_at is not None and _utc(schedule.start_at) > _utc(trigger.armed_at):
            bounds["StartDate"] = _utc(schedule.start_at)
        timing = {"ScheduleExpression": to_eventbridge(schedule.cron), "ScheduleExpressionTimezone": schedule.timezone}
    if schedule.end_at is not None:
        bounds["EndDate"] = _utc(schedule.end_at)
    return {**timing, **bounds, "ActionAfterCompletion": "NONE"}


def schedule_request(trigger: Trigger, target: ScheduleTarget) -> dict[str, Any]:
    """The keyword arguments of ``create_schedule`` and ``update_schedule`` (an update replaces every field)."""
    definition = trigger.definition
    if not isinstance(definition, ScheduledDefinition):
        raise ValueError("only scheduled triggers have a schedule")
    return {
        "Name": schedule_name(trigger.id),
        "GroupName": target.group_name,
        "Description": f"Trigger {trigger.id} version {trigger.armed_version}",
        **_timing(trigger, definition.schedule),
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if definition.enabled else "DISABLED",
        "Target": {
            "Arn": target.function_arn,
            "RoleArn": target.role_arn,
            "Input": ScheduledFire.input_of(trigger),
            "RetryPolicy": {
                "MaximumRetryAttempts": target.max_retry_attempts,
                "MaximumEventAgeInSeconds": target.max_event_age_s,
            },
            "DeadLetterConfig": {"Arn": target.dead_letter_arn},
        },
    }


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def _scheduler_errors() -> Iterator[None]:
    """Any AWS failure the caller did not handle means the scheduler cannot be used right now. AWS's own message
    stays in ``__cause__`` (for logs), never in the detail a client sees."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise ServiceUnavailable("The scheduler is not reachable.") from error


class EventBridgeScheduler:
    """Implements ``ports.Scheduler``; ``client`` is ``boto3.client("scheduler")``."""

    def __init__(self, client: Any, target: ScheduleTarget) -> None:
        self._client = client
        self._target = target

    def create(self, trigger: Trigger) -> None:
        """One call for a new trigger; a schedule left by an earlier attempt under the same name
        (a retried request) is made ours."""
        self._send(trigger, "create_schedule", unless="ConflictException", then="update_schedule")

    def replace(self, trigger: Trigger) -> None:
        """Update the schedule; re-create it when it is gone (a completed one-time schedule deletes
        itself, and a re-armed trigger needs it back)."""
        self._send(trigger, "update_schedule", unless="ResourceNotFoundException", then="create_schedule")

    def _send(self, trigger: Trigger, call: str, *, unless: str, then: str) -> None:
        """``call`` with the trigger's schedule, and ``then`` the same if AWS answers ``unless``."""
        request = schedule_request(trigger, self._target)
        with _scheduler_errors():
            try:
                getattr(self._client, call)(**request)
            except ClientError as error:
                if _code(error) != unless:
                    raise
                getattr(self._client, then)(**request)

    def delete(self, trigger_id: UUID) -> None:
        with _scheduler_errors():
            try:
                self._client.delete_schedule(Name=schedule_name(trigger_id), GroupName=self._target.group_name)
            except ClientError as error:
                if _code(error) != "ResourceNotFoundException":
                    raise

    def trigger_ids(self) -> set[UUID]:
        ids: set[UUID] = set()
        with _scheduler_errors():
            pages = self._client.get_paginator("list_schedules").paginate(
                GroupName=self._target.group_name, NamePrefix=NAME_PREFIX
            )
            for page in pages:
                for summary in page.get("Schedules", []):
                    try:
                        ids.add(UUID(summary["Name"].removeprefix(NAME_PREFIX)))
                    except ValueError:
                        continue  # not one of ours, though it shares the prefix
        return ids
