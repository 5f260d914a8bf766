"""Delivery end to end in process: handlers from events/, the delivery function fed as the local
runtime feeds it (the outbox as its queue), and real HTTP receivers on loopback that verify every
signature with Standard Webhooks."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from local.deliveries import OutboxQueue, sqs_event
from tests.conftest import Tenant, api_event, load_event
from tests.integration.conftest import Invoke, body
from tests.receivers import Answer, Receiver
from tests.unit.test_targets import REFUSED, NameTable
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.resolver import SystemResolver
from trigger_platform.delivery import DeliveryPolicy, retry_schedule
from trigger_platform.edge import wiring
from trigger_platform.targets import TargetGuard

SCHEDULE = "0.2,0.4,0.8"  # three retries: four attempts in all


def use_guard(monkeypatch: pytest.MonkeyPatch, guard: TargetGuard) -> None:
    monkeypatch.setattr(wiring, "_target_guard", guard)
    wiring.webhook_sender.cache_clear()


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As DELIVERY_ALLOW_PRIVATE_NETWORKS=true does, with a short retry schedule."""
    use_guard(monkeypatch, TargetGuard(SystemResolver(), allow_private_networks=True))
    monkeypatch.setattr(wiring, "delivery_policy", lambda: DeliveryPolicy(retry_schedule(SCHEDULE), jitter=0.0))
    yield
    monkeypatch.undo()
    wiring.webhook_sender.cache_clear()


