"""Log reads on in-memory fakes: the lifecycle at read time, keyset pages, aggregates, and how long
each answer stays exact."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.fakes import FakeLogStore
from trigger_platform import logs
from trigger_platform.clock import ManualClock
from trigger_platform.errors import NotFound
from trigger_platform.ids import new_id
from trigger_platform.lifecycle import ACTIVE_FOR, CLOCK_SKEW, RETAINED_FOR, LogState, Selection
from trigger_platform.records import NO_DELIVERY, Delivery, EventLog, LogSource

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


# Aggregate snapshots ----------------------------------------------------------------------------


class DeliveryCounts:
    """The one DeliveryStore read aggregates make, over the fake log store's logs."""

    def __init__(self, store: FakeLogStore) -> None:
        self._store = store

    def counts(self, tenant_id: object, selection: Selection) -> dict[str, int]:
        found: dict[str, int] = {}
        for log in self._store._selected(tenant_id, selection):  # type: ignore[arg-type]
            if log.delivery.status != "none":
                found[log.delivery.status] = found.get(log.delivery.status, 0) + 1
        return found


def answer(aggregate: logs.LogAggregate) -> object:
    """What the API shows of an aggregate."""
    return (
        aggregate.totals,
        [(c.trigger_id, c.active, c.total, c.last_fired_at) for c in aggregate.by_trigger],
        aggregate.by_source,
        aggregate.deliveries,
    )


#: Ages around every moment a log changes state within a snapshot's horizon, and some away from them.
BOUNDARY = st.sampled_from([RETAINED_FOR, ACTIVE_FOR, -CLOCK_SKEW, timedelta(hours=1), timedelta(hours=30)])
AGES = st.builds(lambda base, offset: base - offset, BOUNDARY, st.timedeltas(timedelta(0), logs.AGGREGATE_HORIZON))
DELIVERED = st.sampled_from([NO_DELIVERY, Delivery("pending", 1, None), Delivery("delivered", 1, None)])


@given(
    ages=st.lists(st.tuples(AGES, st.sampled_from(["api", "test"]), DELIVERED), max_size=30),
    state=st.sampled_from([None, "active", "archived"]),
    since_age=st.none() | st.sampled_from([timedelta(hours=3), ACTIVE_FOR, timedelta(minutes=30)]),
    later=st.timedeltas(timedelta(0), logs.AGGREGATE_HORIZON - timedelta(microseconds=1)),
)
def test_a_snapshot_brought_forward_answers_as_a_fresh_read_at_every_moment_of_its_horizon(
    ages: list[tuple[timedelta, LogSource, Delivery]],
    state: LogState | None,
    since_age: timedelta | None,
    later: timedelta,
) -> None:
    store, clock = FakeLogStore(), ManualClock(NOW)
    for age, source, delivery in ages:
        store.insert(replace(log_at(age, source), delivery=delivery))
    query = logs.log_filter(state=state, since=NOW - since_age if since_age else None)
    deliveries = DeliveryCounts(store)
    snapshot = logs.snapshot_aggregate(TENANT, query, store=store, clock=clock, deliveries=deliveries)  # type: ignore[arg-type]
    clock.advance(later)
    fresh = logs.aggregate_logs(TENANT, query, store=store, clock=clock, deliveries=deliveries)  # type: ignore[arg-type]
    assert answer(logs.aggregate_at(snapshot, query, clock.now())) == answer(fresh)


def test_a_brought_forward_answer_is_exact_until_the_next_log_changes_state(clock: ManualClock) -> None:
    store = FakeLogStore()
    store.insert(log_at(ACTIVE_FOR - timedelta(seconds=10)))
    store.insert(log_at(RETAINED_FOR - timedelta(seconds=40)))
    snapshot = logs.snapshot_aggregate(TENANT, logs.log_filter(), store=store, clock=clock)
    assert snapshot.valid_until == NOW + logs.AGGREGATE_HORIZON
    first = logs.aggregate_at(snapshot, logs.log_filter(), NOW)
    assert (first.totals.active, first.totals.total, first.exact_until) == (1, 2, NOW + timedelta(seconds=10))
    later = logs.aggregate_at(snapshot, logs.log_filter(), NOW + timedelta(seconds=10))
    assert (later.totals.active, later.totals.total, later.exact_until) == (0, 2, NOW + timedelta(seconds=40))
    gone = logs.aggregate_at(snapshot, logs.log_filter(), NOW + timedelta(seconds=40))
    assert (gone.totals.total, gone.exact_until) == (1, snapshot.valid_until)


def test_a_refreshed_snapshot_counts_new_logs_and_keeps_its_settled_hours(clock: ManualClock) -> None:
    store = FakeLogStore()
    store.insert(log_at(timedelta(hours=5)))
    store.insert(log_at(ACTIVE_FOR - timedelta(seconds=5)))
    snapshot = logs.snapshot_aggregate(TENANT, logs.log_filter(), store=store, clock=clock)
    clock.advance(timedelta(seconds=20))
    store.insert(log_at(timedelta(seconds=-20)))  # fired now
    store.logs.append(log_at(timedelta(hours=6)))  # into a settled hour: a refresh does not read those again
    refreshed = logs.refresh_aggregate(snapshot, TENANT, logs.log_filter(), store=store, clock=clock)
    assert refreshed.settled_before == snapshot.settled_before and refreshed.as_of == clock.now()
    counted = logs.aggregate_at(refreshed, logs.log_filter(), clock.now())
    assert (counted.totals.active, counted.totals.total) == (1, 3)


def test_a_snapshot_past_its_horizon_or_its_hour_is_read_anew(clock: ManualClock) -> None:
    store = FakeLogStore()
    store.insert(log_at(timedelta(hours=5)))
    snapshot = logs.snapshot_aggregate(TENANT, logs.log_filter(), store=store, clock=clock)
    store.logs.append(log_at(timedelta(hours=6)))
    clock.advance(logs.AGGREGATE_HORIZON)
    anew = logs.refresh_aggregate(snapshot, TENANT, logs.log_filter(), store=store, clock=clock)
    assert logs.aggregate_at(anew, logs.log_filter(), clock.now()).totals.total == 2


def test_a_boundary_busier_than_the_limit_shortens_the_snapshot(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_CROSSINGS", 3)
    store = FakeLogStore()
    for seconds in (100, 90, 80, 70, 60):  # turning archived 20, 30, ... 60 s from now
        store.insert(log_at(ACTIVE_FOR + timedelta(seconds=-120 + seconds)))
    snapshot = logs.snapshot_aggregate(TENANT, logs.log_filter(), store=store, clock=clock)
    assert snapshot.valid_until == NOW + timedelta(seconds=40)  # the third, the last one known
    totals = logs.aggregate_at(snapshot, logs.log_filter(), NOW + timedelta(seconds=39)).totals
    assert (totals.active, totals.archived) == (3, 2)


def test_an_aggregate_lists_the_newest_firing_triggers_and_counts_the_rest(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_TRIGGERS_LISTED", 2)
    store = FakeLogStore()
    for minutes in (1, 2, 3, 4):
        store.insert(replace(log_at(timedelta(minutes=minutes)), trigger_id=uuid4()))
    aggregate = logs.aggregate_logs(TENANT, logs.log_filter(), store=store, clock=clock)
    assert [counts.last_fired_at for counts in aggregate.by_trigger] == [NOW - timedelta(minutes=m) for m in (1, 2)]
    assert aggregate.by_trigger_omitted == 2 and aggregate.totals.total == 4
