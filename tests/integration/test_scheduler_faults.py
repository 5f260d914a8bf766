"""EventBridge Scheduler failing under the API (throttling, 5xx, access denied, injected as botocore
ClientErrors over moto): 503 answers, database and schedules left consistent, and reconcile."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.conftest import Tenant, api_event
from tests.integration.conftest import Invoke, body
from trigger_platform.adapters.eventbridge import EventBridgeScheduler, ScheduleTarget, schedule_name
from trigger_platform.edge import wiring
from trigger_platform.reconcile import reconcile

GROUP = "trigger-platform-test"
TARGET = ScheduleTarget(
    group_name=GROUP,
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:fire",
    role_arn="arn:aws:iam::123456789012:role/scheduler",
    dead_letter_arn="arn:aws:sqs:us-east-1:123456789012:fire-dlq",
    max_retry_attempts=185,
    max_event_age_s=86400,
)
EVERY_HOUR = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
FAULTS = {
    "throttling": ("ThrottlingException", 429),
    "server error": ("InternalServerException", 500),
    "access denied": ("AccessDeniedException", 403),
}


class FlakyClient:
    """A real (moto-backed) scheduler client whose chosen operations fail as AWS would fail them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.failing: dict[str, tuple[str, int]] = {}

    def __getattr__(self, operation: str) -> Any:
        if operation in self.failing:
            code, status = self.failing[operation]

            def fail(**_: Any) -> None:
                error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
                raise ClientError(error, operation)  # type: ignore[arg-type]

            return fail
        return getattr(self.client, operation)


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyClient]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SCHEDULER", raising=False)
    with mock_aws():
        client = boto3.client("scheduler", region_name="us-east-1")
        client.create_schedule_group(Name=GROUP)
        flaky = FlakyClient(client)
        scheduler = EventBridgeScheduler(flaky, TARGET)
        monkeypatch.setattr(wiring, "scheduler", lambda: scheduler)
        yield flaky


def schedule_version(flaky: FlakyClient, trigger_id: str) -> int | None:
    try:
        found = flaky.client.get_schedule(Name=schedule_name(uuid.UUID(trigger_id)), GroupName=GROUP)
    except flaky.client.exceptions.ResourceNotFoundException:
        return None
    return int(json.loads(found["Target"]["Input"])["version"])


def create(invoke: Invoke, tenant: Tenant) -> dict[str, Any]:
    return invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=EVERY_HOUR))  # type: ignore[no-any-return]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failed_create_is_503_and_leaves_neither_row_nor_schedule(
    invoke: Invoke, tenant: Tenant, flaky: FlakyClient, fault: str
) -> None:
    flaky.failing = {"create_schedule": FAULTS[fault]}
    response = create(invoke, tenant)
    assert response["statusCode"] == 503
    problem = body(response)
    assert problem["status"] == 503 and "injected" not in response["body"]
    assert "Retry-After" in (response.get("multiValueHeaders") or {})
    listed = invoke("ListTriggersFunction", api_event("list_triggers-page", tenant, query={}))
    assert body(listed) == []
    assert flaky.client.list_schedules(GroupName=GROUP)["Schedules"] == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failed_edit_is_503_and_keeps_the_old_version_everywhere(
    invoke: Invoke, tenant: Tenant, flaky: FlakyClient, fault: str
) -> None:
    trigger_id = body(create(invoke, tenant))["id"]
    flaky.failing = {"update_schedule": FAULTS[fault]}
    event = api_event("replace_trigger", tenant, trigger_id, headers={"If-Match": '"1"'})
    assert invoke("ReplaceTriggerFunction", event)["statusCode"] == 503
    assert body(invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id)))["version"] == 1
    assert schedule_version(flaky, trigger_id) == 1
    flaky.failing = {}
    assert invoke("ReplaceTriggerFunction", event)["statusCode"] == 200  # the retry goes through
    assert schedule_version(flaky, trigger_id) == 2


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failed_delete_is_503_and_keeps_trigger_and_schedule(
    invoke: Invoke, tenant: Tenant, flaky: FlakyClient, fault: str
) -> None:
    trigger_id = body(create(invoke, tenant))["id"]
    flaky.failing = {"delete_schedule": FAULTS[fault]}
    assert invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, trigger_id))["statusCode"] == 503
    assert invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id))["statusCode"] == 200
    assert schedule_version(flaky, trigger_id) == 1
    flaky.failing = {}
    assert invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, trigger_id))["statusCode"] == 204
    assert schedule_version(flaky, trigger_id) is None


def test_reconcile_lists_and_repairs_drift_and_is_safe_to_repeat(
    invoke: Invoke, tenant: Tenant, flaky: FlakyClient
) -> None:
    kept, lost = body(create(invoke, tenant))["id"], body(create(invoke, tenant))["id"]
    flaky.client.delete_schedule(Name=schedule_name(uuid.UUID(lost)), GroupName=GROUP)
    stray = uuid.uuid4()
    stale = next(s for s in flaky.client.list_schedules(GroupName=GROUP)["Schedules"])
    details = flaky.client.get_schedule(Name=stale["Name"], GroupName=GROUP)
    flaky.client.create_schedule(
        Name=schedule_name(stray),
        GroupName=GROUP,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=details["Target"],
    )
    store, scheduler = wiring.unit_of_work().triggers, wiring.scheduler()
    looked = reconcile(store=store, scheduler=scheduler, repair=False)
    assert uuid.UUID(lost) in looked.missing and stray in looked.orphaned
    assert schedule_version(flaky, lost) is None  # looking changes nothing
    repaired = reconcile(store=store, scheduler=scheduler)
    assert repaired.repaired
    assert schedule_version(flaky, lost) == 1 and schedule_version(flaky, kept) == 1
    assert stray not in scheduler.trigger_ids()
    again = reconcile(store=store, scheduler=scheduler)
    assert uuid.UUID(lost) not in again.missing and stray not in again.orphaned
