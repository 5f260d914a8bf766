"""Limits no tenant or request can get past, through the handlers: quotas, the statement timeout,
the fire payload's size, and headers the database could not hold."""

import json
from typing import Any

import pytest

from tests.conftest import Tenant, api_event
from tests.integration.conftest import Invoke, body
from tests.integration.test_firing_handlers import create, fire
from trigger_platform.adapters.postgres import Database
from trigger_platform.edge import wiring
from trigger_platform.errors import QueryTimeout
from trigger_platform.triggers import Quotas

HOURLY = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}


def test_a_tenant_over_its_recurring_quota_gets_409_naming_the_quota(
    invoke: Invoke, tenant: Tenant, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "quotas", lambda: Quotas(triggers=100, enabled_recurring=2))
    for _ in range(2):
        create(invoke, tenant, HOURLY)
    refused = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=HOURLY))
    assert refused["statusCode"] == 409
    problem = body(refused)
    assert problem["type"] == "urn:etp:problem:quota-exceeded"
    assert (problem["quota"], problem["limit"], problem["current"]) == ("enabled_recurring_triggers", 2, 2)
    create(invoke, make_tenant(), HOURLY)  # another tenant is not affected


def test_a_query_over_the_statement_timeout_is_a_query_timeout_not_an_outage(database_url: str) -> None:
    db = Database(lambda: database_url, statement_timeout_ms=100)
    with pytest.raises(QueryTimeout) as raised, db.cursor() as cur:
        cur.execute("SELECT pg_sleep(1)")
    assert (raised.value.code, raised.value.title) == ("query-timeout", "Query Took Too Long")
    with db.cursor() as cur:  # the connection is still good
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    db.close()


@pytest.mark.parametrize("key", ["order\x0042", "line\nbreak"])
def test_an_idempotency_key_the_database_cannot_hold_is_422(invoke: Invoke, tenant: Tenant, key: str) -> None:
    trigger_id = create(invoke, tenant, {"type": "api", "payload": {"key": "value"}})
    response = fire(invoke, tenant, trigger_id, key=key)
    assert response["statusCode"] == 422
    assert [e["field"] for e in body(response)["errors"]] == ["Idempotency-Key"]


def test_a_fire_whose_merged_payload_passes_16_kib_is_422_naming_the_body(invoke: Invoke, tenant: Tenant) -> None:
    schema = {f"note{i}": "string?" for i in range(15)}
    trigger_id = create(invoke, tenant, {"type": "api", "payload": {}, "schema": schema})
    huge = {key: "😀" * 1000 for key in schema}  # each value fits alone; together 60 KB of UTF-8
    response = fire(invoke, tenant, trigger_id, json.dumps(huge, ensure_ascii=False))
    assert response["statusCode"] == 422
    assert [e["field"] for e in body(response)["errors"]] == ["body"]


def test_trigger_pages_stop_at_1_mib_and_link_to_the_rest(invoke: Invoke, make_tenant: Any) -> None:
    tenant = make_tenant()
    payload = {f"k{i:02}": "x" * 1000 for i in range(15)}
    made = {create(invoke, tenant, {"type": "api", "payload": payload}) for _ in range(80)}
    first = invoke("ListTriggersFunction", api_event("list_triggers-page", tenant, query={"limit": "500"}))
    assert first["statusCode"] == 200 and len(first["body"].encode()) <= 1024 * 1024
    link = first["multiValueHeaders"]["Link"][0]
    cursor = link.split("cursor=")[1].split(">")[0]
    rest = invoke(
        "ListTriggersFunction", api_event("list_triggers-page", tenant, query={"limit": "500", "cursor": cursor})
    )
    assert {t["id"] for t in body(first) + body(rest)} == made
