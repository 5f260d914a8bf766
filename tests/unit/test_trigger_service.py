"""The trigger service's rules, on in-memory fakes: creation, reads, the rule of PUT, deletion."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from tests.builders import definition
from tests.unit.fakes import FakeUnitOfWork
from trigger_platform import triggers
from trigger_platform.clock import ManualClock
from trigger_platform.errors import InvalidInput, NotFound, PreconditionFailed, QuotaExceeded, ServiceUnavailable
from trigger_platform.reconcile import reconcile
from trigger_platform.records import Trigger
from trigger_platform.views import TriggerView

START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
IN_30_MINUTES = {"type": "scheduled", "name": "once", "schedule": {"interval": 30, "unit": "minutes"}}
HOURLY = {"type": "scheduled", "name": "hourly", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
API = {"type": "api", "name": "orders", "payload": {"key": "value"}}
TENANT = uuid4()


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def create(uow: FakeUnitOfWork, clock: ManualClock, document: dict[str, Any]) -> Trigger:
    return triggers.create_trigger(TENANT, definition(document), uow=uow, clock=clock)


def edit(uow: FakeUnitOfWork, clock: ManualClock, trigger: Trigger, document: dict[str, Any]) -> Trigger:
    return triggers.replace_trigger(TENANT, str(trigger.id), definition(document), uow=uow, clock=clock)


def view(trigger: Trigger) -> TriggerView:
    return TriggerView.of(trigger, "https://api.example")


def completed(uow: FakeUnitOfWork, trigger: Trigger) -> Trigger:
    """The trigger as its one fire leaves it."""
    done = replace(trigger, status="completed", next_fire_at=None)
    uow.triggers.rows[trigger.id] = done
    return done


# Creation --------------------------------------------------------------------------------------


def test_a_scheduled_trigger_is_armed_now_with_one_scheduler_call(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, IN_30_MINUTES)
    assert trigger.next_fire_at == START + timedelta(minutes=30)
    assert (trigger.armed_at, trigger.armed_version, trigger.status) == (START, 1, "active")
    assert uow.scheduler.calls == ["create"] and uow.commits == 1
    assert uow.triggers.get(TENANT, trigger.id) == trigger


def test_an_api_trigger_needs_no_schedule(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, API)
    assert trigger.next_fire_at is None and uow.scheduler.calls == []


def test_a_scheduler_that_fails_leaves_no_trigger(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    uow.scheduler.failing = True
    with pytest.raises(ServiceUnavailable):
        create(uow, clock, IN_30_MINUTES)
    assert uow.triggers.rows == {}


def test_a_moment_in_the_past_is_refused_naming_the_field(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput) as raised:
        create(uow, clock, {"type": "scheduled", "schedule": {"at": (START - timedelta(seconds=1)).isoformat()}})
    assert [e.field for e in raised.value.errors] == ["schedule.at"]


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_blank_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        definition({**API, "name": name})


# Reads -----------------------------------------------------------------------------------------


def test_another_tenants_or_a_malformed_id_is_not_found(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, API)
    for tenant, trigger_id in ((uuid4(), str(trigger.id)), (TENANT, "not-an-id"), (TENANT, str(uuid4()))):
        with pytest.raises(NotFound):
            triggers.get_trigger(tenant, trigger_id, store=uow.triggers)


def test_pages_follow_creation_order_and_end_without_a_cursor(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    made = []
    for _ in range(5):
        made.append(create(uow, clock, API).id)
        clock.advance(timedelta(milliseconds=5))
    first = triggers.list_triggers(TENANT, 3, store=uow.triggers)
    second = triggers.list_triggers(TENANT, 3, first.next_cursor, store=uow.triggers)
    assert [t.id for t in first.triggers + second.triggers] == made
    assert second.next_cursor is None


# The rule of PUT -------------------------------------------------------------------------------


def test_renaming_a_fired_one_time_trigger_keeps_it_completed(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = completed(uow, create(uow, clock, IN_30_MINUTES))
    clock.advance(timedelta(hours=1))
    renamed = edit(uow, clock, trigger, {**IN_30_MINUTES, "name": "renamed"})
    assert (renamed.status, renamed.next_fire_at, renamed.version) == ("completed", None, 2)
    assert renamed.definition.name == "renamed"
    assert uow.scheduler.calls == ["create"]  # no second schedule, so no second fire


def test_renaming_a_pending_interval_does_not_restart_it(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, IN_30_MINUTES)
    clock.advance(timedelta(minutes=10))
    renamed = edit(uow, clock, trigger, {**IN_30_MINUTES, "name": "renamed"})
    assert renamed.next_fire_at == START + timedelta(minutes=30)
    assert (renamed.armed_at, renamed.armed_version) == (START, 1)
    assert uow.scheduler.calls == ["create"]


def test_renaming_a_fired_at_trigger_with_the_same_moment_is_accepted(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    at = {"type": "scheduled", "schedule": {"at": (START + timedelta(minutes=5)).isoformat()}}
    trigger = completed(uow, create(uow, clock, at))
    clock.advance(timedelta(hours=1))
    assert edit(uow, clock, trigger, {**at, "name": "renamed"}).status == "completed"


def test_a_new_schedule_re_arms_from_now(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = completed(uow, create(uow, clock, IN_30_MINUTES))
    clock.advance(timedelta(hours=1))
    rearmed = edit(uow, clock, trigger, HOURLY)
    assert rearmed.status == "active"
    assert rearmed.next_fire_at == clock.now() + timedelta(hours=1)
    assert (rearmed.armed_at, rearmed.armed_version) == (clock.now(), 2)
    assert uow.scheduler.schedules[trigger.id].armed_version == 2
    assert uow.scheduler.calls == ["create", "replace"]


def test_pausing_shows_paused_and_resuming_keeps_the_phase(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, HOURLY)
    clock.advance(timedelta(minutes=20))
    paused = edit(uow, clock, trigger, {**HOURLY, "enabled": False})
    assert view(paused).status == "paused"
    assert view(paused).details.next_fire_at is None  # type: ignore[union-attr]
    assert uow.scheduler.schedules[trigger.id].definition.enabled is False
    clock.advance(timedelta(hours=3, minutes=10))  # 3 h 30 min after it was armed
    resumed = edit(uow, clock, paused, HOURLY)
    assert view(resumed).status == "active"
    assert resumed.next_fire_at == START + timedelta(hours=4)
    assert resumed.armed_version == 1  # deliveries armed at creation stay valid


def test_a_one_time_schedule_that_passed_while_paused_cannot_resume(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, {**IN_30_MINUTES, "enabled": False})
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidInput) as raised:
        edit(uow, clock, trigger, IN_30_MINUTES)
    assert [e.field for e in raised.value.errors] == ["enabled"]


def test_becoming_an_api_trigger_removes_the_schedule(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, HOURLY)
    assert edit(uow, clock, trigger, API).next_fire_at is None
    assert uow.scheduler.schedules == {}


def test_a_stale_if_match_is_refused(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, API)
    with pytest.raises(PreconditionFailed):
        triggers.replace_trigger(TENANT, str(trigger.id), definition(API), uow=uow, clock=clock, expected_version=7)


def test_a_scheduler_that_fails_during_an_edit_keeps_the_old_version(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, IN_30_MINUTES)
    uow.scheduler.failing = True
    with pytest.raises(ServiceUnavailable):
        edit(uow, clock, trigger, HOURLY)
    assert uow.triggers.get(TENANT, trigger.id) == trigger


# Deletion --------------------------------------------------------------------------------------


def test_deleting_removes_the_trigger_and_its_schedule(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    trigger = create(uow, clock, HOURLY)
    with pytest.raises(NotFound):
        triggers.delete_trigger(uuid4(), str(trigger.id), uow=uow)
    triggers.delete_trigger(TENANT, str(trigger.id), uow=uow)
    assert uow.triggers.rows == {} and uow.scheduler.schedules == {}


# Drift -----------------------------------------------------------------------------------------


def test_reconcile_recreates_missing_schedules_and_removes_orphans(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    kept, lost = create(uow, clock, HOURLY), create(uow, clock, HOURLY)
    del uow.scheduler.schedules[lost.id]
    orphan = create(uow, clock, HOURLY)
    del uow.triggers.rows[orphan.id]
    looked = reconcile(store=uow.triggers, scheduler=uow.scheduler, repair=False)
    assert (looked.missing, looked.orphaned, looked.repaired) == ([lost.id], [orphan.id], False)
    reconcile(store=uow.triggers, scheduler=uow.scheduler)
    assert uow.scheduler.trigger_ids() == {kept.id, lost.id}


# Quotas ----------------------------------------------------------------------------------------


def test_a_tenant_at_its_trigger_quota_is_refused_naming_it(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    quotas = triggers.Quotas(triggers=2, enabled_recurring=10)
    for _ in range(2):
        triggers.create_trigger(TENANT, definition(API), uow=uow, clock=clock, quotas=quotas)
    with pytest.raises(QuotaExceeded) as raised:
        triggers.create_trigger(TENANT, definition(API), uow=uow, clock=clock, quotas=quotas)
    assert (raised.value.quota, raised.value.limit, raised.value.current) == ("triggers", 2, 2)
    triggers.create_trigger(uuid4(), definition(API), uow=uow, clock=clock, quotas=quotas)  # others are unaffected


def test_enabled_recurring_triggers_have_a_quota_of_their_own(uow: FakeUnitOfWork, clock: ManualClock) -> None:
    quotas = triggers.Quotas(triggers=10, enabled_recurring=1)
    paused = triggers.create_trigger(
        TENANT, definition({**HOURLY, "enabled": False}), uow=uow, clock=clock, quotas=quotas
    )
    triggers.create_trigger(TENANT, definition(HOURLY), uow=uow, clock=clock, quotas=quotas)
    triggers.create_trigger(TENANT, definition(IN_30_MINUTES), uow=uow, clock=clock, quotas=quotas)  # one-time: fine
    with pytest.raises(QuotaExceeded) as raised:
        triggers.create_trigger(TENANT, definition(HOURLY), uow=uow, clock=clock, quotas=quotas)
    assert raised.value.quota == "enabled_recurring_triggers"
    with pytest.raises(QuotaExceeded):  # resuming a paused one counts too
        triggers.replace_trigger(TENANT, str(paused.id), definition(HOURLY), uow=uow, clock=clock, quotas=quotas)
