"""Delivery through the local runtime (``python -m local``): its delivery loop feeds the delivery
function from the outbox; receivers on loopback verify every signature with Standard Webhooks."""

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.conftest import SERVER_URL, Tenant, _with_database
from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime
from tests.e2e.test_crash import query
from tests.receivers import Answer, Receiver
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.token_store import PostgresTokenStore
from trigger_platform.auth import create_tenant

DELIVERY_ENV = {"DELIVERY_ALLOW_PRIVATE_NETWORKS": "true", "DELIVERY_RETRY_SCHEDULE": "0.2,0.4,0.8,1.6"}


@contextmanager
def fresh_database() -> Iterator[str]:
    """A database of its own, so that no other runtime's delivery loop shares its outbox (nor holds
    the background loops' leadership over it): the runtime started on it migrates it."""
    name = f"etp_delivery_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield _with_database(SERVER_URL, name)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def own_database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def delivery_database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def delivering(delivery_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    log_path = tmp_path_factory.mktemp("delivering") / "local.log"
    env = {"DATABASE_URL": delivery_database, "API_TOKEN": SHARED_TOKEN, "LOCAL_DATA_DIR": str(log_path.parent)}
    runtime = start_runtime({**env, **DELIVERY_ENV}, log_path)
    yield runtime
    stop_runtime(runtime)


@pytest.fixture
def make_tenant(delivering: Runtime, delivery_database: str) -> Iterator[Any]:
    """Tenants of the delivering runtime's database (which it migrated at start)."""
    db = Database(lambda: delivery_database)

    def make() -> Tenant:
        tenant_id, token = create_tenant(f"tenant-{uuid.uuid4().hex[:8]}", tokens=PostgresTokenStore(db))
        return Tenant(tenant_id, token)

    yield make
    db.close()


def target_trigger(runtime: Runtime, token: str, url: str, **definition: Any) -> dict[str, Any]:
    body = {"type": "api", "payload": {"key": "value"}, "target": {"url": url}, **definition}
    reply = runtime.request("POST", "/triggers", body, token=token)
    assert reply.status == 201, reply.raw
    return reply.json["trigger"]  # type: ignore[no-any-return]


def test_a_scheduled_fire_reaches_the_endpoint_signed(delivering: Runtime, make_tenant: Any) -> None:
    tenant: Tenant = make_tenant()
    with Receiver() as receiver:
        schedule = {"interval": 1, "unit": "seconds", "is_recurring": False}
        trigger = target_trigger(delivering, tenant.token, receiver.url, type="scheduled", schedule=schedule)
        (received,) = receiver.wait_for(1, timeout_s=15)
    assert received.verifies_with(trigger["target"]["secret"])
    assert (received.json["source"], received.json["trigger_id"]) == ("scheduled", trigger["id"])
    log = delivering.request("GET", f"/logs/{received.json['id']}", token=tenant.token).json
    deadline = time.monotonic() + 5
    while log["delivery"]["status"] != "delivered" and time.monotonic() < deadline:
        time.sleep(0.1)
        log = delivering.request("GET", f"/logs/{received.json['id']}", token=tenant.token).json
    assert log["delivery"]["status"] == "delivered"
    assert trigger["target"]["secret"] not in delivering.log_path.read_text(), "a signing secret reached the logs"


def test_a_hung_endpoint_of_one_tenant_does_not_delay_another_tenants_deliveries(
    delivering: Runtime, make_tenant: Any
) -> None:
    slow_tenant, other_tenant = make_tenant(), make_tenant()
    with Receiver(then=Answer(delay_s=30)) as hung, Receiver() as ok:
        stuck = target_trigger(delivering, slow_tenant.token, hung.url)
        for _ in range(25):
            assert (
                delivering.request("POST", f"/triggers/{stuck['id']}/fire", {}, token=slow_tenant.token).status == 201
            )
        hung.wait_for(1, timeout_s=5)
        time.sleep(1)  # its first attempts hang (for 10 s), the rest wait their turn
        in_flight = len(hung.received)
        fine = target_trigger(delivering, other_tenant.token, ok.url)
        started = time.monotonic()
        assert delivering.request("POST", f"/triggers/{fine['id']}/fire", {}, token=other_tenant.token).status == 201
        ok.wait_for(1, timeout_s=15)
        waited = time.monotonic() - started
    assert 1 <= in_flight <= 10, "a host has one batch (at most 10 attempts) in flight"
    assert waited < 2, f"the other tenant waited {waited:.1f} s behind a hung endpoint"


def test_killing_the_runtime_between_logging_and_sending_loses_no_delivery(own_database: str, tmp_path: Path) -> None:
    """SIGKILL at random moments while an endpoint is being delivered to: every log of the trigger
    is delivered after restarts, and a delivery sent twice carries the same webhook-id."""
    database_url, token = own_database, "etp_crash-" + os.urandom(12).hex()
    env = {
        "DATABASE_URL": database_url,
        "API_TOKEN": token,
        "LOCAL_DATA_DIR": str(tmp_path),
        "DELIVERY_ATTEMPT_TIMEOUT_S": "1",  # leases of 3 s, so a killed attempt comes back soon
        "LOCAL_DELIVERY_VISIBILITY_S": "3",
        **DELIVERY_ENV,
    }
    rng = random.Random(os.environ.get("CRASH_SEED", "15"))
    with Receiver(then=Answer(delay_s=0.15)) as receiver:
        runtime = start_runtime(env, tmp_path / "runtime.log")
        trigger = target_trigger(runtime, token, receiver.url)
        for _ in range(int(os.environ.get("CRASH_ITERATIONS", "5"))):
            stop = threading.Event()

            def traffic(current: Runtime = runtime, stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    try:
                        current.request("POST", f"/triggers/{trigger['id']}/fire", {}, token=token)
                    except OSError:
                        return

            worker = threading.Thread(target=traffic)
            worker.start()
            time.sleep(rng.uniform(0.3, 1.2))
            runtime.process.kill()  # mid-request, mid-transaction, mid-delivery
            runtime.process.wait()
            stop.set()
            worker.join(timeout=30)
            runtime = start_runtime(env, tmp_path / "runtime.log")
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                (pending,) = query(
                    database_url,
                    "SELECT count(*) FROM deliveries WHERE trigger_id = %s AND status <> 'delivered'",
                    trigger["id"],
                )[0]
                if pending == 0:
                    break
                time.sleep(0.5)
        finally:
            stop_runtime(runtime)
        received = list(receiver.received)
    logs = {
        str(row[0]) for row in query(database_url, "SELECT id FROM event_logs WHERE trigger_id = %s", trigger["id"])
    }
    outbox = dict(
        query(database_url, "SELECT log_id::text, status FROM deliveries WHERE trigger_id = %s", trigger["id"])
    )
    assert logs, "the traffic should have fired"
    assert set(outbox) == logs, "every log has its outbox row (written in the same transaction)"
    assert set(outbox.values()) == {"delivered"}
    secret = trigger["target"]["secret"]
    assert all(r.verifies_with(secret) and r.headers["webhook-id"] == r.json["id"] for r in received)
    assert {r.json["id"] for r in received} == logs, "every log reached the endpoint"
