"""Firing api triggers by a call and testing triggers on demand, through the handlers and events/."""

import json
from typing import Any
from uuid import UUID

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Tenant, api_event, database_down
from tests.integration.conftest import Invoke, body, concurrently
from trigger_platform import firing
from trigger_platform.adapters.cache import MemoryCache
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
from trigger_platform.clock import SystemClock
from trigger_platform.edge import wiring

SEED_API = {"type": "api", "payload": {"key": "value"}}


def create(invoke: Invoke, tenant: Tenant, definition: Any) -> str:
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))
    assert response["statusCode"] == 201, response["body"]
    return str(body(response)["id"])


def fire(invoke: Invoke, tenant: Tenant, trigger_id: str, payload: Any = ..., key: str | None = None) -> Any:
    event = api_event("fire_trigger", tenant, trigger_id, body=payload)
    if key is None:
        del event["headers"]["Idempotency-Key"], event["multiValueHeaders"]["Idempotency-Key"]
    else:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return invoke("FireTriggerFunction", event)


def stored_logs(database_url: str, **where: Any) -> list[dict[str, Any]]:
    clauses = " AND ".join(f"{column} = %s" for column in where) or "true"
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT id, trigger_id, source, is_test, payload, trigger_type FROM event_logs WHERE {clauses}",  # noqa: S608
            tuple(str(v) if isinstance(v, UUID) else v for v in where.values()),
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def fields(response: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body(response)["errors"]]


def test_fire_overlays_the_body_on_the_predefined_payload(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    trigger_id = create(invoke, tenant, SEED_API)
    response = fire(invoke, tenant, trigger_id)  # the sample event's body: {"key": "other"}
    assert response["statusCode"] == 201
    fired = body(response)
    assert fired["status"] == "fired"
    (log,) = stored_logs(database_url, id=fired["id"])
    assert log["payload"] == {"key": "other"}
    assert (log["source"], log["is_test"], str(log["trigger_id"])) == ("api", False, trigger_id)


def test_fire_without_a_body_logs_the_predefined_payload(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    trigger_id = create(invoke, tenant, SEED_API)
    response = fire(invoke, tenant, trigger_id, payload=None)
    assert response["statusCode"] == 201
    assert stored_logs(database_url, id=body(response)["id"])[0]["payload"] == {"key": "value"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"key": 5}, "key"), ({"nope": 1}, "nope"), ({"key": {"deep": 1}}, "key"), ([1, 2], "body"), ('"text"', "body")],
)
def test_fire_bodies_that_do_not_fit_are_422_naming_the_key(
    invoke: Invoke, tenant: Tenant, database_url: str, payload: Any, field: str
) -> None:
    trigger_id = create(invoke, tenant, SEED_API)
    response = fire(invoke, tenant, trigger_id, payload=payload)
    assert response["statusCode"] == 422, response["body"]
    assert field in fields(response)
    assert stored_logs(database_url, trigger_id=trigger_id) == []


def test_explicit_schema_requires_keys_and_allows_optional_ones(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    definition = {
        "type": "api",
        "payload": {"key": "value"},
        "schema": {"key": "string", "count": "integer", "note": "string?"},
    }
    trigger_id = create(invoke, tenant, definition)
    missing = fire(invoke, tenant, trigger_id, payload={})
    assert missing["statusCode"] == 422 and fields(missing) == ["count"]
    ok = fire(invoke, tenant, trigger_id, payload={"count": 2, "note": "hi"})
    assert ok["statusCode"] == 201
    log = stored_logs(database_url, id=body(ok)["id"])[0]
    assert log["payload"] == {"key": "value", "count": 2, "note": "hi"}


def test_predefined_payload_must_fit_a_declared_schema(invoke: Invoke, tenant: Tenant) -> None:
    definition = {"type": "api", "payload": {"count": "three"}, "schema": {"count": "integer"}}
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))
    assert response["statusCode"] == 422
    assert fields(response) == ["payload.count"]
    bad_type = {"type": "api", "schema": {"count": "decimal"}}
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=bad_type))
    assert response["statusCode"] == 422 and fields(response) == ["schema.count"]


