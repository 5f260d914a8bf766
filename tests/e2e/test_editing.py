"""PUT means edit, over HTTP with the real scheduler: a trigger keeps its state and next fire time
unless its schedule changes, paused triggers show as paused, and blank names are refused."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Tenant
from tests.e2e.conftest import Runtime


def create(runtime: Runtime, token: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = runtime.request("POST", "/triggers", body, token=token)
    assert reply.status == 201, reply.raw
    return reply.json["trigger"]  # type: ignore[no-any-return]


def put(runtime: Runtime, token: str, trigger: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    reply = runtime.request("PUT", f"/triggers/{trigger['id']}", body, token=token)
    assert reply.status == 200, reply.raw
    return reply.json  # type: ignore[no-any-return]


def scheduled_logs(runtime: Runtime, token: str, trigger_id: str) -> list[dict[str, Any]]:
    reply = runtime.request("GET", f"/logs?trigger_id={trigger_id}&source=scheduled", token=token)
    assert reply.status == 200, reply.raw
    return reply.json  # type: ignore[no-any-return]


def wait_for_fire(runtime: Runtime, token: str, trigger_id: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not scheduled_logs(runtime, token, trigger_id):
        time.sleep(0.2)


def test_renaming_a_fired_one_time_trigger_does_not_fire_it_again(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    body = {"type": "scheduled", "schedule": {"interval": 1, "unit": "seconds"}}
    trigger = create(runtime, token, body)
    wait_for_fire(runtime, token, trigger["id"])
    renamed = put(runtime, token, trigger, {**body, "name": "renamed"})
    assert (renamed["status"], renamed["details"]["next_fire_at"], renamed["name"]) == ("completed", None, "renamed")
    time.sleep(2.5)  # a second fire, were there one, would have happened by now
    assert len(scheduled_logs(runtime, token, trigger["id"])) == 1


def test_renaming_a_fired_at_trigger_with_the_same_moment_is_accepted(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    at = (datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)).isoformat()
    body = {"type": "scheduled", "schedule": {"at": at}}
    trigger = create(runtime, token, body)
    wait_for_fire(runtime, token, trigger["id"])
    assert put(runtime, token, trigger, {**body, "name": "renamed"})["status"] == "completed"


def test_renaming_a_pending_interval_keeps_its_next_fire_time(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    body = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes"}}
    trigger = create(runtime, token, body)
    time.sleep(1.1)
    renamed = put(runtime, token, trigger, {**body, "name": "renamed"})
    assert renamed["details"]["next_fire_at"] == trigger["details"]["next_fire_at"]
    assert renamed["status"] == "active" and renamed["version"] == 2


def test_a_paused_trigger_shows_as_paused_and_a_new_schedule_re_arms_it(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    hourly = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
    trigger = create(runtime, token, hourly)
    paused = put(runtime, token, trigger, {**hourly, "enabled": False})
    assert (paused["status"], paused["details"]["next_fire_at"]) == ("paused", None)
    every_minute = {"type": "scheduled", "schedule": {"interval": 1, "unit": "minutes", "is_recurring": True}}
    rearmed = put(runtime, token, paused, every_minute)
    assert rearmed["status"] == "active"
    next_fire = datetime.fromisoformat(rearmed["details"]["next_fire_at"])
    assert next_fire - datetime.fromisoformat(rearmed["updated_at"]) == timedelta(minutes=1)


def test_a_blank_name_is_refused_naming_the_field(runtime: Runtime, http_tenant: Tenant) -> None:
    reply = runtime.request("POST", "/triggers", {"type": "api", "name": "   "}, token=http_tenant.token)
    assert reply.status == 422
    assert [e["field"] for e in reply.json["errors"]] == ["name"]
    assert reply.json["type"] == "urn:etp:problem:invalid-input"
