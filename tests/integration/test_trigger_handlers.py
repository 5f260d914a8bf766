"""Trigger CRUD handlers invoked with the sample API Gateway events in events/, against PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Tenant, api_event
from tests.integration.conftest import Invoke, body, header
from trigger_platform.edge.headers import EXPOSED_HEADERS

SEED_SCHEDULED = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
SEED_API = {"type": "api", "payload": {"key": "value"}}


def create(invoke: Invoke, tenant: Tenant, definition: Any) -> dict[str, Any]:
    return invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))  # type: ignore[no-any-return]


def created_id(invoke: Invoke, tenant: Tenant, definition: Any = SEED_API) -> str:
    response = create(invoke, tenant, definition)
    assert response["statusCode"] == 201, response["body"]
    return str(body(response)["id"])


def error_fields(response: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body(response).get("errors", [])]


def test_sample_scheduled_event_creates_a_trigger_due_after_its_interval(invoke: Invoke, tenant: Tenant) -> None:
    before = datetime.now(UTC).replace(microsecond=0)  # schedules count from whole seconds
    response = invoke("CreateTriggerFunction", api_event("create_trigger-scheduled", tenant))
    assert response["statusCode"] == 201
    created = body(response)
    assert created["status"] == "created"
    assert created["id"] == created["trigger"]["id"]
    trigger = created["trigger"]
    assert trigger["type"] == "scheduled"
    assert trigger["details"]["schedule"] == SEED_SCHEDULED["schedule"]
    next_fire = datetime.fromisoformat(trigger["details"]["next_fire_at"])
    assert before + timedelta(minutes=30) <= next_fire <= datetime.now(UTC) + timedelta(minutes=30)
    assert header(response, "ETag") == '"1"'


def test_sample_api_event_creates_an_api_trigger_with_its_fire_endpoint(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant))
    assert response["statusCode"] == 201
    trigger = body(response)["trigger"]
    assert trigger["payload"] == {"key": "value"}
    # The URL a client calls, stage included, as the sample event addressed the API.
    stage_url = "https://1234567890.execute-api.us-east-1.amazonaws.com/Prod"
    assert trigger["details"] == {"endpoint": f"{stage_url}/triggers/{trigger['id']}/fire", "schema": {"key": "string"}}
    assert header(response, "Location") == f"{stage_url}/triggers/{trigger['id']}"


def test_at_schedule_with_offset_and_optional_name_is_accepted(invoke: Invoke, tenant: Tenant) -> None:
    at = (datetime.now(UTC) + timedelta(days=2)).astimezone().isoformat()
    definition = {"type": "scheduled", "name": "report", "schedule": {"at": at}, "payload": {"n": 1}}
    trigger = body(create(invoke, tenant, definition))["trigger"]
    assert trigger["name"] == "report"
    assert datetime.fromisoformat(trigger["details"]["next_fire_at"]) == datetime.fromisoformat(at)


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"type": "scheduled", "schedule": {"interval": 30, "unit": "fortnights"}}, "schedule.unit"),
        ({"type": "scheduled", "schedule": {"interval": 0, "unit": "minutes"}}, "schedule.interval"),
        ({"type": "scheduled", "schedule": {"interval": -5, "unit": "minutes"}}, "schedule.interval"),
        ({"type": "scheduled", "schedule": {"interval": "30", "unit": "minutes"}}, "schedule.interval"),
        ({"type": "scheduled", "schedule": {"interval": 1.5, "unit": "minutes"}}, "schedule.interval"),
        (
            {"type": "scheduled", "schedule": {"interval": 30, "unit": "seconds", "is_recurring": True}},
            "schedule.interval",
        ),
        ({"type": "scheduled", "schedule": {"at": "2030-01-05T09:00:00"}}, "schedule.at"),
        ({"type": "scheduled", "schedule": {"at": "2020-01-05T09:00:00+01:00"}}, "schedule.at"),
        ({"type": "scheduled", "schedule": {"at": "2099-01-05T09:00:00+01:00"}}, "schedule.at"),
        ({"type": "scheduled", "schedule": {"at": 1893456000}}, "schedule.at"),
        ({"type": "scheduled", "schedule": {"at": "0001-01-01T00:00:00+01:00"}}, "schedule.at"),
        ({"type": "scheduled", "schedule": {"at": "9999-12-31T23:59:59-01:00"}}, "schedule.at"),
        ({"type": "scheduled", "schedule": {"every": 5}}, "schedule"),
        ({"type": "scheduled"}, "schedule"),
        ({"type": "api", "payload": {"nested": {"a": 1}}}, "payload.nested"),
        ({"type": "api", "payload": {"list": [1, 2]}}, "payload.list"),
        ({"type": "api", "payload": {f"k{i}": i for i in range(101)}}, "payload"),
        ({"type": "api", "payload": {"k": "x" * 5000}}, "payload.k"),
        ({"type": "api", "payload": {"big": 2**60}}, "payload.big"),
        ({"type": "api", "payload": "flat"}, "payload"),
        ({"type": "api", "name": ""}, "name"),
        ({"type": "api", "surprise": 1}, "surprise"),
        ({"type": "cron"}, "type"),
        ({}, "type"),
        ([], "body"),
    ],
)
def test_invalid_definitions_get_422_naming_the_field(
    invoke: Invoke, tenant: Tenant, definition: Any, field: str
) -> None:
    response = create(invoke, tenant, definition)
    assert response["statusCode"] == 422, response["body"]
    assert header(response, "Content-Type") == "application/problem+json"
    problem = body(response)
    assert problem["status"] == 422 and problem["title"] and problem["detail"]
    assert field in error_fields(response)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("{not json", 400),
        ('{"type": "api", "type": "scheduled"}', 400),
        ('{"type": "api", "payload": {"n": NaN}}', 400),
        ('{"type": "api", "payload": {"nul": "a\\u0000b"}}', 400),
        ('{"type": "api", "name": "\\ud800"}', 400),
        ('{"type": "api", "payload": {"k": "' + "x" * (70 * 1024) + '"}}', 413),
    ],
)
def test_malformed_or_oversize_bodies_get_4xx_problem(invoke: Invoke, tenant: Tenant, raw: str, status: int) -> None:
    response = create(invoke, tenant, raw)
    assert response["statusCode"] == status
    assert body(response)["status"] == status


def test_unsupported_content_type_gets_415(invoke: Invoke, tenant: Tenant) -> None:
    event = api_event("create_trigger-api", tenant, headers={"Content-Type": "text/plain"})
    assert invoke("CreateTriggerFunction", event)["statusCode"] == 415


@pytest.mark.parametrize(
    ("changes", "status"),
    [({}, 201), ({"body": {"type": "api", "payload": []}}, 422), ({"headers": {"Content-Type": "text/plain"}}, 415)],
)
def test_answers_to_a_browser_carry_what_cors_needs_to_read_them(
    invoke: Invoke, tenant: Tenant, changes: dict[str, Any], status: int
) -> None:
    """API Gateway adds nothing to a proxy answer: the function's own headers are all a page gets."""
    headers = {"Origin": "https://editor.swagger.io", **changes.get("headers", {})}
    event = api_event("create_trigger-api", tenant, body=changes.get("body", ...), headers=headers)
    response = invoke("CreateTriggerFunction", event)
    assert response["statusCode"] == status
    assert header(response, "Access-Control-Allow-Origin") == "*"  # the template's CorsAllowOrigin
    assert set((header(response, "Access-Control-Expose-Headers") or "").split(",")) == set(EXPOSED_HEADERS)