def test_the_same_idempotency_key_gives_the_same_log_once(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    trigger_id = create(invoke, tenant, SEED_API)
    first = fire(invoke, tenant, trigger_id, key="order-42")
    again = fire(invoke, tenant, trigger_id, key="order-42")
    assert first["statusCode"] == again["statusCode"] == 201
    assert body(first) == body(again)
    assert len(stored_logs(database_url, trigger_id=trigger_id)) == 1
    different = fire(invoke, tenant, trigger_id, payload={"key": "changed"}, key="order-42")
    assert different["statusCode"] == 422 and fields(different) == ["Idempotency-Key"]
    assert len(stored_logs(database_url, trigger_id=trigger_id)) == 1


def test_idempotency_keys_are_per_tenant(invoke: Invoke, make_tenant: Any, database_url: str) -> None:
    first, second = make_tenant(), make_tenant()
    one, two = create(invoke, first, SEED_API), create(invoke, second, SEED_API)
    assert fire(invoke, first, one, key="shared")["statusCode"] == 201
    assert fire(invoke, second, two, key="shared")["statusCode"] == 201
    assert len(stored_logs(database_url, trigger_id=two)) == 1


def test_an_expired_idempotency_key_is_taken_over(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    trigger_id = create(invoke, tenant, SEED_API)
    first = body(fire(invoke, tenant, trigger_id, key="nightly"))
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = 'nightly'")
    again = fire(invoke, tenant, trigger_id, payload={"key": "changed"}, key="nightly")
    assert again["statusCode"] == 201 and body(again)["id"] != first["id"]
    assert len(stored_logs(database_url, trigger_id=trigger_id)) == 2


def test_concurrent_fires_with_one_key_log_once_and_answer_alike(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    trigger_id = create(invoke, tenant, SEED_API)

    def call(db: Database) -> firing.FireResult:
        return firing.fire_api_trigger(
            tenant.id,
            trigger_id,
            {"key": "same"},
            "checkout-7",
            uow=PostgresUnitOfWork(db, LogPartitions(db), wiring.scheduler),
            cache=MemoryCache(),
            clock=SystemClock(),
            warm=firing.WarmTriggers(),
        )

    answers = concurrently(12, database_url, call)
    assert len({answer.log_id for answer in answers}) == 1 and len(answers) == 12
    assert sorted(answer.replayed for answer in answers) == [False] + [True] * 11
    assert len(stored_logs(database_url, trigger_id=trigger_id)) == 1


def test_a_warm_instance_fires_an_edited_trigger_as_edited(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    trigger_id = create(invoke, tenant, SEED_API)
    assert fire(invoke, tenant, trigger_id)["statusCode"] == 201  # now warm on this instance
    edited = {"type": "api", "payload": {"key": "v2"}, "schema": {"key": "string", "count": "integer?"}}
    replaced = invoke("ReplaceTriggerFunction", api_event("replace_trigger", tenant, trigger_id, body=edited))
    assert replaced["statusCode"] == 200, replaced["body"]
    response = fire(invoke, tenant, trigger_id, payload={"count": 3})
    assert response["statusCode"] == 201, response["body"]
    (log,) = stored_logs(database_url, id=body(response)["id"])
    assert log["payload"] == {"key": "v2", "count": 3}
    assert invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, trigger_id))["statusCode"] == 204
    assert fire(invoke, tenant, trigger_id)["statusCode"] == 404


def test_firing_a_scheduled_or_paused_trigger_is_409(invoke: Invoke, tenant: Tenant) -> None:
    scheduled = create(invoke, tenant, {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes"}})
    assert fire(invoke, tenant, scheduled)["statusCode"] == 409
    paused = create(invoke, tenant, {**SEED_API, "enabled": False})
    assert fire(invoke, tenant, paused)["statusCode"] == 409


def test_firing_unknown_or_another_tenants_trigger_is_404(invoke: Invoke, make_tenant: Any) -> None:
    owner, intruder = make_tenant(), make_tenant()
    trigger_id = create(invoke, owner, SEED_API)
    assert fire(invoke, intruder, trigger_id)["statusCode"] == 404
    assert fire(invoke, owner, "0192f0c4-1111-7000-8000-0000000000aa")["statusCode"] == 404


def test_testing_a_definition_logs_it_without_saving_a_trigger(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    response = invoke("TestDefinitionFunction", api_event("test_definition", tenant))
    assert response["statusCode"] == 201
    outcome = body(response)
    assert outcome["status"] == "success"
    (log,) = stored_logs(database_url, id=outcome["id"])
    assert (log["source"], log["is_test"], log["trigger_id"], log["payload"]) == ("test", True, None, {"key": "value"})
    listed = invoke("ListTriggersFunction", api_event("list_triggers-page", tenant, query={}))
    assert body(listed) == []


def test_testing_an_invalid_definition_is_422_and_logs_nothing(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    bad = {"type": "scheduled", "schedule": {"at": "2020-01-01T00:00:00+00:00"}}
    response = invoke("TestDefinitionFunction", api_event("test_definition", tenant, body=bad))
    assert response["statusCode"] == 422
    assert stored_logs(database_url, tenant_id=tenant.id, source="test", trigger_type="scheduled") == []


def test_testing_a_saved_trigger_fires_now_and_keeps_its_schedule(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    trigger_id = create(
        invoke, tenant, {"type": "scheduled", "schedule": {"interval": 2, "unit": "hours", "is_recurring": True}}
    )
    before = body(invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id)))
    response = invoke("TestTriggerFunction", api_event("test_trigger", tenant, trigger_id))
    assert response["statusCode"] == 201 and body(response)["status"] == "success"
    (log,) = stored_logs(database_url, trigger_id=trigger_id)
    assert (log["source"], log["is_test"]) == ("test", True)
    assert body(invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id))) == before
    assert UUID(trigger_id) in wiring.scheduler().trigger_ids()


def test_testing_another_tenants_trigger_is_404(invoke: Invoke, make_tenant: Any) -> None:
    owner, intruder = make_tenant(), make_tenant()
    trigger_id = create(invoke, owner, SEED_API)
    assert invoke("TestTriggerFunction", api_event("test_trigger", intruder, trigger_id))["statusCode"] == 404


def test_a_test_while_the_database_is_down_fails_with_a_reason(
    invoke: Invoke, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_down(monkeypatch)
    response = invoke("TestDefinitionFunction", api_event("test_definition", tenant))
    assert response["statusCode"] == 503
    outcome = body(response)
    assert outcome["status"] == "failed" and outcome["reason"] and outcome["id"] is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, st.dictionaries(st.sampled_from(["key", "count", "note", "other"]), json_values)))
def test_random_bodies_never_500_and_accepted_ones_log_the_overlay(
    invoke: Invoke, tenant: Tenant, database_url: str, fire_body: Any
) -> None:
    trigger_id = api_trigger_with_schema(invoke, tenant)
    event = api_event("fire_trigger", tenant, trigger_id, body=json.dumps(fire_body, allow_nan=True))
    del event["headers"]["Idempotency-Key"], event["multiValueHeaders"]["Idempotency-Key"]
    response = invoke("FireTriggerFunction", event)
    assert response["statusCode"] in (201, 400, 413, 422), response["body"]
    if response["statusCode"] == 201:
        (log,) = stored_logs(database_url, id=body(response)["id"])
        assert log["payload"] == {"key": "value", "count": 1, **(fire_body or {})}


_schema_triggers: dict[UUID, str] = {}


def api_trigger_with_schema(invoke: Invoke, tenant: Tenant) -> str:
    """One trigger per tenant for the property test (hypothesis reuses the function's fixtures)."""
    if tenant.id not in _schema_triggers:
        definition = {
            "type": "api",
            "payload": {"key": "value", "count": 1},
            "schema": {"key": "string", "count": "integer", "note": "string?"},
        }
        _schema_triggers[tenant.id] = create(invoke, tenant, definition)
    return _schema_triggers[tenant.id]