class Pump:
    """The local runtime's event source mapping, one poll at a time, until a log's delivery settles."""

    def __init__(self, invoke: Invoke, database_url: str) -> None:
        self.invoke = invoke
        self.queue = OutboxQueue(Database(lambda: database_url))

    def poll(self) -> int:
        now = datetime.now(UTC)
        _, messages = self.queue.receive(now, 10, timedelta(seconds=180))
        if messages:
            self.invoke("DeliveryFunction", sqs_event(messages, now))
        return len(messages)

    def until_settled(self, tenant: Tenant, log_id: str, timeout_s: float = 30) -> dict[str, Any]:
        return self.until(tenant, log_id, lambda d: d["status"] in ("delivered", "failed"), timeout_s)

    def until_attempted(self, tenant: Tenant, log_id: str, timeout_s: float = 30) -> dict[str, Any]:
        return self.until(tenant, log_id, lambda d: bool(d["attempts"]), timeout_s)

    def until(
        self, tenant: Tenant, log_id: str, done: Callable[[dict[str, Any]], bool], timeout_s: float
    ) -> dict[str, Any]:
        """Poll (other tests' deliveries may be in the outbox too) until ``done`` holds for this log's."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.poll():
                time.sleep(0.05)
            delivery: dict[str, Any] = read_log(self.invoke, tenant, log_id)["delivery"]
            if done(delivery):
                return delivery
        raise AssertionError(f"log {log_id}'s delivery did not get there in {timeout_s} s")


@pytest.fixture
def pump(invoke: Invoke, database_url: str) -> Pump:
    return Pump(invoke, database_url)


def create(invoke: Invoke, tenant: Tenant, definition: dict[str, Any]) -> dict[str, Any]:
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))
    assert response["statusCode"] == 201, response["body"]
    return body(response)["trigger"]  # type: ignore[no-any-return]


def api_trigger(invoke: Invoke, tenant: Tenant, url: str) -> dict[str, Any]:
    return create(invoke, tenant, {"type": "api", "payload": {"key": "value"}, "target": {"url": url}})


def fire(invoke: Invoke, tenant: Tenant, trigger_id: str) -> str:
    event = api_event("fire_trigger", tenant, trigger_id, body={"key": "fired"})
    del event["headers"]["Idempotency-Key"], event["multiValueHeaders"]["Idempotency-Key"]
    response = invoke("FireTriggerFunction", event)
    assert response["statusCode"] == 201, response["body"]
    return str(body(response)["id"])


def read_log(invoke: Invoke, tenant: Tenant, log_id: str) -> dict[str, Any]:
    response = invoke("GetLogFunction", api_event("get_log", tenant, log_id=log_id))
    assert response["statusCode"] == 200, response["body"]
    return body(response)  # type: ignore[no-any-return]


def redeliver(invoke: Invoke, tenant: Tenant, log_id: str) -> dict[str, Any]:
    return invoke("RedeliverLogFunction", api_event("redeliver_log", tenant, log_id=log_id))  # type: ignore[no-any-return]


def sql(database_url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


# The contract ------------------------------------------------------------------------------------


def test_a_fire_is_delivered_once_signed_with_the_triggers_secret(invoke: Invoke, tenant: Tenant, pump: Pump) -> None:
    with Receiver() as receiver:
        trigger = api_trigger(invoke, tenant, receiver.url)
        secret = trigger["target"]["secret"]
        assert trigger["target"]["url"] == receiver.url and secret.startswith("whsec_")
        log_id = fire(invoke, tenant, trigger["id"])
        delivery = pump.until_settled(tenant, log_id)
        (received,) = receiver.received
    assert delivery["status"] == "delivered" and delivery["next_attempt_at"] is None
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None and attempt["duration_ms"] >= 0
    assert received.verifies_with(secret)
    assert received.headers["webhook-id"] == log_id
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["User-Agent"].startswith("EventTriggerPlatform/")
    assert received.json["id"] == log_id and received.json["payload"] == {"key": "fired"}
    assert (received.json["source"], received.json["is_test"], received.json["trigger_type"]) == ("api", False, "api")
    got = invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger["id"]))
    assert body(got)["target"] == {"url": receiver.url, "secret": secret}


def test_logs_list_deliveries_in_brief_filter_by_them_and_count_them(
    invoke: Invoke, tenant: Tenant, pump: Pump
) -> None:
    with Receiver(then=Answer(410)) as gone, Receiver() as ok:
        delivered = fire(invoke, tenant, api_trigger(invoke, tenant, ok.url)["id"])
        failed = fire(invoke, tenant, api_trigger(invoke, tenant, gone.url)["id"])
        pump.until_settled(tenant, delivered)
        pump.until_settled(tenant, failed)
    untargeted = create(invoke, tenant, {"type": "api", "payload": {"key": "value"}})
    plain = fire(invoke, tenant, untargeted["id"])

    def listed(**query: str) -> list[dict[str, Any]]:
        response = invoke("ListLogsFunction", api_event("list_logs", tenant, query=query))
        assert response["statusCode"] == 200, response["body"]
        return body(response)  # type: ignore[no-any-return]

    by_id = {log["id"]: log["delivery"] for log in listed()}
    assert by_id[delivered] == {"status": "delivered", "attempt_count": 1, "next_attempt_at": None}
    assert by_id[failed]["status"] == "failed" and by_id[plain]["status"] == "none"
    assert [log["id"] for log in listed(delivery="failed")] == [failed]
    assert [log["id"] for log in listed(delivery="delivered")] == [delivered]
    assert read_log(invoke, tenant, plain)["delivery"] == {
        "status": "none",
        "attempt_count": 0,
        "next_attempt_at": None,
        "attempts": [],
    }
    counts = body(invoke("AggregateLogsFunction", api_event("aggregate_logs", tenant, query={})))["deliveries"]
    assert counts == {"pending": 0, "delivered": 1, "failed": 1, "none": 1}


def test_a_receiver_that_fails_three_times_is_delivered_on_the_fourth_attempt(
    invoke: Invoke, tenant: Tenant, pump: Pump
) -> None:
    with Receiver(Answer(500), Answer(500), Answer(500)) as receiver:
        log_id = fire(invoke, tenant, api_trigger(invoke, tenant, receiver.url)["id"])
        delivery = pump.until_settled(tenant, log_id)
        assert {r.headers["webhook-id"] for r in receiver.received} == {log_id}
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert [a["error"] for a in delivery["attempts"]] == ["HTTP 500"] * 3 + [None]
    gaps = [
        (datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"])).total_seconds()
        for a, b in zip(delivery["attempts"], delivery["attempts"][1:], strict=False)
    ]
    assert [round(g, 1) >= d for g, d in zip(gaps, (0.2, 0.4, 0.8), strict=True)] == [True] * 3


def test_a_receiver_that_is_down_then_up_gets_the_delivery(invoke: Invoke, tenant: Tenant, pump: Pump) -> None:
    with Receiver() as probe:
        port = probe.port  # a port nothing listens on once the probe is closed
    url = f"http://127.0.0.1:{port}/hooks"
    log_id = fire(invoke, tenant, api_trigger(invoke, tenant, url)["id"])
    first = pump.until_attempted(tenant, log_id)
    assert first["status"] == "pending" and first["attempts"][0]["status_code"] is None
    assert "refused" in first["attempts"][0]["error"]
    with Receiver(port=port) as receiver:
        delivery = pump.until_settled(tenant, log_id)
        assert len(receiver.received) == 1
    assert delivery["status"] == "delivered" and len(delivery["attempts"]) == 2


def test_a_hung_receiver_is_cut_at_ten_seconds(invoke: Invoke, tenant: Tenant, pump: Pump) -> None:
    with Receiver(Answer(delay_s=30)) as receiver:
        log_id = fire(invoke, tenant, api_trigger(invoke, tenant, receiver.url)["id"])
        started = time.monotonic()
        (attempt, *_) = pump.until_attempted(tenant, log_id)["attempts"]
        waited = time.monotonic() - started
    assert attempt["status_code"] is None and attempt["error"] == "no answer within 10 s"
    assert 9_500 <= attempt["duration_ms"] <= 12_000 and waited < 15


def test_a_410_fails_at_once_and_redeliver_starts_a_new_round_on_the_same_webhook_id(
    invoke: Invoke, tenant: Tenant, pump: Pump
) -> None:
    with Receiver(Answer(410)) as receiver:
        log_id = fire(invoke, tenant, api_trigger(invoke, tenant, receiver.url)["id"])
        assert pump.until_settled(tenant, log_id)["status"] == "failed"
        response = redeliver(invoke, tenant, log_id)
        assert response["statusCode"] == 202, response["body"]
        assert body(response)["status"] == "pending"
        delivery = pump.until_settled(tenant, log_id)
        assert [r.headers["webhook-id"] for r in receiver.received] == [log_id, log_id]
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [410, 200]


def test_redeliver_is_409_in_flight_or_without_a_target_and_404_for_another_tenant(
    invoke: Invoke, make_tenant: Any, database_url: str
) -> None:
    tenant, other = make_tenant(), make_tenant()
    with Receiver() as receiver:
        log_id = fire(invoke, tenant, api_trigger(invoke, tenant, receiver.url)["id"])
    assert redeliver(invoke, other, log_id)["statusCode"] == 404
    assert redeliver(invoke, tenant, "not-a-log")["statusCode"] == 404
    sql(
        database_url,
        "UPDATE deliveries SET lease = 'x', lease_until = now() + interval '1 minute' WHERE log_id = %s",
        log_id,
    )
    in_flight = redeliver(invoke, tenant, log_id)
    assert in_flight["statusCode"] == 409 and "in flight" in body(in_flight)["detail"]
    plain = fire(invoke, tenant, create(invoke, tenant, {"type": "api", "payload": {"key": "v"}})["id"])
    assert redeliver(invoke, tenant, plain)["statusCode"] == 409


def test_rotation_signs_with_both_secrets_for_the_overlap_then_only_the_new_one(
    invoke: Invoke, tenant: Tenant, pump: Pump, database_url: str
) -> None:
    with Receiver() as receiver:
        trigger = api_trigger(invoke, tenant, receiver.url)
        old = trigger["target"]["secret"]
        rotated = invoke("RotateTriggerSecretFunction", api_event("rotate_trigger_secret", tenant, trigger["id"]))
        assert rotated["statusCode"] == 200, rotated["body"]
        new = body(rotated)["target"]["secret"]
        assert new != old and new.startswith("whsec_")
        pump.until_settled(tenant, fire(invoke, tenant, trigger["id"]))
        sql(
            database_url,
            "UPDATE triggers SET previous_secret_expires_at = now() - interval '1 second' WHERE id = %s",
            trigger["id"],
        )
        pump.until_settled(tenant, fire(invoke, tenant, trigger["id"]))
        during, after = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verifies_with(old) and during.verifies_with(new)
    assert after.verifies_with(new) and not after.verifies_with(old)
    plain = create(invoke, tenant, {"type": "api", "payload": {"key": "v"}})
    refused = invoke("RotateTriggerSecretFunction", api_event("rotate_trigger_secret", tenant, plain["id"]))
    assert refused["statusCode"] == 409


def test_manual_tests_and_scheduled_fires_are_delivered_too(invoke: Invoke, tenant: Tenant, pump: Pump) -> None:
    with Receiver() as receiver:
        scheduled = create(
            invoke,
            tenant,
            {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours"}, "target": {"url": receiver.url}},
        )
        tested = invoke("TestTriggerFunction", api_event("test_trigger", tenant, scheduled["id"]))
        assert tested["statusCode"] == 201
        pump.until_settled(tenant, body(tested)["id"])
        due = load_event("fire_scheduled-due")
        due.update(trigger_id=scheduled["id"], tenant_id=str(tenant.id), scheduled_time="2026-11-29T09:00:00Z")
        fired = invoke("FireScheduledFunction", due)
        assert fired["status"] == "fired", fired
        pump.until_settled(tenant, fired["log_id"])
        test_body, scheduled_body = (r.json for r in receiver.wait_for(2))
    assert (test_body["source"], test_body["is_test"]) == ("test", True)
    assert (scheduled_body["source"], scheduled_body["scheduled_for"]) == ("scheduled", "2026-11-29T09:00:00+00:00")


def test_put_adds_changes_and_removes_a_target_keeping_its_secret_while_it_has_one(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    trigger = create(invoke, tenant, {"type": "api", "payload": {"key": "v"}})
    assert "target" not in trigger

    def put(definition: dict[str, Any]) -> dict[str, Any]:
        event = api_event("replace_trigger", tenant, trigger["id"], body=definition)
        del event["headers"]["If-Match"], event["multiValueHeaders"]["If-Match"]
        response = invoke("ReplaceTriggerFunction", event)
        assert response["statusCode"] == 200, response["body"]
        return body(response)  # type: ignore[no-any-return]

    added = put({"type": "api", "payload": {"key": "v"}, "target": {"url": "http://127.0.0.1:9/a"}})
    changed = put({"type": "api", "payload": {"key": "v"}, "target": {"url": "http://127.0.0.1:9/b"}})
    assert changed["target"] == {"url": "http://127.0.0.1:9/b", "secret": added["target"]["secret"]}
    assert "target" not in put({"type": "api", "payload": {"key": "v"}})
    assert sql(database_url, "SELECT signing_secret FROM triggers WHERE id = %s", trigger["id"]) == [(None,)]


def test_a_trigger_without_a_target_writes_no_delivery(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    log_id = fire(invoke, tenant, create(invoke, tenant, {"type": "api", "payload": {"key": "v"}})["id"])
    assert sql(database_url, "SELECT count(*) FROM deliveries WHERE log_id = %s", log_id) == [(0,)]


# The SSRF guard ----------------------------------------------------------------------------------


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_a_refused_address_is_a_422_at_create_by_literal_and_by_name(
    invoke: Invoke, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, address: str, reason: str
) -> None:
    use_guard(monkeypatch, TargetGuard(NameTable({"hooks.customer.example": [address]})))
    for url in (f"https://{_host(address)}/hook", "https://hooks.customer.example/hook"):
        definition = {"type": "api", "target": {"url": url}}
        response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))
        assert response["statusCode"] == 422, (url, response["body"])
        assert [e["field"] for e in body(response)["errors"]] == ["target.url"]
        assert reason.removesuffix(" (as IPv6)") in body(response)["errors"][0]["message"]


def test_plain_http_is_a_422_unless_private_networks_are_allowed(
    invoke: Invoke, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_guard(monkeypatch, TargetGuard(NameTable({"hooks.customer.example": ["93.184.215.14"]})))
    definition = {"type": "api", "target": {"url": "http://hooks.customer.example/hook"}}
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))
    assert response["statusCode"] == 422 and body(response)["errors"][0]["field"] == "target.url"


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_a_name_that_turns_to_a_refused_address_is_refused_at_send_without_a_connection(
    invoke: Invoke, tenant: Tenant, pump: Pump, monkeypatch: pytest.MonkeyPatch, address: str, reason: str
) -> None:
    table = NameTable({"hooks.customer.example": ["93.184.215.14"]})
    use_guard(monkeypatch, TargetGuard(table))
    by_name = api_trigger(invoke, tenant, "https://hooks.customer.example/hook")
    use_guard(monkeypatch, TargetGuard(table, allow_private_networks=True))
    by_literal = api_trigger(invoke, tenant, f"https://{_host(address)}/hook")
    table.table["hooks.customer.example"] = [address]  # re-pointed after the check (DNS rebinding)
    use_guard(monkeypatch, TargetGuard(table))
    for trigger in (by_name, by_literal):
        log_id = fire(invoke, tenant, trigger["id"])
        (attempt, *_) = pump.until_attempted(tenant, log_id)["attempts"]
        assert attempt["status_code"] is None
        assert attempt["error"].startswith(
            "target refused: must be a public address, not " + reason.removesuffix(" (as IPv6)")
        )


def test_a_delivery_of_a_deleted_trigger_fails_without_a_request(invoke: Invoke, tenant: Tenant, pump: Pump) -> None:
    with Receiver() as receiver:
        trigger = api_trigger(invoke, tenant, receiver.url)
        log_id = fire(invoke, tenant, trigger["id"])
        assert invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, trigger["id"]))["statusCode"] == 204
        delivery = pump.until_settled(tenant, log_id)
        assert receiver.received == []
    assert delivery["status"] == "failed"
    assert delivery["attempts"][0]["error"] == "the trigger was deleted or has no target any more"


def test_an_endpoint_whose_certificate_does_not_verify_is_not_delivered_to(
    invoke: Invoke, tenant: Tenant, pump: Pump
) -> None:
    with Receiver(tls=True) as receiver:
        log_id = fire(invoke, tenant, api_trigger(invoke, tenant, receiver.url)["id"])
        (attempt, *_) = pump.until_attempted(tenant, log_id)["attempts"]
        assert receiver.received == []
    assert attempt["status_code"] is None
    assert attempt["error"] == "TLS handshake or certificate check failed"
