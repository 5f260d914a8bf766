"""What a fire costs beyond the one INSERT every fire must make (issue 16).

- POST /triggers/{id}/fire through FireTriggerFunction (events/fire_trigger.json, body
  {"key": "other"} over the payload {"key": "value"}), without an Idempotency-Key and with a new
  one each call, vs one bare INSERT of an event log: target ≤ 1.5x each.
- A scheduled fire through FireScheduledFunction (events/fire_scheduled-due.json for a recurring
  trigger, a new scheduled time each call, so each one logs) vs the same bare INSERT: ≤ 1.5x.

The bare INSERT is the statement PostgresLogStore.insert renders for a new log, sent on a bare
autocommit connection; all four take turns in every round. The fires invalidate the tenant's
cached reads in Redis (REDIS_URL), as deployed with Redis. About 1-1.5 minutes here.
"""

import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from common import (
    API_TRIGGER,
    Case,
    Functions,
    StatementRecorder,
    api_event,
    connect,
    create_triggers,
    fresh_database,
    heading,
    interleaved,
    new_tenant,
    replay,
    show_ratio,
)

from tests.conftest import load_event
from trigger_platform.adapters.log_store import PostgresLogStore
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.ids import new_id
from trigger_platform.records import EventLog, Trigger

RECURRING_TRIGGER = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
BODY = {"key": "other"}
WARMUP, RUNS = 300, 3_000
TARGET = 1.5


def api_fire(functions: Functions, tenant: Any, trigger: Trigger, keyed: bool) -> Case:
    run = uuid.uuid4().hex[:8]

    def case(n: int) -> Any:
        headers = {"Idempotency-Key": f"bench-{run}-{n}"} if keyed else {}
        event = api_event("fire_trigger", tenant, trigger_id=str(trigger.id), body=BODY, headers=headers)
        if not keyed:
            del event["headers"]["Idempotency-Key"], event["multiValueHeaders"]["Idempotency-Key"]

        def call() -> None:
            response = functions.invoke("FireTriggerFunction", event)
            assert response["statusCode"] == 201, response
            assert "Idempotent-Replayed" not in (response.get("multiValueHeaders") or {}), response

        return call

    return case


def scheduled_fire(functions: Functions, trigger: Trigger) -> Case:
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def case(n: int) -> Any:
        event = load_event("fire_scheduled-due") | {
            "trigger_id": str(trigger.id),
            "tenant_id": str(trigger.tenant_id),
            "version": trigger.armed_version,
            "scheduled_time": (first + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

        def call() -> None:
            outcome = functions.invoke("FireScheduledFunction", event)
            assert outcome["status"] == "fired", outcome

        return call

    return case


def bare_insert(url: str, bare: Any, trigger: Trigger, recorder: StatementRecorder) -> Case:
    """The INSERT the log store renders for a new log of the trigger (its partition made for real)."""
    store = PostgresLogStore(recorder, LogPartitions(Database(lambda: url)))

    def case(n: int) -> Any:
        now = datetime.now(UTC)
        store.insert(EventLog(new_id(now), trigger.tenant_id, trigger.id, "api", "api", False, None, now, BODY))
        statements = recorder.take()
        return lambda: replay(bare, statements)

    return case


def main() -> None:
    started = time.perf_counter()
    functions = Functions()
    with fresh_database() as url, closing(connect(url)) as conn, closing(StatementRecorder(url, send=False)) as rec:
        tenant = new_tenant("fire")
        (api_trigger,) = create_triggers(url, tenant, API_TRIGGER, 1)
        (recurring,) = create_triggers(url, tenant, RECURRING_TRIGGER, 1)
        samples = interleaved(
            {
                "api fire": api_fire(functions, tenant, api_trigger, keyed=False),
                "api fire, Idempotency-Key": api_fire(functions, tenant, api_trigger, keyed=True),
                "scheduled fire": scheduled_fire(functions, recurring),
                "bare INSERT": bare_insert(url, conn.cursor(), api_trigger, rec),
            },
            warmup=WARMUP,
            runs=RUNS,
        )
    heading(f"fires through their handlers vs one bare INSERT, {RUNS:,} runs each after {WARMUP} of warm-up, in turns")
    show_ratio("POST /triggers/{id}/fire, no Idempotency-Key", samples["api fire"], samples["bare INSERT"], TARGET)
    show_ratio(
        "POST /triggers/{id}/fire, a new Idempotency-Key",
        samples["api fire, Idempotency-Key"],
        samples["bare INSERT"],
        TARGET,
    )
    show_ratio("FireScheduledFunction, a new due time", samples["scheduled fire"], samples["bare INSERT"], TARGET)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine)")


if __name__ == "__main__":
    main()
