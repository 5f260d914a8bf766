"""Log reads on in-memory fakes: the lifecycle at read time, keyset pages, aggregates, and how long
each answer stays exact."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from tests.unit.fakes import FakeLogStore
from trigger_platform import logs
from trigger_platform.clock import ManualClock
from trigger_platform.errors import NotFound
from trigger_platform.ids import new_id
from trigger_platform.lifecycle import ACTIVE_FOR, RETAINED_FOR
from trigger_platform.records import EventLog, LogSource

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
TENANT = uuid4()
TRIGGER = uuid4()


def log_at(age: timedelta, source: LogSource = "api", tenant: object = TENANT) -> EventLog:
    fired_at = NOW - age
    return EventLog(new_id(fired_at), tenant, TRIGGER, "api", source, source == "test", None, fired_at, {"k": 1})  # type: ignore[arg-type]


@pytest.fixture
def store() -> FakeLogStore:
    return FakeLogStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.mark.parametrize(
    ("age", "state"),
    [
        (ACTIVE_FOR - timedelta(seconds=1), "active"),
        (ACTIVE_FOR, "archived"),
        (RETAINED_FOR - timedelta(seconds=1), "archived"),
    ],
)
def test_a_log_reads_as_active_then_archived(
    store: FakeLogStore, clock: ManualClock, age: timedelta, state: str
) -> None:
    log = log_at(age)
    store.insert(log)
    assert logs.get_log(TENANT, str(log.id), store=store, clock=clock).state == state


def test_a_log_is_gone_at_48_hours_and_for_other_tenants(store: FakeLogStore, clock: ManualClock) -> None:
    old, mine = log_at(RETAINED_FOR), log_at(timedelta(minutes=1))
    store.insert(old)
    store.insert(mine)
    for tenant, log in ((TENANT, old), (uuid4(), mine)):
        with pytest.raises(NotFound):
            logs.get_log(tenant, str(log.id), store=store, clock=clock)


def test_pages_are_newest_first_and_exact_until_the_first_state_change(store: FakeLogStore, clock: ManualClock) -> None:
    ages = [timedelta(minutes=1), timedelta(minutes=30), ACTIVE_FOR - timedelta(seconds=10), timedelta(minutes=200)]
    for age in ages:
        store.insert(log_at(age))
    first = logs.list_logs(TENANT, logs.log_filter(), 2, store=store, clock=clock)
    rest = logs.list_logs(TENANT, logs.log_filter(), 2, first.next_cursor, store=store, clock=clock)
    assert [read.log.fired_at for read in first.logs + rest.logs] == [NOW - age for age in ages]
    assert rest.next_cursor is None
    assert first.exact_until == NOW + logs.EXACT_FOR_AT_MOST  # no log in it changes state within 30 s
    assert rest.exact_until == NOW + timedelta(seconds=10)  # its first log turns archived then


def test_an_archived_page_changes_when_the_oldest_active_log_ages(store: FakeLogStore, clock: ManualClock) -> None:
    store.insert(log_at(timedelta(hours=5)))
    store.insert(log_at(ACTIVE_FOR - timedelta(seconds=10)))
    page = logs.list_logs(TENANT, logs.log_filter(state="archived"), 10, store=store, clock=clock)
    assert len(page.logs) == 1 and page.exact_until == NOW + timedelta(seconds=10)


def test_aggregates_count_by_state_trigger_and_source(store: FakeLogStore, clock: ManualClock) -> None:
    for age, source in ((timedelta(minutes=5), "api"), (timedelta(hours=3), "api"), (timedelta(minutes=9), "test")):
        store.insert(log_at(age, source))  # type: ignore[arg-type]
    store.insert(log_at(timedelta(minutes=1), tenant=uuid4()))
    aggregate = logs.aggregate_logs(TENANT, logs.log_filter(), store=store, clock=clock)
    totals = aggregate.totals
    assert (totals.active, totals.archived, totals.total) == (2, 1, 3)
    assert (
        aggregate.by_source["api"].total,
        aggregate.by_source["test"].total,
        aggregate.by_source["scheduled"].total,
    ) == (2, 1, 0)
    (by_trigger,) = aggregate.by_trigger
    assert by_trigger.trigger_id == TRIGGER and by_trigger.last_fired_at == NOW - timedelta(minutes=5)


def test_time_filters_are_read_to_the_second_so_microseconds_do_not_bust_the_cache() -> None:
    since = NOW - timedelta(hours=1) + timedelta(microseconds=250)
    assert logs.log_filter(since=since) == logs.log_filter(since=since + timedelta(microseconds=999))
    assert logs.log_filter(since=since).since == NOW - timedelta(hours=1)
