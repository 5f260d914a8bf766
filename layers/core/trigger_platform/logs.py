"""Reading event logs: the lifecycle rule, filtered keyset pages, aggregates, and their caching.

A log is ``active`` while now - fired_at < 2 h, ``archived`` while < 48 h, and never returned after
48 h. The rule is applied at read time, so it holds to the second whether or not the retention cron
has run. Cached answers expire before any log they contain could change state.
"""

import base64
import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.errors import CacheUnavailable, FieldError, InvalidInput, NotFound
from trigger_platform.ids import parse_id
from trigger_platform.models import (
    EventLog,
    LogAggregate,
    LogOut,
    LogSource,
    LogState,
    StateCounts,
    TriggerCounts,
)
from trigger_platform.pagination import unbase64
from trigger_platform.ports import Cache, LogStore

ACTIVE_FOR = timedelta(hours=2)
RETAINED_FOR = timedelta(hours=48)
CACHE_TTL = timedelta(seconds=30)
#: Reads look this far past their own clock, for logs written by a function whose clock runs ahead;
#: it also keeps the partitions made ahead of time out of every read.
CLOCK_SKEW = timedelta(minutes=1)
SOURCES: tuple[LogSource, ...] = ("scheduled", "api", "test")

CacheStatus = Literal["hit", "miss", "bypass"]


def state_of(fired_at: datetime, now: datetime) -> LogState | None:
    """The lifecycle state of a log fired at ``fired_at``; None once it is gone."""
    age = now - fired_at
    if age < ACTIVE_FOR:
        return "active"
    if age < RETAINED_FOR:
        return "archived"
    return None


def next_change(fired_at: datetime, now: datetime) -> datetime:
    """When the state of a log fired at ``fired_at`` next changes."""
    return fired_at + (ACTIVE_FOR if now - fired_at < ACTIVE_FOR else RETAINED_FOR)


@dataclass(frozen=True)
class Bounds:
    """Which fired_at values a read may see: ``after`` < fired_at ≤ ``not_after``, and
    ``since`` ≤ fired_at < ``until`` when the client narrows it further."""

    after: datetime
    not_after: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None


def bounds(now: datetime, state: LogState | None, since: datetime | None, until: datetime | None) -> Bounds:
    if state == "active":
        return Bounds(after=now - ACTIVE_FOR, not_after=now + CLOCK_SKEW, since=since, until=until)
    if state == "archived":
        return Bounds(after=now - RETAINED_FOR, not_after=now - ACTIVE_FOR, since=since, until=until)
    return Bounds(after=now - RETAINED_FOR, not_after=now + CLOCK_SKEW, since=since, until=until)


@dataclass(frozen=True)
class LogFilter:
    state: LogState | None = None
    trigger_id: UUID | None = None
    source: LogSource | None = None
    since: datetime | None = None
    until: datetime | None = None


def log_filter(
    state: LogState | None,
    trigger_id: str | None,
    source: LogSource | None,
    since: datetime | None,
    until: datetime | None,
) -> LogFilter:
    """A filter from query parameters; a malformed trigger id is an error, not an empty result."""
    parsed = None
    if trigger_id is not None:
        parsed = parse_id(trigger_id)
        if parsed is None:
            raise InvalidInput("The filter is not valid.", errors=[FieldError("trigger_id", "must be a trigger id")])
    # In UTC: PostgreSQL takes offsets up to ±15:59 only, ISO-8601 allows more.
    return LogFilter(
        state, parsed, source, since.astimezone(UTC) if since else None, until.astimezone(UTC) if until else None
    )


def log_out(log: EventLog, now: datetime) -> LogOut:
    state = state_of(log.fired_at, now)
    if state is None:
        raise NotFound("There is no such log.")
    return LogOut(**log.model_dump(exclude={"tenant_id"}), state=state)


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


# Caching ---------------------------------------------------------------------------------------


def _cached(
    cache: Cache,
    tenant_id: UUID,
    query: Mapping[str, object],
    compute: Callable[[], tuple[str, datetime]],
    now: datetime,
) -> tuple[str, CacheStatus]:
    """Cache-aside: the JSON ``compute`` returns is kept for at most 30 s and served only while
    ``now`` (the domain's clock) is before the moment it said it stops being exact, under a key
    that changes when the tenant gets a new log."""
    try:
        generation = cache.generation(tenant_id)
        digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:32]
        key = f"etp:logs:{tenant_id}:{generation}:{digest}"
        hit = cache.get(key)
    except CacheUnavailable:
        return compute()[0], "bypass"
    if hit is not None:
        try:
            envelope = json.loads(hit)
            exact_until = datetime.fromisoformat(envelope["exact_until"])
            if now < exact_until:
                return str(envelope["value"]), "hit"
        except (ValueError, KeyError, TypeError):
            return compute()[0], "bypass"  # garbage in the cache is never served
    value, exact_until = compute()
    ttl = min(CACHE_TTL, exact_until - now).total_seconds()
    if ttl > 0:
        try:
            cache.set(key, json.dumps({"exact_until": exact_until.isoformat(), "value": value}), ttl)
        except CacheUnavailable:
            return value, "bypass"
    return value, "miss"