def test_list_pages_with_an_opaque_cursor_and_a_link_header(invoke: Invoke, tenant: Tenant) -> None:
    ids = [created_id(invoke, tenant) for _ in range(5)]
    seen: list[str] = []
    query = {"limit": "2"}
    for _ in range(5):
        response = invoke("ListTriggersFunction", api_event("list_triggers-page", tenant, query=query))
        assert response["statusCode"] == 200
        page = body(response)
        assert all({"id", "type", "details", "created_at"} <= set(t) for t in page)
        seen += [t["id"] for t in page]
        link = header(response, "Link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        cursor = link.split("cursor=")[1].split(">")[0]
        query = {"limit": "2", "cursor": cursor}
    assert seen == ids


def test_list_default_page_shows_only_the_callers_triggers(invoke: Invoke, make_tenant: Any) -> None:
    owner, other = make_tenant(), make_tenant()
    created_id(invoke, owner)
    response = invoke("ListTriggersFunction", api_event("list_triggers-page", other, query={}))
    assert response["statusCode"] == 200
    assert body(response) == []
    assert header(response, "Link") is None


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "x"}, "limit"), ({"cursor": "zz"}, "cursor")],
)
def test_list_rejects_bad_limits_and_cursors(invoke: Invoke, tenant: Tenant, query: dict[str, str], field: str) -> None:
    response = invoke("ListTriggersFunction", api_event("list_triggers-page", tenant, query=query))
    assert response["statusCode"] == 422
    assert field in error_fields(response)


