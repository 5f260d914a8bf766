"""Firing, testing and reading logs over HTTP through the local runtime, with its real scheduler."""

import time

from tests.conftest import Tenant
from tests.e2e.conftest import Runtime


def logs_of(runtime: Runtime, token: str, trigger_id: str) -> list[dict]:  # type: ignore[type-arg]
    reply = runtime.request("GET", f"/logs?trigger_id={trigger_id}", token=token)
    assert reply.status == 200, reply.raw
    return reply.json  # type: ignore[no-any-return]


def test_a_two_second_one_time_trigger_fires_once_and_its_log_is_readable(
    runtime: Runtime, http_tenant: Tenant
) -> None:
    token = http_tenant.token
    body = {"type": "scheduled", "schedule": {"interval": 2, "unit": "seconds", "is_recurring": False}}
    created = runtime.request("POST", "/triggers", body, token=token)
    assert created.status == 201
    trigger_id = created.json["id"]
    deadline = time.monotonic() + 20
    found: list[dict] = []  # type: ignore[type-arg]
    while time.monotonic() < deadline and not found:
        time.sleep(0.25)
        found = logs_of(runtime, token, trigger_id)
    time.sleep(1.5)  # a second fire, were there one, would show up by now
    (log,) = logs_of(runtime, token, trigger_id)
    assert (log["source"], log["state"], log["is_test"]) == ("scheduled", "active", False)
    assert log["scheduled_for"] == created.json["trigger"]["details"]["next_fire_at"]
    trigger = runtime.request("GET", f"/triggers/{trigger_id}", token=token).json
    assert trigger["status"] == "completed" and trigger["details"]["next_fire_at"] is None
    one = runtime.request("GET", f"/logs/{log['id']}", token=token)
    assert one.status == 200 and one.json["id"] == log["id"]


def test_api_trigger_seed_flow(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    trigger_id = runtime.request("POST", "/triggers", {"type": "api", "payload": {"key": "value"}}, token=token).json[
        "id"
    ]
    fired = runtime.request("POST", f"/triggers/{trigger_id}/fire", {"key": "other"}, token=token)
    assert fired.status == 201 and fired.json["status"] == "fired"
    log = runtime.request("GET", f"/logs/{fired.json['id']}", token=token).json
    assert log["payload"] == {"key": "other"} and log["source"] == "api"
    for bad, key in (({"key": 5}, "key"), ({"nope": 1}, "nope")):
        reply = runtime.request("POST", f"/triggers/{trigger_id}/fire", bad, token=token)
        assert reply.status == 422
        assert [e["field"] for e in reply.json["errors"]] == [key]
    retry = {"Idempotency-Key": "e2e-once"}
    first = runtime.request("POST", f"/triggers/{trigger_id}/fire", {"key": "x"}, token=token, headers=retry)
    second = runtime.request("POST", f"/triggers/{trigger_id}/fire", {"key": "x"}, token=token, headers=retry)
    assert first.json["id"] == second.json["id"]
    assert len(logs_of(runtime, token, trigger_id)) == 2  # the first fire and the idempotent one


def test_manual_tests_are_logged_and_marked(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    unsaved = runtime.request("POST", "/triggers/test", {"type": "api", "payload": {"key": "value"}}, token=token)
    assert unsaved.status == 201 and unsaved.json["status"] == "success"
    log = runtime.request("GET", f"/logs/{unsaved.json['id']}", token=token).json
    assert (log["is_test"], log["source"], log["trigger_id"]) == (True, "test", None)
    body = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
    trigger_id = runtime.request("POST", "/triggers", body, token=token).json["id"]
    saved = runtime.request("POST", f"/triggers/{trigger_id}/test", token=token)
    assert saved.status == 201
    (test_log,) = logs_of(runtime, token, trigger_id)
    assert test_log["is_test"] and test_log["source"] == "test"
    aggregate = runtime.request("GET", "/logs/aggregate", token=token)
    assert aggregate.status == 200 and aggregate.json["totals"]["total"] == 2
    assert aggregate.headers["X-Cache"] in ("hit", "miss", "bypass")
