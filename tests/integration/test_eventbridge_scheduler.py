"""EventBridgeScheduler against moto's EventBridge Scheduler, and its error mapping against stubbed AWS failures.

moto never fires a schedule; these tests check what is stored. Its traps (see TOOLING-FACTS): a missing group is a
raw KeyError, so every test creates the group first; ``update_schedule`` does not store ActionAfterCompletion, so the
exact update arguments are checked with a Stubber instead.
"""

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from tests.builders import make_trigger as build_trigger
from trigger_platform.adapters.eventbridge import EventBridgeScheduler, ScheduleTarget, schedule_name, schedule_request
from trigger_platform.errors import ServiceUnavailable
from trigger_platform.records import Trigger

REGION = "us-east-1"
GROUP = "trigger-platform"
TARGET = ScheduleTarget(
    group_name=GROUP,
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:trigger-platform-fire",
    role_arn="arn:aws:iam::123456789012:role/trigger-platform-scheduler",
    dead_letter_arn="arn:aws:sqs:us-east-1:123456789012:trigger-platform-fire-dlq",
    max_retry_attempts=185,
    max_event_age_s=86400,
)
# Whole seconds: boto3 sends StartDate/EndDate as whole epoch seconds. In the future: AWS (and moto, for cron)
# refuse a StartDate more than five minutes ago.
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
AWS_MESSAGE = "User: arn:aws:sts::123456789012:assumed-role/x is not authorized"


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SECURITY_TOKEN", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SCHEDULER", raising=False)


@pytest.fixture
def client(credentials: None) -> Iterator[Any]:
    with mock_aws():
        scheduler_client = boto3.client("scheduler", region_name=REGION)
        scheduler_client.create_schedule_group(Name=GROUP)
        yield scheduler_client


@pytest.fixture
def scheduler(client: Any) -> EventBridgeScheduler:
    return EventBridgeScheduler(client, TARGET)


def make_trigger(
    schedule: dict[str, Any], next_fire_at: datetime | None, *, enabled: bool = True, version: int = 1
) -> Trigger:
    document = {"type": "scheduled", "schedule": schedule, "payload": {"key": "value"}, "enabled": enabled}
    return build_trigger(document, next_fire_at=next_fire_at, version=version, defined_at=NOW)


def stored(client: Any, trigger_id: UUID) -> dict[str, Any]:
    return client.get_schedule(Name=schedule_name(trigger_id), GroupName=GROUP)  # type: ignore[no-any-return]


def assert_target(schedule: dict[str, Any], trigger: Trigger) -> None:
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == TARGET.function_arn
    assert target["RoleArn"] == TARGET.role_arn
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": TARGET.dead_letter_arn}
    assert json.loads(target["Input"]) == {
        "trigger_id": str(trigger.id),
        "tenant_id": str(trigger.tenant_id),
        "version": trigger.armed_version,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "execution_id": "<aws.scheduler.execution-id>",
    }


# What is stored for each kind of schedule ---------------------------------------------------------------------------


def test_one_time_interval_is_an_at_schedule_in_utc_that_deletes_itself(
    scheduler: EventBridgeScheduler, client: Any
) -> None:
    trigger = make_trigger({"interval": 30, "unit": "minutes"}, NOW + timedelta(minutes=30, microseconds=250_000))
    scheduler.create(trigger)
    schedule = stored(client, trigger.id)
    first = NOW + timedelta(minutes=30)
    assert schedule["ScheduleExpression"] == f"at({first:%Y-%m-%dT%H:%M:%S})"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["State"] == "ENABLED"
    assert "StartDate" not in schedule
    assert "EndDate" not in schedule
    assert_target(schedule, trigger)


