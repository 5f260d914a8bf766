"""Reading event logs: filtered keyset pages, single logs and aggregates, as domain values.

The lifecycle rule (``lifecycle.py``) is applied at read time, so it holds to the second whether or
not the retention cron has run. Every page and aggregate says until when it stays exact
(``exact_until``), which is how long the edge may cache it.
"""

import base64
import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.definitions import TriggerType
from trigger_platform.errors import CacheUnavailable, FieldError, InvalidInput, NotFound
from trigger_platform.ids import parse_id
from trigger_platform.lifecycle import (
    ACTIVE_FOR,
    RETAINED_FOR,
    STATE_CHANGES_AFTER,
    LogState,
    Selection,
    Window,
    extent,
    includes,
    next_change,
    state_of,
    window,
)
from trigger_platform.pagination import unbase64
from trigger_platform.ports import Cache, DeliveryStore, LogStore
from trigger_platform.records import AggregateRow, Crossing, DeliveryStatus, EventLog, LogSource

#: The longest any read is treated as exact, even when no log in it changes state sooner.
EXACT_FOR_AT_MOST = timedelta(seconds=30)
SOURCES: tuple[LogSource, ...] = ("scheduled", "api", "test")


@dataclass(frozen=True)
class LogFilter:
    state: LogState | None = None
    trigger_id: UUID | None = None
    source: LogSource | None = None
    since: datetime | None = None
    until: datetime | None = None
    delivery: DeliveryStatus | None = None


def log_filter(
    state: LogState | None = None,
    trigger_id: str | None = None,
    source: LogSource | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    delivery: DeliveryStatus | None = None,
) -> LogFilter:
    """A filter from query parameters; a malformed trigger id is an error, not an empty result."""
    parsed = None
    if trigger_id is not None:
        parsed = parse_id(trigger_id)
        if parsed is None:
            raise InvalidInput("The filter is not valid.", errors=[FieldError("trigger_id", "must be a trigger id")])
    return LogFilter(state, parsed, source, _to_the_second(since), _to_the_second(until), delivery)


def _to_the_second(moment: datetime | None) -> datetime | None:
    """Time filters are read to the second (in UTC: PostgreSQL takes offsets up to ±15:59 only), so
    that shifting one by a microsecond asks the same question, and hits the same cache entry."""
    return moment.astimezone(UTC).replace(microsecond=0) if moment else None


def _selection(now: datetime, state: LogState | None, query: LogFilter) -> Selection:
    return Selection(window(now, state, query.since, query.until), query.trigger_id, query.source)


@dataclass(frozen=True)
class ReadLog:
    """A log with its lifecycle state at the moment it was read."""

    log: EventLog
    state: LogState


def _read(log: EventLog, now: datetime) -> ReadLog:
    state = state_of(log.fired_at, now)
    if state is None:
        raise NotFound("There is no such log.")
    return ReadLog(log, state)


# Cursors ---------------------------------------------------------------------------------------

#: A log cursor: the (fired_at, id) of the last log seen, base64url without padding. Any string of
#: this shape is a valid position.
LOG_CURSOR_PATTERN = r"^[A-Za-z0-9_-]{32}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_RANGE = (
    int((datetime(1, 1, 2, tzinfo=UTC) - _EPOCH) / timedelta(microseconds=1)),
    int((datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH) / timedelta(microseconds=1)),
)


def encode_log_cursor(log: EventLog) -> str:
    micros = (log.fired_at - _EPOCH) // timedelta(microseconds=1)
    raw = micros.to_bytes(8, "big", signed=True) + log.id.bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_log_cursor(cursor: str) -> tuple[datetime, UUID]:
    raw = unbase64(cursor, 24)
    micros = min(max(int.from_bytes(raw[:8], "big", signed=True), _MICROS_RANGE[0]), _MICROS_RANGE[1])
    return _EPOCH + timedelta(microseconds=micros), UUID(bytes=raw[8:])


# Reads -----------------------------------------------------------------------------------------


def invalidate_tenant_logs(cache: Cache, tenant_id: UUID) -> None:
    """A tenant got a new log: its cached reads are stale (best effort; entries expire in 30 s)."""
    with contextlib.suppress(CacheUnavailable):
        cache.bump_generation(tenant_id)


