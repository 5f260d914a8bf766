"""Reading event logs: filtered keyset pages, single logs and aggregates, as domain values.

The lifecycle rule (``lifecycle.py``) is applied at read time, so it holds to the second whether or
not the retention cron has run. Every page and aggregate says until when it stays exact
(``exact_until``), which is how long the edge may cache it.
"""

import base64
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.definitions import TriggerType
from trigger_platform.errors import CacheUnavailable, FieldError, InvalidInput, NotFound
from trigger_platform.ids import parse_id
from trigger_platform.lifecycle import ACTIVE_FOR, RETAINED_FOR, LogState, Selection, next_change, state_of, window
from trigger_platform.pagination import unbase64
from trigger_platform.ports import Cache, DeliveryStore, LogStore
from trigger_platform.records import DeliveryStatus, EventLog, LogSource

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


def aggregate_logs(
    tenant_id: UUID, query: LogFilter, *, store: LogStore, clock: Clock, deliveries: DeliveryStore | None = None
) -> LogAggregate:
    """Totals, per-trigger and per-source counts, newest-firing trigger first, and deliveries by status."""
    now = clock.now()
    rows = store.aggregate(tenant_id, _selection(now, query.state, query), now - ACTIVE_FOR)
    totals = StateCounts()
    by_source = {source: StateCounts() for source in SOURCES}
    by_trigger: dict[UUID | None, TriggerCounts] = {}
    exact_until = now + EXACT_FOR_AT_MOST
    for row in rows:
        entry = by_trigger.setdefault(
            row.trigger_id,
            TriggerCounts(trigger_id=row.trigger_id, trigger_type=row.trigger_type, last_fired_at=row.last_fired_at),
        )
        for counts in (totals, by_source[row.source], entry):
            counts.add(row.active, row.total)
        entry.last_fired_at = max(entry.last_fired_at, row.last_fired_at)
        for moment in (row.oldest_active, row.oldest):
            if moment is not None:
                exact_until = min(exact_until, next_change(moment, now))
    ordered = sorted(by_trigger.values(), key=lambda counts: counts.last_fired_at, reverse=True)
    delivered = deliveries.counts(tenant_id, _selection(now, query.state, query)) if deliveries is not None else {}
    by_delivery: dict[DeliveryStatus, int] = {
        status: delivered.get(status, 0) for status in ("pending", "delivered", "failed")
    }
    by_delivery["none"] = max(0, totals.total - sum(by_delivery.values()))
    return LogAggregate(totals, ordered, by_source, exact_until, by_delivery)
