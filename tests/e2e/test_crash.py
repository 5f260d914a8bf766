"""Crash between steps: the local runtime is killed (SIGKILL) or stopped (SIGTERM, as a container
stop or a deploy does) at random moments while triggers are created and fired. After a restart no
trigger is half-made, no due fire is lost, none is logged twice; each SIGTERM exits 0 without a
traceback.

CRASH_ITERATIONS bounds the loop (8 here; `make chaos` runs 50)."""

import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2

from tests.conftest import Tenant
from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime

SOON = {"type": "scheduled", "schedule": {"interval": 1, "unit": "seconds", "is_recurring": False}}
API = {"type": "api", "payload": {"key": "value"}}


class Traffic:
    """Creates soon-due triggers and fires an api trigger with Idempotency-Keys until stopped,
    remembering every fire whose answer it never got (to retry it with the same key)."""

    def __init__(self, runtime: Runtime, token: str, api_trigger: str, unanswered: dict[str, dict[str, str]]) -> None:
        self.runtime, self.token, self.api_trigger, self.unanswered = runtime, token, api_trigger, unanswered
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.runtime.request("POST", "/triggers", SOON, token=self.token)
            except OSError:
                return
            key = str(uuid.uuid4())
            body = {"key": key[:8]}
            self.unanswered[key] = body
            try:
                reply = self.runtime.request(
                    "POST",
                    f"/triggers/{self.api_trigger}/fire",
                    body,
                    token=self.token,
                    headers={"Idempotency-Key": key},
                )
            except OSError:
                return
            if reply.status == 201:
                del self.unanswered[key]


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_killing_or_stopping_the_runtime_at_random_moments_loses_and_duplicates_nothing(
    database_url: str, make_tenant: Any, tmp_path: Path
) -> None:
    iterations = int(os.environ.get("CRASH_ITERATIONS", "8"))
    tenant: Tenant = make_tenant()
    env = {"DATABASE_URL": database_url, "API_TOKEN": SHARED_TOKEN, "LOCAL_DATA_DIR": str(tmp_path)}
    rng = random.Random(os.environ.get("CRASH_SEED", "7"))
    unanswered: dict[str, dict[str, str]] = {}

    log_path = tmp_path / "runtime.log"
    runtime = start_runtime(env, log_path)
    api_trigger = runtime.request("POST", "/triggers", API, token=tenant.token).json["id"]
    for iteration in range(iterations):
        traffic = Traffic(runtime, tenant.token, api_trigger, unanswered)
        worker = threading.Thread(target=traffic.run)
        worker.start()
        time.sleep(rng.uniform(0.2, 1.5))
        if iteration % 2:
            offset = log_path.stat().st_size
            status = stop_runtime(runtime)  # SIGTERM: in-flight requests and the scheduler's batch finish
            output = log_path.read_text()[offset:]
            assert status == 0, output[-3000:]
            assert "Traceback" not in output, output[-3000:]
        else:
            runtime.kill()  # SIGKILL: no cleanup, mid-request, mid-transaction
        traffic.stop.set()
        worker.join(timeout=30)
        runtime = start_runtime(env, log_path)

    try:
        for key, body in list(unanswered.items()):  # a client retries what it never heard back about
            reply = runtime.request(
                "POST", f"/triggers/{api_trigger}/fire", body, token=tenant.token, headers={"Idempotency-Key": key}
            )
            assert reply.status == 201, reply.raw
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pending = query(
                database_url,
                "SELECT count(*) FROM triggers t WHERE t.tenant_id = %s AND t.type = 'scheduled' AND NOT EXISTS "
                "(SELECT 1 FROM event_logs l WHERE l.trigger_id = t.id AND l.source = 'scheduled')",
                str(tenant.id),
            )[0][0]
            if pending == 0:
                break
            time.sleep(0.5)
    finally:
        stop_runtime(runtime)

    scheduled = query(
        database_url, "SELECT id FROM triggers WHERE tenant_id = %s AND type = 'scheduled'", str(tenant.id)
    )
    assert len(scheduled) >= iterations, "the loop should have created triggers"
    per_trigger = dict(
        query(
            database_url,
            "SELECT trigger_id, count(*) FROM event_logs WHERE tenant_id = %s AND source = 'scheduled' GROUP BY 1",
            str(tenant.id),
        )
    )
    lost = [row[0] for row in scheduled if row[0] not in per_trigger]
    doubled = {k: v for k, v in per_trigger.items() if v != 1}
    assert not lost, f"{len(lost)} due fires were lost"
    assert not doubled, f"fires logged more than once: {doubled}"
    keys = query(
        database_url,
        "SELECT count(*), count(DISTINCT log_id) FROM idempotency_keys WHERE tenant_id = %s",
        str(tenant.id),
    )[0]
    api_logs = query(
        database_url, "SELECT count(*) FROM event_logs WHERE trigger_id = %s AND source = 'api'", api_trigger
    )[0][0]
    assert keys[0] == keys[1] == api_logs, f"one log per Idempotency-Key: keys={keys}, logs={api_logs}"