def test_get_returns_the_trigger_with_its_etag(invoke: Invoke, tenant: Tenant) -> None:
    trigger_id = created_id(invoke, tenant)
    response = invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id))
    assert response["statusCode"] == 200
    assert body(response)["id"] == trigger_id
    assert header(response, "ETag") == '"1"'


@pytest.mark.parametrize("trigger_id", ["0192f0c4-1111-7000-8000-000000000001", "not-a-uuid", "..%2F..%2Fetc"])
def test_get_unknown_or_malformed_id_is_404(invoke: Invoke, tenant: Tenant, trigger_id: str) -> None:
    response = invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id))
    assert response["statusCode"] == 404
    assert body(response)["status"] == 404


def test_another_tenants_trigger_is_not_found_for_get_put_delete(invoke: Invoke, make_tenant: Any) -> None:
    owner, intruder = make_tenant(), make_tenant()
    trigger_id = created_id(invoke, owner)
    assert invoke("GetTriggerFunction", api_event("get_trigger", intruder, trigger_id))["statusCode"] == 404
    replaced = invoke(
        "ReplaceTriggerFunction", api_event("replace_trigger", intruder, trigger_id, headers={"If-Match": "*"})
    )
    assert replaced["statusCode"] == 404
    assert invoke("DeleteTriggerFunction", api_event("delete_trigger", intruder, trigger_id))["statusCode"] == 404
    still_there = invoke("GetTriggerFunction", api_event("get_trigger", owner, trigger_id))
    assert body(still_there)["version"] == 1


def test_put_replaces_the_definition_and_bumps_the_version(invoke: Invoke, tenant: Tenant) -> None:
    trigger_id = created_id(invoke, tenant)
    response = invoke("ReplaceTriggerFunction", api_event("replace_trigger", tenant, trigger_id))
    assert response["statusCode"] == 200
    replaced = body(response)
    assert replaced["type"] == "scheduled"
    assert replaced["name"] == "every two hours"
    assert replaced["payload"] == {}
    assert replaced["version"] == 2
    assert header(response, "ETag") == '"2"'


def test_put_with_a_stale_if_match_is_412_and_changes_nothing(invoke: Invoke, tenant: Tenant) -> None:
    trigger_id = created_id(invoke, tenant)
    assert invoke("ReplaceTriggerFunction", api_event("replace_trigger", tenant, trigger_id))["statusCode"] == 200
    stale = invoke(
        "ReplaceTriggerFunction", api_event("replace_trigger", tenant, trigger_id, headers={"If-Match": '"1"'})
    )
    assert stale["statusCode"] == 412
    current = invoke(
        "ReplaceTriggerFunction", api_event("replace_trigger", tenant, trigger_id, headers={"If-Match": '"2"'})
    )
    assert current["statusCode"] == 200
    assert body(current)["version"] == 3


def test_put_with_an_invalid_body_is_422_and_keeps_the_trigger(invoke: Invoke, tenant: Tenant) -> None:
    trigger_id = created_id(invoke, tenant)
    bad = {"type": "scheduled", "schedule": {"interval": 30, "unit": "weeks"}}
    response = invoke("ReplaceTriggerFunction", api_event("replace_trigger", tenant, trigger_id, body=bad))
    assert response["statusCode"] == 422
    kept = body(invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id)))
    assert kept["type"] == "api" and kept["version"] == 1


def test_put_unknown_id_is_404(invoke: Invoke, tenant: Tenant) -> None:
    response = invoke(
        "ReplaceTriggerFunction", api_event("replace_trigger", tenant, "0192f0c4-1111-7000-8000-0000000000ff")
    )
    assert response["statusCode"] == 404


def test_delete_is_204_then_404(invoke: Invoke, tenant: Tenant) -> None:
    trigger_id = created_id(invoke, tenant)
    first = invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, trigger_id))
    assert first["statusCode"] == 204
    assert not first.get("body")
    assert invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, trigger_id))["statusCode"] == 404
    assert invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id))["statusCode"] == 404


def test_a_request_without_an_authorizer_context_is_401(invoke: Invoke) -> None:
    response = invoke("ListTriggersFunction", api_event("list_triggers-page", None, query={}))
    assert response["statusCode"] == 401