def invalidate_tenant_logs(cache: Cache, tenant_id: UUID) -> None:
    """A tenant got a new log: its cached reads are stale (best effort; entries expire in 30 s)."""
    with contextlib.suppress(CacheUnavailable):
        cache.bump_generation(tenant_id)


# Reads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogPage:
    logs: list[LogOut]
    next_cursor: str | None


def get_log(tenant_id: UUID, log_id: str, store: LogStore, clock: Clock) -> LogOut:
    now = clock.now()
    parsed = parse_id(log_id)
    log = store.get(tenant_id, parsed, now - RETAINED_FOR) if parsed else None
    if log is None:
        raise NotFound("There is no such log.")
    return log_out(log, now)


def _page(
    tenant_id: UUID, query: LogFilter, limit: int, cursor: str | None, store: LogStore, now: datetime
) -> tuple[LogPage, datetime]:
    before = decode_log_cursor(cursor) if cursor else None
    window = bounds(now, query.state, query.since, query.until)
    rows = store.list_page(tenant_id, window, query.trigger_id, query.source, before, limit + 1)
    page = rows[:limit]
    next_cursor = encode_log_cursor(page[-1]) if len(rows) > limit else None
    exact_until = min((next_change(log.fired_at, now) for log in page), default=now + CACHE_TTL)
    if query.state == "archived":
        # The top of an archived page changes when the oldest active log turns two hours old.
        oldest_active = store.oldest_fired_at(
            tenant_id, bounds(now, "active", query.since, query.until), query.trigger_id, query.source
        )
        if oldest_active is not None:
            exact_until = min(exact_until, oldest_active + ACTIVE_FOR)
    return LogPage([log_out(log, now) for log in page], next_cursor), exact_until


def list_logs(
    tenant_id: UUID, query: LogFilter, limit: int, cursor: str | None, store: LogStore, cache: Cache, clock: Clock
) -> tuple[str, str | None, CacheStatus]:
    """A page of logs, newest first, as the JSON array the API returns, with the next cursor.
    First pages are cached; deeper pages are read straight from the database."""
    now = clock.now()

    def compute() -> tuple[str, datetime]:
        page, exact_until = _page(tenant_id, query, limit, cursor, store, now)
        body = json.dumps(
            {"logs": [log.model_dump(mode="json") for log in page.logs], "next": page.next_cursor},
            separators=(",", ":"),
        )
        return body, exact_until

    if cursor is not None:
        value, status = compute()[0], "bypass"
    else:
        key = {"route": "list", "filter": query.__dict__, "limit": limit}
        value, status = _cached(cache, tenant_id, key, compute, now)
    document = json.loads(value)
    return json.dumps(document["logs"], separators=(",", ":")), document["next"], status  # type: ignore[return-value]


def aggregate_logs(
    tenant_id: UUID, query: LogFilter, store: LogStore, cache: Cache, clock: Clock
) -> tuple[str, CacheStatus]:
    """Totals, per-trigger and per-source counts as the JSON object the API returns (cached)."""
    now = clock.now()

    def compute() -> tuple[str, datetime]:
        window = bounds(now, query.state, query.since, None)
        rows = store.aggregate(tenant_id, window, now - ACTIVE_FOR, query.trigger_id)
        totals = StateCounts()
        by_source = {source: StateCounts() for source in SOURCES}
        by_trigger: dict[UUID | None, TriggerCounts] = {}
        exact_until = now + CACHE_TTL
        for row in rows:
            archived = row.total - row.active
            for counts in (totals, by_source[row.source]):
                counts.active += row.active
                counts.archived += archived
                counts.total += row.total
            entry = by_trigger.setdefault(
                row.trigger_id,
                TriggerCounts(
                    trigger_id=row.trigger_id, trigger_type=row.trigger_type, last_fired_at=row.last_fired_at
                ),
            )
            entry.active += row.active
            entry.archived += archived
            entry.total += row.total
            entry.last_fired_at = max(entry.last_fired_at, row.last_fired_at)
            for moment in (row.oldest_active, row.oldest):
                if moment is not None:
                    exact_until = min(exact_until, next_change(moment, now))
        ordered = sorted(by_trigger.values(), key=lambda t: t.last_fired_at, reverse=True)
        aggregate = LogAggregate(totals=totals, by_trigger=ordered, by_source=by_source)
        return aggregate.model_dump_json(), exact_until

    key = {"route": "aggregate", "filter": query.__dict__}
    return _cached(cache, tenant_id, key, compute, now)