def test_at_schedule_with_an_offset_is_stored_in_utc(scheduler: EventBridgeScheduler, client: Any) -> None:
    at = datetime(2030, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    trigger = make_trigger({"at": at.isoformat()}, at)
    scheduler.create(trigger)
    schedule = stored(client, trigger.id)
    assert schedule["ScheduleExpression"] == "at(2030-01-05T08:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["State"] == "ENABLED"
    assert_target(schedule, trigger)


@pytest.mark.parametrize(
    ("interval", "unit", "expression"),
    [
        (1, "minutes", "rate(1 minute)"),
        (2, "hours", "rate(2 hours)"),
        (90, "minutes", "rate(90 minutes)"),
        (2, "days", "rate(2 days)"),
    ],
)
def test_recurring_interval_is_a_rate_starting_at_the_first_fire(
    scheduler: EventBridgeScheduler, client: Any, interval: int, unit: str, expression: str
) -> None:
    schedule_def = {"interval": interval, "unit": unit, "is_recurring": True}
    first = NOW + timedelta(**{unit: interval})
    trigger = make_trigger(schedule_def, first)
    scheduler.create(trigger)
    schedule = stored(client, trigger.id)
    assert schedule["ScheduleExpression"] == expression
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["StartDate"] == first
    assert "EndDate" not in schedule
    assert schedule["ActionAfterCompletion"] == "NONE"
    assert schedule["State"] == "ENABLED"
    assert_target(schedule, trigger)


def test_recurring_interval_keeps_its_bounds(scheduler: EventBridgeScheduler, client: Any) -> None:
    start_at, end_at = NOW + timedelta(days=7), NOW + timedelta(days=30)
    schedule_def = {
        "interval": 15,
        "unit": "minutes",
        "is_recurring": True,
        "start_at": start_at.isoformat(),
        "end_at": end_at.isoformat(),
    }
    trigger = make_trigger(schedule_def, start_at)
    scheduler.create(trigger)
    schedule = stored(client, trigger.id)
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    assert schedule["StartDate"] == start_at
    assert schedule["EndDate"] == end_at
    assert schedule["ActionAfterCompletion"] == "NONE"


def test_cron_is_stored_in_eventbridge_form_in_its_time_zone(scheduler: EventBridgeScheduler, client: Any) -> None:
    start_at, end_at = NOW + timedelta(days=2), NOW + timedelta(days=60)
    schedule_def = {
        "cron": "0 9 * * MON-FRI",
        "timezone": "Europe/Berlin",
        "start_at": start_at.isoformat(),
        "end_at": end_at.isoformat(),
    }
    trigger = make_trigger(schedule_def, start_at + timedelta(hours=1))
    scheduler.create(trigger)
    schedule = stored(client, trigger.id)
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["StartDate"] == start_at
    assert schedule["EndDate"] == end_at
    assert schedule["ActionAfterCompletion"] == "NONE"
    assert schedule["State"] == "ENABLED"
    assert_target(schedule, trigger)


def test_cron_without_bounds_has_no_start_or_end(scheduler: EventBridgeScheduler, client: Any) -> None:
    trigger = make_trigger({"cron": "30 */2 * * *"}, NOW + timedelta(hours=1))
    scheduler.create(trigger)
    schedule = stored(client, trigger.id)
    assert schedule["ScheduleExpression"] == "cron(30 0/2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert "StartDate" not in schedule
    assert "EndDate" not in schedule


def test_paused_trigger_has_a_disabled_schedule(scheduler: EventBridgeScheduler, client: Any) -> None:
    trigger = make_trigger(
        {"interval": 1, "unit": "hours", "is_recurring": True}, NOW + timedelta(hours=1), enabled=False
    )
    scheduler.create(trigger)
    assert stored(client, trigger.id)["State"] == "DISABLED"


# Lifecycle --------------------------------------------------------------------------------------------------------


def test_replacing_updates_the_one_schedule(scheduler: EventBridgeScheduler, client: Any) -> None:
    trigger = make_trigger({"interval": 1, "unit": "hours", "is_recurring": True}, NOW + timedelta(hours=1))
    scheduler.create(trigger)
    scheduler.replace(trigger)
    replaced = replace(
        trigger,
        version=2,
        armed_version=2,
        definition=trigger.definition.model_copy(update={"enabled": False}),
        next_fire_at=NOW + timedelta(hours=3),
    )
    scheduler.replace(replaced)
    schedule = stored(client, trigger.id)
    assert json.loads(schedule["Target"]["Input"])["version"] == 2
    assert schedule["State"] == "DISABLED"
    assert schedule["StartDate"] == NOW + timedelta(hours=3)
    assert scheduler.trigger_ids() == {trigger.id}


def test_replacing_after_delete_recreates_the_schedule(scheduler: EventBridgeScheduler, client: Any) -> None:
    trigger = make_trigger({"interval": 10, "unit": "minutes"}, NOW + timedelta(minutes=10))
    scheduler.create(trigger)
    scheduler.delete(trigger.id)
    assert scheduler.trigger_ids() == set()
    scheduler.replace(trigger)
    assert stored(client, trigger.id)["ScheduleExpression"] == f"at({NOW + timedelta(minutes=10):%Y-%m-%dT%H:%M:%S})"


def test_delete_twice_and_delete_of_an_unknown_trigger_are_fine(scheduler: EventBridgeScheduler, client: Any) -> None:
    trigger = make_trigger({"interval": 10, "unit": "minutes"}, NOW + timedelta(minutes=10))
    scheduler.create(trigger)
    scheduler.delete(trigger.id)
    scheduler.delete(trigger.id)
    scheduler.delete(uuid4())
    with pytest.raises(ClientError) as error:
        stored(client, trigger.id)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_trigger_ids_lists_only_our_schedules_in_our_group(scheduler: EventBridgeScheduler, client: Any) -> None:
    triggers = [
        make_trigger({"interval": 10, "unit": "minutes"}, NOW + timedelta(minutes=10)),
        make_trigger({"interval": 1, "unit": "days", "is_recurring": True}, NOW + timedelta(days=1)),
        make_trigger({"at": (NOW + timedelta(days=3)).isoformat()}, NOW + timedelta(days=3)),
    ]
    for trigger in triggers:
        scheduler.create(trigger)
    foreign = {k: v for k, v in schedule_request(triggers[0], TARGET).items() if k != "Name"}
    client.create_schedule(Name="nightly-report", **foreign)
    client.create_schedule(Name="trigger-not-a-uuid", **foreign)
    client.create_schedule_group(Name="elsewhere")
    client.create_schedule(Name=schedule_name(uuid4()), **{**foreign, "GroupName": "elsewhere"})
    assert scheduler.trigger_ids() == {trigger.id for trigger in triggers}


def test_trigger_ids_reads_every_page(scheduler: EventBridgeScheduler) -> None:
    # moto answers 50 schedules a page.
    triggers = [make_trigger({"interval": 5, "unit": "minutes"}, NOW + timedelta(minutes=5)) for _ in range(55)]
    for trigger in triggers:
        scheduler.create(trigger)
    assert scheduler.trigger_ids() == {trigger.id for trigger in triggers}


# Exact calls and AWS failures (Stubber: a real client, no network) ---------------------------------------------------


@pytest.fixture
def stubbed(credentials: None) -> Iterator[tuple[EventBridgeScheduler, Stubber]]:
    real_client = boto3.client("scheduler", region_name=REGION)
    with Stubber(real_client) as stubber:
        yield EventBridgeScheduler(real_client, TARGET), stubber
        stubber.assert_no_pending_responses()


ONE_TIME = make_trigger({"interval": 10, "unit": "minutes"}, NOW + timedelta(minutes=10))
ARN_RESPONSE = {"ScheduleArn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/x"}


def test_creating_a_schedule_is_one_call(stubbed: tuple[EventBridgeScheduler, Stubber]) -> None:
    scheduler, stubber = stubbed
    stubber.add_response("create_schedule", ARN_RESPONSE, expected_params=schedule_request(ONE_TIME, TARGET))
    scheduler.create(ONE_TIME)


def test_creating_a_schedule_left_by_an_earlier_attempt_updates_it(
    stubbed: tuple[EventBridgeScheduler, Stubber],
) -> None:
    scheduler, stubber = stubbed
    request = schedule_request(ONE_TIME, TARGET)
    stubber.add_client_error("create_schedule", "ConflictException", http_status_code=409, expected_params=request)
    stubber.add_response("update_schedule", ARN_RESPONSE, expected_params=request)
    scheduler.create(ONE_TIME)


def test_replacing_updates_and_creates_the_schedule_when_it_is_gone(
    stubbed: tuple[EventBridgeScheduler, Stubber],
) -> None:
    scheduler, stubber = stubbed
    request = schedule_request(ONE_TIME, TARGET)
    stubber.add_client_error(
        "update_schedule", "ResourceNotFoundException", http_status_code=404, expected_params=request
    )
    stubber.add_response("create_schedule", ARN_RESPONSE, expected_params=request)
    scheduler.replace(ONE_TIME)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("InternalServerException", 500),
        ("AccessDeniedException", 403),
        ("ValidationException", 400),
    ],
)
def test_scheduling_failures_are_service_unavailable_without_the_aws_message(
    stubbed: tuple[EventBridgeScheduler, Stubber], code: str, status: int
) -> None:
    scheduler, stubber = stubbed
    stubber.add_client_error("create_schedule", code, AWS_MESSAGE, http_status_code=status)
    with pytest.raises(ServiceUnavailable) as error:
        scheduler.create(ONE_TIME)
    assert error.value.detail == "The scheduler is not reachable."
    assert AWS_MESSAGE not in str(error.value)
    assert isinstance(error.value.__cause__, ClientError)
    assert error.value.__cause__.response["Error"]["Code"] == code


