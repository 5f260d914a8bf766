"""The exact create_schedule/update_schedule arguments each kind of scheduled trigger becomes."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from tests.builders import definition
from tests.builders import make_trigger as build_trigger
from trigger_platform.adapters.eventbridge import ScheduleTarget, rate_expression, schedule_name, schedule_request
from trigger_platform.records import Trigger

TARGET = ScheduleTarget(
    group_name="trigger-platform",
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:fire",
    role_arn="arn:aws:iam::123456789012:role/scheduler",
    dead_letter_arn="arn:aws:sqs:us-east-1:123456789012:fire-dlq",
    max_retry_attempts=10,
    max_event_age_s=3600,
)
TRIGGER_ID = UUID("0190f3a1-7c2e-7d41-9a3b-5e6f70819203")
TENANT_ID = UUID("0190f3a1-0000-7000-8000-000000000001")
DEFINED_AT = datetime(2027, 1, 5, 8, 0, 0, 750_000, tzinfo=UTC)
PAYLOAD = {"customer_email": "someone@example.com"}


def make_trigger(
    schedule: dict[str, Any], next_fire_at: datetime | None, *, enabled: bool = True, version: int = 3
) -> Trigger:
    document = {"type": "scheduled", "name": "nightly", "schedule": schedule, "payload": PAYLOAD, "enabled": enabled}
    return build_trigger(
        document,
        next_fire_at=next_fire_at,
        trigger_id=TRIGGER_ID,
        tenant_id=TENANT_ID,
        version=version,
        defined_at=DEFINED_AT,
    )


def expected(timing: dict[str, Any], *, state: str = "ENABLED", version: int = 3) -> dict[str, Any]:
    return {
        "Name": f"trigger-{TRIGGER_ID}",
        "GroupName": "trigger-platform",
        "Description": f"Trigger {TRIGGER_ID} version {version}",
        **timing,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": state,
        "Target": {
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:fire",
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": json.dumps(
                {
                    "trigger_id": str(TRIGGER_ID),
                    "tenant_id": str(TENANT_ID),
                    "version": version,
                    "scheduled_time": "<aws.scheduler.scheduled-time>",
                    "execution_id": "<aws.scheduler.execution-id>",
                }
            ),
            "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:fire-dlq"},
        },
    }


def test_schedule_name_is_the_trigger_id_with_a_prefix_within_64_characters() -> None:
    name = schedule_name(TRIGGER_ID)
    assert name == f"trigger-{TRIGGER_ID}"
    assert len(name) <= 64


def test_one_time_interval_fires_at_its_first_fire_time_to_the_second_and_deletes_itself() -> None:
    trigger = make_trigger({"interval": 30, "unit": "minutes"}, DEFINED_AT + timedelta(minutes=30))
    assert schedule_request(trigger, TARGET) == expected(
        {
            "ScheduleExpression": "at(2027-01-05T08:30:00)",
            "ScheduleExpressionTimezone": "UTC",
            "ActionAfterCompletion": "DELETE",
        }
    )


def test_at_schedule_is_written_in_utc_whatever_offset_it_was_given_in() -> None:
    at = datetime(2027, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    trigger = make_trigger({"at": at.isoformat()}, at)
    assert schedule_request(trigger, TARGET) == expected(
        {
            "ScheduleExpression": "at(2027-01-05T08:00:00)",
            "ScheduleExpressionTimezone": "UTC",
            "ActionAfterCompletion": "DELETE",
        }
    )


def test_recurring_interval_is_a_rate_starting_at_the_first_fire() -> None:
    first = DEFINED_AT + timedelta(hours=2)
    trigger = make_trigger({"interval": 2, "unit": "hours", "is_recurring": True}, first)
    assert schedule_request(trigger, TARGET) == expected(
        {
            "ScheduleExpression": "rate(2 hours)",
            "ScheduleExpressionTimezone": "UTC",
            "StartDate": first,
            "ActionAfterCompletion": "NONE",
        }
    )


def test_recurring_interval_with_bounds_starts_no_earlier_than_start_at_and_ends_at_end_at() -> None:
    start_at = datetime(2027, 2, 1, tzinfo=UTC)
    end_at = datetime(2027, 3, 1, tzinfo=UTC)
    schedule = {
        "interval": 90,
        "unit": "minutes",
        "is_recurring": True,
        "start_at": start_at.isoformat(),
        "end_at": end_at.isoformat(),
    }
    trigger = make_trigger(schedule, DEFINED_AT + timedelta(minutes=90))
    assert schedule_request(trigger, TARGET) == expected(
        {
            "ScheduleExpression": "rate(90 minutes)",
            "ScheduleExpressionTimezone": "UTC",
            "StartDate": start_at,
            "EndDate": end_at,
            "ActionAfterCompletion": "NONE",
        }
    )


def test_cron_is_translated_and_read_in_its_time_zone_within_its_bounds() -> None:
    start_at = datetime(2027, 2, 1, 9, tzinfo=timezone(timedelta(hours=1)))
    end_at = datetime(2027, 12, 31, tzinfo=UTC)
    schedule = {
        "cron": "0 9 * * MON-FRI",
        "timezone": "Europe/Berlin",
        "start_at": start_at.isoformat(),
        "end_at": end_at.isoformat(),
    }
    trigger = make_trigger(schedule, datetime(2027, 2, 1, 8, tzinfo=UTC))
    assert schedule_request(trigger, TARGET) == expected(
        {
            "ScheduleExpression": "cron(0 9 ? * MON-FRI *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "StartDate": datetime(2027, 2, 1, 8, tzinfo=UTC),
            "EndDate": end_at,
            "ActionAfterCompletion": "NONE",
        }
    )


def test_cron_start_already_passed_when_defined_is_left_out() -> None:
    schedule = {"cron": "*/15 * * * *", "start_at": "2026-01-01T00:00:00+00:00"}
    trigger = make_trigger(schedule, datetime(2027, 1, 5, 8, 15, tzinfo=UTC))
    assert schedule_request(trigger, TARGET) == expected(
        {
            "ScheduleExpression": "cron(0/15 * * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "ActionAfterCompletion": "NONE",
        }
    )


def test_paused_trigger_gets_a_disabled_schedule() -> None:
    trigger = make_trigger(
        {"interval": 1, "unit": "days", "is_recurring": True}, DEFINED_AT + timedelta(days=1), enabled=False
    )
    assert schedule_request(trigger, TARGET)["State"] == "DISABLED"


def test_description_carries_no_payload_or_name() -> None:
    trigger = make_trigger({"interval": 5, "unit": "minutes"}, DEFINED_AT + timedelta(minutes=5))
    request = json.dumps(schedule_request(trigger, TARGET), default=str)
    assert "someone@example.com" not in request
    assert "nightly" not in request


@pytest.mark.parametrize(
    ("seconds", "expression"),
    [
        (60, "rate(1 minute)"),
        (120, "rate(2 minutes)"),
        (5400, "rate(90 minutes)"),
        (3600, "rate(1 hour)"),
        (7200, "rate(2 hours)"),
        (90000, "rate(25 hours)"),
        (86400, "rate(1 day)"),
        (172800, "rate(2 days)"),
    ],
)
def test_rate_uses_the_largest_unit_that_divides_the_interval(seconds: int, expression: str) -> None:
    assert rate_expression(seconds) == expression


@pytest.mark.parametrize("seconds", [0, 30, 90, 3601])
def test_rate_refuses_intervals_that_are_not_whole_minutes(seconds: int) -> None:
    with pytest.raises(ValueError, match="whole minutes"):
        rate_expression(seconds)


def test_recurring_interval_in_seconds_that_are_not_whole_minutes_is_refused() -> None:
    trigger = make_trigger({"interval": 90, "unit": "seconds", "is_recurring": True}, DEFINED_AT)
    with pytest.raises(ValueError, match="whole minutes"):
        schedule_request(trigger, TARGET)


def test_a_trigger_without_a_next_fire_time_cannot_be_scheduled() -> None:
    trigger = make_trigger({"interval": 5, "unit": "minutes"}, None)
    with pytest.raises(ValueError, match="no next fire"):
        schedule_request(trigger, TARGET)


def test_an_api_trigger_has_no_schedule() -> None:
    trigger = make_trigger({"interval": 5, "unit": "minutes"}, None)
    api_trigger = replace(trigger, definition=definition({"type": "api"}))
    with pytest.raises(ValueError, match="only scheduled triggers"):
        schedule_request(api_trigger, TARGET)