def get_log(tenant_id: UUID, log_id: str, *, store: LogStore, clock: Clock) -> ReadLog:
    now = clock.now()
    parsed = parse_id(log_id)
    log = store.get(tenant_id, parsed, now - RETAINED_FOR) if parsed else None
    if log is None:
        raise NotFound("There is no such log.")
    return _read(log, now)


@dataclass(frozen=True)
class LogPage:
    logs: list[ReadLog]
    next_cursor: str | None
    exact_until: datetime

    def up_to(self, count: int) -> "LogPage":
        """The page cut to its first ``count`` logs (the next page starts after the last)."""
        if count >= len(self.logs):
            return self
        return LogPage(self.logs[:count], encode_log_cursor(self.logs[count - 1].log), self.exact_until)


def list_logs(
    tenant_id: UUID, query: LogFilter, limit: int, cursor: str | None = None, *, store: LogStore, clock: Clock
) -> LogPage:
    """A page of logs, newest first, older than ``cursor``, and until when it stays exact."""
    now = clock.now()
    before = decode_log_cursor(cursor) if cursor else None
    rows = store.list_page(tenant_id, _selection(now, query.state, query), before, limit + 1, query.delivery)
    page = rows[:limit]
    next_cursor = encode_log_cursor(page[-1]) if len(rows) > limit else None
    exact_until = min((next_change(log.fired_at, now) for log in page), default=now + EXACT_FOR_AT_MOST)
    if query.state == "archived":
        # The top of an archived page changes when the oldest active log turns two hours old.
        oldest_active = store.oldest_fired_at(tenant_id, _selection(now, "active", query))
        if oldest_active is not None:
            exact_until = min(exact_until, oldest_active + ACTIVE_FOR)
    return LogPage([_read(log, now) for log in page], next_cursor, min(exact_until, now + EXACT_FOR_AT_MOST))


# Aggregates ------------------------------------------------------------------------------------
#
# An aggregate is read as a snapshot that can be brought forward in time without the database:
# besides the counts it holds every log that changes state within AGGREGATE_HORIZON (its
# crossings), so the counts at any later moment inside the horizon follow from the lifecycle rule
# alone. Its logs are split at ``settled_before``: logs are written with fired_at within seconds of
# their commit, so hours more than SETTLED_MARGIN old no longer receive any, and after new logs only
# the later, live part is read again.

#: How far ahead a snapshot knows every log that changes state, hence how long it stays usable.
AGGREGATE_HORIZON = timedelta(minutes=2)
#: A busier boundary than this many logs in the horizon shortens the snapshot's life instead.
MAX_CROSSINGS = 2_000
#: Logs older than this (rounded down to the hour) are settled.
SETTLED_MARGIN = timedelta(hours=1)
#: The triggers an aggregate lists one by one, newest-firing first; the rest are in its totals. A
#: tenant that made and deleted triggers for hours would otherwise get an answer of megabytes.
MAX_TRIGGERS_LISTED = 1_000


@dataclass(kw_only=True)
class StateCounts:
    active: int = 0
    archived: int = 0
    total: int = 0

    def add(self, active: int, total: int) -> None:
        self.active += active
        self.archived += total - active
        self.total += total


@dataclass(kw_only=True)
class TriggerCounts(StateCounts):
    trigger_id: UUID | None
    trigger_type: TriggerType
    last_fired_at: datetime


@dataclass(frozen=True)
class LogAggregate:
    """Counts of the logs a tenant can still read, by state, trigger and source."""

    totals: StateCounts
    by_trigger: list[TriggerCounts]
    by_source: dict[LogSource, StateCounts]
    exact_until: datetime
    deliveries: dict[DeliveryStatus, int]
    by_trigger_omitted: int = 0


@dataclass(frozen=True)
class AggregateSnapshot:
    """A tenant's aggregate as of ``as_of``: per (trigger, source) counts of the settled logs
    (fired before ``settled_before``) and of the live ones, the deliveries by status, and the
    crossings, which make it exact at any moment before ``valid_until``."""

    as_of: datetime
    settled_before: datetime
    settled: list[AggregateRow]
    live: list[AggregateRow]
    deliveries: dict[DeliveryStatus, int]
    crossings: list[Crossing]
    valid_until: datetime