def test_replacing_that_fails_to_recreate_is_service_unavailable(stubbed: tuple[EventBridgeScheduler, Stubber]) -> None:
    scheduler, stubber = stubbed
    stubber.add_client_error("update_schedule", "ResourceNotFoundException", http_status_code=404)
    stubber.add_client_error("create_schedule", "ThrottlingException", http_status_code=400)
    with pytest.raises(ServiceUnavailable):
        scheduler.replace(ONE_TIME)


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("InternalServerException", 500), ("AccessDeniedException", 403)],
)
def test_delete_failures_are_service_unavailable(
    stubbed: tuple[EventBridgeScheduler, Stubber], code: str, status: int
) -> None:
    scheduler, stubber = stubbed
    stubber.add_client_error(
        "delete_schedule",
        code,
        AWS_MESSAGE,
        http_status_code=status,
        expected_params={"Name": schedule_name(ONE_TIME.id), "GroupName": GROUP},
    )
    with pytest.raises(ServiceUnavailable) as error:
        scheduler.delete(ONE_TIME.id)
    assert AWS_MESSAGE not in str(error.value)
    assert isinstance(error.value.__cause__, ClientError)


def test_listing_failure_is_service_unavailable(stubbed: tuple[EventBridgeScheduler, Stubber]) -> None:
    scheduler, stubber = stubbed
    stubber.add_client_error("list_schedules", "ThrottlingException", http_status_code=400)
    with pytest.raises(ServiceUnavailable):
        scheduler.trigger_ids()


def test_unreachable_endpoint_is_service_unavailable(credentials: None) -> None:
    unreachable = boto3.client(
        "scheduler",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:1",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 0}),
    )
    scheduler = EventBridgeScheduler(unreachable, TARGET)
    with pytest.raises(ServiceUnavailable) as put_error:
        scheduler.create(ONE_TIME)
    assert isinstance(put_error.value.__cause__, EndpointConnectionError)
    with pytest.raises(ServiceUnavailable) as delete_error:
        scheduler.delete(ONE_TIME.id)
    assert isinstance(delete_error.value.__cause__, EndpointConnectionError)
