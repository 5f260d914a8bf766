"""Scheduled triggers: the fire function (exactly one log per due time) and the local scheduler."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg2
import pytest

from local.scheduler import SchedulerLoop
from local.schedules import LocalScheduler
from tests.conftest import UNREACHABLE_URL, Tenant, api_event, database_down, load_event
from tests.integration.conftest import Invoke, body, concurrently
from trigger_platform import firing
from trigger_platform.adapters.cache import MemoryCache
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
from trigger_platform.clock import ManualClock
from trigger_platform.edge import wiring
from trigger_platform.errors import ServiceUnavailable
from trigger_platform.fire_input import ScheduledFire

ONE_TIME = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
EVERY_MINUTE = {"type": "scheduled", "schedule": {"interval": 1, "unit": "minutes", "is_recurring": True}}


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """Every handler in this process reads this clock while the test runs. It starts a day ahead:
    the session's local runtime (tests/e2e) runs its scheduler on this database by the real clock,
    and would otherwise fire the schedules these tests make as they come due, before their loops."""
    manual = ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(days=1))
    wiring.use_clock(manual)
    yield manual
    wiring.use_clock(wiring.SystemClock())


def create(invoke: Invoke, tenant: Tenant, definition: Any) -> dict[str, Any]:
    response = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant, body=definition))
    assert response["statusCode"] == 201, response["body"]
    return body(response)["trigger"]  # type: ignore[no-any-return]


def due_event(trigger: dict[str, Any], tenant: Tenant, scheduled: str | None = None) -> dict[str, Any]:
    event = load_event("fire_scheduled-due")
    event.update(trigger_id=trigger["id"], tenant_id=str(tenant.id), version=trigger["version"])
    event["scheduled_time"] = scheduled or trigger["details"]["next_fire_at"]
    return event


def scheduled_logs(database_url: str, trigger_id: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT scheduled_for, fired_at, source FROM event_logs WHERE trigger_id = %s ORDER BY scheduled_for",
            (trigger_id,),
        )
        return cur.fetchall()


def unit_of_work(db: Database) -> PostgresUnitOfWork:
    return PostgresUnitOfWork(db, LogPartitions(db), lambda: LocalScheduler(db))


def get(invoke: Invoke, tenant: Tenant, trigger_id: str) -> dict[str, Any]:
    return body(invoke("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id)))  # type: ignore[no-any-return]


def test_a_due_time_is_logged_once_and_a_one_time_trigger_completes(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    trigger = create(invoke, tenant, ONE_TIME)
    event = due_event(trigger, tenant)
    assert invoke("FireScheduledFunction", event)["status"] == "fired"
    assert invoke("FireScheduledFunction", event) == {"status": "skipped", "reason": "duplicate"}
    ((scheduled_for, fired_at, source),) = scheduled_logs(database_url, trigger["id"])
    assert source == "scheduled"
    assert scheduled_for == datetime.fromisoformat(trigger["details"]["next_fire_at"])
    assert fired_at >= scheduled_for - timedelta(minutes=31)
    after = get(invoke, tenant, trigger["id"])
    assert after["status"] == "completed" and after["details"]["next_fire_at"] is None


def test_twenty_concurrent_deliveries_of_one_event_give_one_log(
    invoke: Invoke, tenant: Tenant, database_url: str
) -> None:
    trigger = create(invoke, tenant, EVERY_MINUTE)
    fire = ScheduledFire(
        trigger_id=UUID(trigger["id"]),
        tenant_id=tenant.id,
        version=1,
        scheduled_time=datetime.fromisoformat(trigger["details"]["next_fire_at"]),
    )

    def deliver(db: Database) -> str | None:
        (outcome,) = firing.fire_scheduled(
            [fire], uow=unit_of_work(db), cache=MemoryCache(), clock=wiring.SystemClock()
        )
        return outcome.skipped

    outcomes = concurrently(20, database_url, deliver)
    assert sorted(outcomes, key=str) == [None] + ["duplicate"] * 19
    assert len(scheduled_logs(database_url, trigger["id"])) == 1


def test_recurring_trigger_moves_its_next_fire_on(invoke: Invoke, tenant: Tenant) -> None:
    trigger = create(invoke, tenant, EVERY_MINUTE)
    invoke("FireScheduledFunction", due_event(trigger, tenant))
    after = get(invoke, tenant, trigger["id"])
    first = datetime.fromisoformat(trigger["details"]["next_fire_at"])
    assert after["status"] == "active"
    assert datetime.fromisoformat(after["details"]["next_fire_at"]) == first + timedelta(minutes=1)


def test_stale_paused_and_deleted_triggers_are_skipped(invoke: Invoke, tenant: Tenant, database_url: str) -> None:
    stale = create(invoke, tenant, EVERY_MINUTE)
    old_event = due_event(stale, tenant)
    replaced = invoke(
        "ReplaceTriggerFunction", api_event("replace_trigger", tenant, stale["id"], headers={"If-Match": "*"})
    )
    assert replaced["statusCode"] == 200
    assert invoke("FireScheduledFunction", old_event) == {"status": "skipped", "reason": "stale_version"}

    paused = create(invoke, tenant, {**EVERY_MINUTE, "enabled": False})
    assert paused["details"]["next_fire_at"] is None  # it does not fire while paused
    a_minute_in = (datetime.fromisoformat(paused["created_at"]) + timedelta(minutes=1)).isoformat()
    assert invoke("FireScheduledFunction", due_event(paused, tenant, a_minute_in))["reason"] == "paused"

    deleted = create(invoke, tenant, EVERY_MINUTE)
    invoke("DeleteTriggerFunction", api_event("delete_trigger", tenant, deleted["id"]))
    assert invoke("FireScheduledFunction", due_event(deleted, tenant))["reason"] == "deleted"
    for trigger in (stale, paused, deleted):
        assert scheduled_logs(database_url, trigger["id"]) == []


def test_a_malformed_event_is_rejected_without_retry(invoke: Invoke) -> None:
    assert invoke("FireScheduledFunction", {"trigger_id": "nope"}) == {"status": "rejected"}


def test_a_fire_while_the_database_is_down_raises_so_scheduler_retries(
    invoke: Invoke, tenant: Tenant, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = create(invoke, tenant, ONE_TIME)
    event = due_event(trigger, tenant)
    with monkeypatch.context() as patched:
        database_down(patched)
        with pytest.raises(ServiceUnavailable):
            invoke("FireScheduledFunction", event)
    assert invoke("FireScheduledFunction", event)["status"] == "fired"  # the retry
    assert invoke("FireScheduledFunction", event)["reason"] == "duplicate"
    assert len(scheduled_logs(database_url, trigger["id"])) == 1


# The local scheduler ---------------------------------------------------------------------------


def scheduler_loop(database_url: str, clock: ManualClock) -> tuple[SchedulerLoop, Database]:
    """A loop as the local runtime builds it: its own connection for claims, logs and advances."""
    db = Database(lambda: database_url)
    return SchedulerLoop(db, unit_of_work(db), MemoryCache(), clock), db


@pytest.fixture
def loop(invoke: Invoke, database_url: str, clock: ManualClock) -> Iterator[SchedulerLoop]:
    runner, db = scheduler_loop(database_url, clock)
    yield runner
    db.close()


def test_local_scheduler_fires_a_three_second_trigger_once(
    invoke: Invoke, tenant: Tenant, database_url: str, clock: ManualClock, loop: SchedulerLoop
) -> None:
    trigger = create(invoke, tenant, {"type": "scheduled", "schedule": {"interval": 3, "unit": "seconds"}})
    clock.advance(timedelta(seconds=2))
    loop.tick(clock.now())
    assert scheduled_logs(database_url, trigger["id"]) == []
    clock.advance(timedelta(seconds=1))
    loop.tick(clock.now())
    loop.tick(clock.now())
    ((scheduled_for, _, _),) = scheduled_logs(database_url, trigger["id"])
    assert scheduled_for == datetime.fromisoformat(trigger["details"]["next_fire_at"])
    assert get(invoke, tenant, trigger["id"])["status"] == "completed"


def test_local_scheduler_fires_a_recurring_trigger_on_each_tick(
    invoke: Invoke, tenant: Tenant, database_url: str, clock: ManualClock, loop: SchedulerLoop
) -> None:
    trigger = create(invoke, tenant, EVERY_MINUTE)
    first = datetime.fromisoformat(trigger["details"]["next_fire_at"])
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        loop.tick(clock.now())
    assert [row[0] for row in scheduled_logs(database_url, trigger["id"])] == [
        first + timedelta(minutes=i) for i in range(3)
    ]


def test_after_downtime_a_missed_recurring_trigger_fires_once_then_resumes(
    invoke: Invoke, tenant: Tenant, database_url: str, clock: ManualClock, loop: SchedulerLoop
) -> None:
    trigger = create(invoke, tenant, EVERY_MINUTE)
    clock.advance(timedelta(minutes=10, seconds=30))
    loop.tick(clock.now())
    assert len(scheduled_logs(database_url, trigger["id"])) == 1
    clock.advance(timedelta(seconds=30))
    loop.tick(clock.now())
    assert len(scheduled_logs(database_url, trigger["id"])) == 2


def test_two_schedulers_on_one_database_never_double_fire(
    invoke: Invoke, tenant: Tenant, database_url: str, clock: ManualClock, loop: SchedulerLoop
) -> None:
    triggers = [
        create(invoke, tenant, {"type": "scheduled", "schedule": {"interval": 1, "unit": "seconds"}}) for _ in range(30)
    ]
    clock.advance(timedelta(seconds=2))
    other, other_db = scheduler_loop(database_url, clock)
    threads = [threading.Thread(target=runner.tick, args=(clock.now(),)) for runner in (loop, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loop.tick(clock.now())
    assert all(len(scheduled_logs(database_url, t["id"])) == 1 for t in triggers)
    other_db.close()


def test_a_fire_that_fails_backs_off_alone_and_is_retried_until_it_is_logged(
    invoke: Invoke,
    tenant: Tenant,
    database_url: str,
    clock: ManualClock,
    loop: SchedulerLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing = create(invoke, tenant, {"type": "scheduled", "schedule": {"interval": 1, "unit": "seconds"}})
    healthy = create(invoke, tenant, {"type": "scheduled", "schedule": {"interval": 1, "unit": "seconds"}})
    clock.advance(timedelta(seconds=1))
    real_fire = firing.fire_scheduled

    def fire_unless_failing(fires: list[ScheduledFire], **ports: Any) -> list[firing.ScheduledFireOutcome]:
        if any(str(fire.trigger_id) == failing["id"] for fire in fires):
            raise RuntimeError("a bug in one trigger's fire")
        return real_fire(fires, **ports)

    with monkeypatch.context() as patched:
        patched.setattr(firing, "fire_scheduled", fire_unless_failing)
        assert loop.tick(clock.now()) == 2
        assert loop.tick(clock.now()) == 0  # the failed one waits for its back-off
    assert len(scheduled_logs(database_url, healthy["id"])) == 1
    assert scheduled_logs(database_url, failing["id"]) == []
    clock.advance(timedelta(seconds=1))
    assert loop.tick(clock.now()) == 1
    assert len(scheduled_logs(database_url, failing["id"])) == 1


def test_a_database_outage_fires_nothing_and_loses_nothing(
    invoke: Invoke, tenant: Tenant, database_url: str, clock: ManualClock, loop: SchedulerLoop
) -> None:
    trigger = create(invoke, tenant, {"type": "scheduled", "schedule": {"interval": 1, "unit": "seconds"}})
    clock.advance(timedelta(seconds=1))
    unreachable = Database(lambda: UNREACHABLE_URL, connect_timeout_s=1)
    cut_off = SchedulerLoop(unreachable, unit_of_work(unreachable), MemoryCache(), clock)
    with pytest.raises(ServiceUnavailable):
        cut_off.tick(clock.now())
    assert scheduled_logs(database_url, trigger["id"]) == []
    assert loop.tick(clock.now()) == 1
    assert len(scheduled_logs(database_url, trigger["id"])) == 1
