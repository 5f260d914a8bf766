"""The firing rules, on in-memory fakes: api fires and their Idempotency-Keys, manual tests, and
scheduled fires logged once per due time, whatever is delivered and however often."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.builders import definition
from tests.unit.fakes import FakeCache, FakeUnitOfWork
from trigger_platform import firing, triggers
from trigger_platform.clock import ManualClock
from trigger_platform.errors import Conflict, InvalidInput, NotFound
from trigger_platform.fire_input import ScheduledFire
from trigger_platform.records import Trigger

START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
TENANT = uuid4()
API = {"type": "api", "payload": {"key": "value"}, "schema": {"key": "string", "note": "string?"}}
HOURLY = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
ONCE = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes"}}


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def cache() -> FakeCache:
    return FakeCache()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def create(uow: FakeUnitOfWork, clock: ManualClock, document: dict[str, Any]) -> Trigger:
    return triggers.create_trigger(TENANT, definition(document), uow=uow, clock=clock)


def fire_api(
    uow: FakeUnitOfWork,
    cache: FakeCache,
    clock: ManualClock,
    trigger: Trigger,
    body: Any,
    key: str | None = None,
    warm: firing.WarmTriggers | None = None,
) -> firing.FireResult:
    return firing.fire_api_trigger(TENANT, str(trigger.id), body, key, uow=uow, cache=cache, clock=clock, warm=warm)


def due(trigger: Trigger, at: datetime | None = None, version: int | None = None) -> ScheduledFire:
    scheduled_time = at or trigger.next_fire_at
    assert scheduled_time is not None
    return ScheduledFire(
        trigger_id=trigger.id,
        tenant_id=trigger.tenant_id,
        version=trigger.armed_version if version is None else version,
        scheduled_time=scheduled_time,
    )


def fire_scheduled(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock, *fires: ScheduledFire
) -> list[str | None]:
    outcomes = firing.fire_scheduled(list(fires), uow=uow, cache=cache, clock=clock)
    return [outcome.skipped for outcome in outcomes]


# API fires -------------------------------------------------------------------------------------


def test_a_fire_overlays_the_body_and_invalidates_the_tenants_reads(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger = create(uow, clock, API)
    result = fire_api(uow, cache, clock, trigger, {"key": "other", "note": "hi"})
    (log,) = uow.logs.logs
    assert (log.id, log.payload, log.source) == (result.log_id, {"key": "other", "note": "hi"}, "api")
    assert cache.generations[TENANT] == 1


@pytest.mark.parametrize(("body", "field"), [({"key": 5}, "key"), ({"unknown": "x"}, "unknown"), ({"key": {}}, "key")])
def test_a_body_that_does_not_fit_names_the_key_and_logs_nothing(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock, body: dict[str, Any], field: str
) -> None:
    trigger = create(uow, clock, API)
    with pytest.raises(InvalidInput) as raised:
        fire_api(uow, cache, clock, trigger, body)
    assert [e.field for e in raised.value.errors] == [field]
    assert uow.logs.logs == []


def test_scheduled_and_paused_triggers_are_not_fired_by_a_call(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    for document in (HOURLY, {**API, "enabled": False}):
        with pytest.raises(Conflict):
            fire_api(uow, cache, clock, create(uow, clock, document), {})


def test_an_idempotency_key_fires_once_and_refuses_another_body(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger = create(uow, clock, API)
    first = fire_api(uow, cache, clock, trigger, {"key": "a"}, "order-42")
    again = fire_api(uow, cache, clock, trigger, {"key": "a"}, "order-42")
    assert (again.log_id, again.replayed) == (first.log_id, True)
    assert len(uow.logs.logs) == 1
    with pytest.raises(InvalidInput) as raised:
        fire_api(uow, cache, clock, trigger, {"key": "b"}, "order-42")
    assert raised.value.errors[0].field == "Idempotency-Key"
    clock.advance(firing.IDEMPOTENCY_TTL + timedelta(seconds=1))
    assert not fire_api(uow, cache, clock, trigger, {"key": "b"}, "order-42").replayed


class CountingReads:
    """Counts the trigger reads a fire makes."""

    def __init__(self, uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        read = uow.triggers.get

        def counted(tenant_id: UUID, trigger_id: UUID) -> Trigger | None:
            self.reads += 1
            return read(tenant_id, trigger_id)

        monkeypatch.setattr(uow.triggers, "get", counted)


def test_a_warm_fire_does_not_read_its_trigger_again(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger, warm, counting = create(uow, clock, API), firing.WarmTriggers(), CountingReads(uow, monkeypatch)
    for key in (None, "k1", "k1", None):
        fire_api(uow, cache, clock, trigger, {"key": "a"}, key, warm=warm)
    assert counting.reads == 1
    assert len(uow.logs.logs) == 3


def test_a_warm_copy_of_an_edited_trigger_is_judged_by_the_edit(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger, warm = create(uow, clock, API), firing.WarmTriggers()
    fire_api(uow, cache, clock, trigger, {}, warm=warm)
    edited = {**API, "payload": {"key": "new"}, "schema": {"key": "string", "count": "integer?"}}
    triggers.replace_trigger(TENANT, str(trigger.id), definition(edited), uow=uow, clock=clock)
    fire_api(uow, cache, clock, trigger, {"count": 2}, warm=warm)  # a key the warm copy's schema lacks
    assert uow.logs.logs[-1].payload == {"key": "new", "count": 2}
    triggers.replace_trigger(TENANT, str(trigger.id), definition({**API, "enabled": False}), uow=uow, clock=clock)
    with pytest.raises(Conflict):
        fire_api(uow, cache, clock, trigger, {}, warm=warm)
    triggers.delete_trigger(TENANT, str(trigger.id), uow=uow)
    with pytest.raises(NotFound):
        fire_api(uow, cache, clock, trigger, {}, warm=warm)
    assert len(uow.logs.logs) == 2


def test_warm_triggers_keep_only_the_latest_fired() -> None:
    warm, kept = firing.WarmTriggers(capacity=2), []
    for _ in range(3):
        trigger = triggers.create_trigger(TENANT, definition(API), uow=FakeUnitOfWork(), clock=ManualClock(START))
        warm.keep(trigger)
        kept.append(trigger)
    assert [warm.get(TENANT, t.id) for t in kept] == [None, kept[1], kept[2]]


# Manual tests ----------------------------------------------------------------------------------


def test_a_saved_trigger_tested_now_logs_a_test_and_leaves_its_schedule(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger = create(uow, clock, HOURLY)
    outcome = firing.test_trigger(TENANT, str(trigger.id), uow=uow, cache=cache, clock=clock)
    assert outcome.log is not None and outcome.log.is_test and outcome.log.trigger_id == trigger.id
    assert uow.triggers.get(TENANT, trigger.id) == trigger
    with pytest.raises(NotFound):
        firing.test_trigger(uuid4(), str(trigger.id), uow=uow, cache=cache, clock=clock)


def test_a_test_that_cannot_be_logged_says_why(uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock) -> None:
    uow.logs.down = True
    outcome = firing.test_definition(TENANT, definition(API), uow=uow, cache=cache, clock=clock)
    assert outcome.log is None and outcome.failure and outcome.retry_after_s > 0


def test_an_unsaved_definition_is_checked_as_creation_checks_it(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    past = {"type": "scheduled", "schedule": {"at": (START - timedelta(days=1)).isoformat()}}
    with pytest.raises(InvalidInput):
        firing.test_definition(TENANT, definition(past), uow=uow, cache=cache, clock=clock)


# Scheduled fires -------------------------------------------------------------------------------


def test_a_due_time_is_logged_once_however_often_it_is_delivered(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger = create(uow, clock, ONCE)
    assert fire_scheduled(uow, cache, clock, due(trigger), due(trigger)) == [None, "duplicate"]
    assert fire_scheduled(uow, cache, clock, due(trigger)) == ["duplicate"]
    assert len(uow.logs.logs) == 1
    fired = uow.triggers.get(TENANT, trigger.id)
    assert fired is not None and (fired.status, fired.next_fire_at) == ("completed", None)


def test_a_batch_moves_a_recurring_trigger_to_after_its_latest_due_time(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger = create(uow, clock, HOURLY)
    first = START + timedelta(hours=1)
    later = due(trigger, first + timedelta(hours=1))
    assert fire_scheduled(uow, cache, clock, later, due(trigger, first)) == [None, None]
    moved = uow.triggers.get(TENANT, trigger.id)
    assert moved is not None and moved.next_fire_at == first + timedelta(hours=2)


def test_a_rename_does_not_make_armed_deliveries_stale(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    trigger = create(uow, clock, HOURLY)
    delivery = due(trigger)
    triggers.replace_trigger(TENANT, str(trigger.id), definition({**HOURLY, "name": "renamed"}), uow=uow, clock=clock)
    assert fire_scheduled(uow, cache, clock, delivery) == [None]


def test_deliveries_of_an_older_schedule_a_paused_or_a_deleted_trigger_are_skipped(
    uow: FakeUnitOfWork, cache: FakeCache, clock: ManualClock
) -> None:
    rearmed = create(uow, clock, HOURLY)
    old = due(rearmed)
    triggers.replace_trigger(TENANT, str(rearmed.id), definition(ONCE), uow=uow, clock=clock)
    paused = create(uow, clock, {**HOURLY, "enabled": False})
    deleted = create(uow, clock, HOURLY)
    gone = due(deleted)
    triggers.delete_trigger(TENANT, str(deleted.id), uow=uow)
    foreign = due(create(uow, clock, HOURLY)).model_copy(update={"tenant_id": uuid4()})
    outcomes = fire_scheduled(uow, cache, clock, old, due(paused, START + timedelta(hours=1)), gone, foreign)
    assert sorted(outcomes, key=str) == ["deleted", "deleted", "paused", "stale_version"]
    assert uow.logs.logs == []