def _settled_before(now: datetime) -> datetime:
    return (now - SETTLED_MARGIN).replace(minute=0, second=0, microsecond=0)


def _parts(now: datetime, query: LogFilter, settled_before: datetime) -> tuple[Selection, Selection]:
    """The selections of a read at ``now``, split into the logs fired before ``settled_before`` and after."""
    full = _selection(now, query.state, query)
    until = min(query.until, settled_before) if query.until else settled_before
    since = max(query.since, settled_before) if query.since else settled_before
    return (
        replace(full, window=replace(full.window, until=until)),
        replace(full, window=replace(full.window, since=since)),
    )


def _live_reads(
    tenant_id: UUID,
    query: LogFilter,
    settled_before: datetime,
    now: datetime,
    store: LogStore,
    deliveries: DeliveryStore | None,
) -> tuple[list[AggregateRow], dict[DeliveryStatus, int], list[Crossing], datetime]:
    """What changes with new logs and deliveries: the live counts, the deliveries by status, and the
    crossings of the horizon from ``now`` with the moment they cover until."""
    _, live = _parts(now, query, settled_before)
    rows = store.aggregate(tenant_id, live, now - ACTIVE_FOR) if _may_hold_logs(live.window) else []
    full = _selection(now, query.state, query)
    delivered = deliveries.counts(tenant_id, full) if deliveries is not None else {}
    anywhere = Selection(Window(now - RETAINED_FOR, None, query.since, query.until), query.trigger_id, query.source)
    ranges = [(now - offset, now - offset + AGGREGATE_HORIZON) for offset in STATE_CHANGES_AFTER]
    found = store.crossings(tenant_id, anywhere, ranges, MAX_CROSSINGS)
    valid_until = now + AGGREGATE_HORIZON
    for offset, in_range in zip(STATE_CHANGES_AFTER, found, strict=True):
        if len(in_range) >= MAX_CROSSINGS:  # later logs of this range are unknown: usable until the first of them
            valid_until = min(valid_until, in_range[-1].fired_at + offset)
    return rows, delivered, [crossing for in_range in found for crossing in in_range], valid_until


def _may_hold_logs(window: Window) -> bool:
    lowest, highest = extent(window)
    return highest is None or lowest < highest


def snapshot_aggregate(
    tenant_id: UUID, query: LogFilter, *, store: LogStore, clock: Clock, deliveries: DeliveryStore | None = None
) -> AggregateSnapshot:
    """The tenant's aggregate read in full from the store."""
    now = clock.now()
    settled_before = _settled_before(now)
    settled, _ = _parts(now, query, settled_before)
    rows = store.aggregate(tenant_id, settled, now - ACTIVE_FOR) if _may_hold_logs(settled.window) else []
    live, delivered, crossings, valid_until = _live_reads(tenant_id, query, settled_before, now, store, deliveries)
    return AggregateSnapshot(now, settled_before, rows, live, delivered, crossings, valid_until)


def refresh_aggregate(
    snapshot: AggregateSnapshot,
    tenant_id: UUID,
    query: LogFilter,
    *,
    store: LogStore,
    clock: Clock,
    deliveries: DeliveryStore | None = None,
) -> AggregateSnapshot:
    """The snapshot after new logs or deliveries: the settled counts brought forward, the rest read
    again. A snapshot past its horizon, or whose settled part an hour has since joined, is read anew."""
    now = clock.now()
    if now >= snapshot.valid_until or _settled_before(now) != snapshot.settled_before:
        return snapshot_aggregate(tenant_id, query, store=store, clock=clock, deliveries=deliveries)
    settled_crossings = [crossing for crossing in snapshot.crossings if crossing.fired_at < snapshot.settled_before]
    settled = _brought_forward(snapshot.settled, settled_crossings, query, snapshot.as_of, now, {})
    live, delivered, crossings, valid_until = _live_reads(
        tenant_id, query, snapshot.settled_before, now, store, deliveries
    )
    return AggregateSnapshot(now, snapshot.settled_before, settled, live, delivered, crossings, valid_until)


def _brought_forward(
    rows: list[AggregateRow],
    crossings: list[Crossing],
    query: LogFilter,
    then: datetime,
    now: datetime,
    delivered: dict[DeliveryStatus, int],
) -> list[AggregateRow]:
    """``rows`` counted at ``then``, as counted at ``now``: each crossing's log taken out as it
    counted then and put back as it counts now (``delivered`` is adjusted alike)."""
    counts: dict[tuple[UUID | None, TriggerType, LogSource], AggregateRow] = {}
    for row in rows:  # a key's settled and live rows become one
        key = (row.trigger_id, row.trigger_type, row.source)
        same = counts.get(key)
        counts[key] = row if same is None else _sum(same, row)
    then_window, now_window = (window(moment, query.state, query.since, query.until) for moment in (then, now))
    for crossing in crossings:
        was, now_in = includes(then_window, crossing.fired_at), includes(now_window, crossing.fired_at)
        was_active = was and crossing.fired_at > then - ACTIVE_FOR
        now_active = now_in and crossing.fired_at > now - ACTIVE_FOR
        if (was, was_active) == (now_in, now_active):
            continue
        key = (crossing.trigger_id, crossing.trigger_type, crossing.source)
        row = counts.get(key) or AggregateRow(*key, active=0, total=0, last_fired_at=crossing.fired_at)
        counts[key] = AggregateRow(
            *key,
            active=row.active + now_active - was_active,
            total=row.total + now_in - was,
            last_fired_at=max(row.last_fired_at, crossing.fired_at) if now_in else row.last_fired_at,
        )
        if crossing.delivery != "none":
            delivered[crossing.delivery] = delivered.get(crossing.delivery, 0) + now_in - was
    return [row for row in counts.values() if row.total > 0]


def _sum(one: AggregateRow, other: AggregateRow) -> AggregateRow:
    return replace(
        one,
        active=one.active + other.active,
        total=one.total + other.total,
        last_fired_at=max(one.last_fired_at, other.last_fired_at),
    )


def aggregate_at(snapshot: AggregateSnapshot, query: LogFilter, now: datetime) -> LogAggregate:
    """The aggregate at ``now`` (before ``snapshot.valid_until``), from the snapshot alone: totals,
    per-trigger and per-source counts, newest-firing trigger first, and deliveries by status."""
    delivered = dict(snapshot.deliveries)
    rows = _brought_forward(snapshot.settled + snapshot.live, snapshot.crossings, query, snapshot.as_of, now, delivered)
    totals = StateCounts()
    by_source = {source: StateCounts() for source in SOURCES}
    by_trigger: dict[UUID | None, TriggerCounts] = {}
    for row in rows:
        entry = by_trigger.setdefault(
            row.trigger_id,
            TriggerCounts(trigger_id=row.trigger_id, trigger_type=row.trigger_type, last_fired_at=row.last_fired_at),
        )
        for counts in (totals, by_source[row.source], entry):
            counts.add(row.active, row.total)
        entry.last_fired_at = max(entry.last_fired_at, row.last_fired_at)
    ordered = sorted(by_trigger.values(), key=lambda counts: counts.last_fired_at, reverse=True)
    by_delivery: dict[DeliveryStatus, int] = {
        status: delivered.get(status, 0) for status in ("pending", "delivered", "failed")
    }
    by_delivery["none"] = max(0, totals.total - sum(by_delivery.values()))
    changes = (crossing.fired_at + offset for crossing in snapshot.crossings for offset in STATE_CHANGES_AFTER)
    exact_until = min(
        (moment for moment in changes if now < moment < snapshot.valid_until), default=snapshot.valid_until
    )
    listed = ordered[:MAX_TRIGGERS_LISTED]
    return LogAggregate(totals, listed, by_source, exact_until, by_delivery, len(ordered) - len(listed))


def aggregate_logs(
    tenant_id: UUID, query: LogFilter, *, store: LogStore, clock: Clock, deliveries: DeliveryStore | None = None
) -> LogAggregate:
    """The aggregate now, read in full."""
    snapshot = snapshot_aggregate(tenant_id, query, store=store, clock=clock, deliveries=deliveries)
    return aggregate_at(snapshot, query, snapshot.as_of)
