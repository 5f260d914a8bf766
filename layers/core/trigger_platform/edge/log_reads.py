"""Log reads as the API answers them: first pages and aggregates serialised once and cached.

First pages: cache-aside under a key that changes when the tenant gets a new log (its generation);
an entry is kept for at most 30 s and served only while the clock is before the moment the domain
said it stops being exact. Aggregates: the answer with the generation it was read at, and the
domain's snapshot beside it, brought forward rather than read again (``log_aggregate``). Anything
in the cache that does not parse is never served.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from trigger_platform import logs
from trigger_platform.clock import Clock
from trigger_platform.edge.responses import bounded_json_array, to_json
from trigger_platform.errors import CacheUnavailable
from trigger_platform.ports import Cache, DeliveryStore, LogStore
from trigger_platform.records import AggregateRow, Crossing
from trigger_platform.views import LogAggregateView, LogView

CacheStatus = Literal["hit", "miss", "bypass"]
#: Answers larger than this are served but not cached: a few big pages must not fill the cache.
MAX_CACHED_BYTES = 256 * 1024


@dataclass(frozen=True)
class Document:
    """A serialised answer: its JSON, the next page's cursor, and until when it is exact."""

    body: str
    next_cursor: str | None
    exact_until: datetime

    def encode(self) -> str:
        return f"{self.exact_until.isoformat()}\n{self.next_cursor or ''}\n{self.body}"

    @classmethod
    def decode(cls, text: str) -> "Document":
        exact_until, next_cursor, body = text.split("\n", 2)
        return cls(body, next_cursor or None, datetime.fromisoformat(exact_until))


def _digest(query: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _cached(
    cache: Cache, tenant_id: UUID, query: Mapping[str, object], compute: Callable[[], Document], clock: Clock
) -> tuple[Document, CacheStatus]:
    try:
        generation = cache.generation(tenant_id)
        key = f"etp:logs:{tenant_id}:{generation}:{_digest(query)}"
        hit = cache.get(key)
    except CacheUnavailable:
        return compute(), "bypass"
    if hit is not None:
        try:
            document = Document.decode(hit)
        except ValueError:
            return compute(), "bypass"  # garbage in the cache is never served
        if clock.now() < document.exact_until:
            return document, "hit"
    document = compute()
    ttl = min(logs.EXACT_FOR_AT_MOST, document.exact_until - clock.now()).total_seconds()
    encoded = document.encode()
    if ttl > 0 and len(encoded.encode()) <= MAX_CACHED_BYTES:
        try:
            cache.set(key, encoded, ttl)
        except CacheUnavailable:
            return document, "bypass"
    return document, "miss"


def log_page(
    tenant_id: UUID,
    query: logs.LogFilter,
    limit: int,
    cursor: str | None,
    *,
    store: LogStore,
    cache: Cache,
    clock: Clock,
) -> tuple[Document, CacheStatus]:
    """A page of logs as the JSON array the API returns; first pages are cached, deeper pages are
    read straight from the database."""

    def compute() -> Document:
        page = logs.list_logs(tenant_id, query, limit, cursor, store=store, clock=clock)
        body, shown = bounded_json_array([LogView.of(read) for read in page.logs])
        page = page.up_to(shown)
        return Document(body, page.next_cursor, page.exact_until)

    if cursor is not None:
        return compute(), "bypass"
    return _cached(cache, tenant_id, {"route": "list", "filter": query.__dict__, "limit": limit}, compute, clock)


def log_aggregate(
    tenant_id: UUID,
    query: logs.LogFilter,
    *,
    store: LogStore,
    cache: Cache,
    clock: Clock,
    deliveries: DeliveryStore | None = None,
) -> tuple[Document, CacheStatus]:
    """Counts by state, trigger and source as the JSON object the API returns.

    Cached as the answer, kept with the tenant's generation it was read at, and beside it the
    snapshot it came from. The answer is served while both hold; once it stops being exact the
    snapshot is brought forward to the moment asked, and after new logs its live part is read
    again: only when the snapshot is gone, or past its horizon, is the aggregate read in full."""
    key = f"etp:agg:{tenant_id}:{_digest(query.__dict__)}"
    snapshot_key = f"{key}:snapshot"
    try:
        generation, stored = cache.get_with_generation(tenant_id, key)
    except CacheUnavailable:
        return _aggregate_document(
            logs.aggregate_logs(tenant_id, query, store=store, clock=clock, deliveries=deliveries)
        ), "bypass"
    try:
        answer = _Answer.decode(stored) if stored is not None else None
    except ValueError:
        answer = None  # an entry of another format: read afresh
    now = clock.now()
    if answer is not None and answer.generation == generation and now < answer.document.exact_until:
        return answer.document, "hit"
    snapshot = _cached_snapshot(cache, snapshot_key) if answer is not None else None
    status: CacheStatus = "hit"
    if snapshot is None or now >= snapshot.valid_until:
        snapshot, status = (
            logs.snapshot_aggregate(tenant_id, query, store=store, clock=clock, deliveries=deliveries),
            "miss",
        )
    elif answer is not None and answer.generation != generation:
        snapshot = logs.refresh_aggregate(snapshot, tenant_id, query, store=store, clock=clock, deliveries=deliveries)
    document = _aggregate_document(logs.aggregate_at(snapshot, query, max(now, snapshot.as_of)))
    ttl = (snapshot.valid_until - clock.now()).total_seconds()
    try:
        if ttl > 0 and _may_fit(snapshot) and _fits(encoded := _encode_snapshot(snapshot)):
            cache.set(snapshot_key, encoded, ttl)
        if ttl > 0 and _fits(encoded := _Answer(generation, document).encode()):
            cache.set(key, encoded, ttl)
    except CacheUnavailable:
        return document, "bypass"
    return document, status


def _aggregate_document(aggregate: logs.LogAggregate) -> Document:
    return Document(to_json(LogAggregateView.of(aggregate)), None, aggregate.exact_until)


def _fits(encoded: str) -> bool:
    return len(encoded.encode()) <= MAX_CACHED_BYTES


#: An encoded row or crossing takes at least this many bytes (a time alone is 32 of them).
_SMALLEST_ENCODED_ROW = 50


def _may_fit(snapshot: logs.AggregateSnapshot) -> bool:
    """Whether the snapshot can fit at all, before paying to encode one of a tenant with thousands
    of triggers (100,000 of them make megabytes that would be thrown away)."""
    rows = len(snapshot.settled) + len(snapshot.live) + len(snapshot.crossings)
    return rows * _SMALLEST_ENCODED_ROW <= MAX_CACHED_BYTES


@dataclass(frozen=True)
class _Answer:
    """A cached answer and the tenant's generation when its logs were read."""

    generation: int
    document: Document

    def encode(self) -> str:
        return f"{self.generation}\n{self.document.encode()}"

    @classmethod
    def decode(cls, text: str) -> "_Answer":
        generation, document = text.split("\n", 1)
        return cls(int(generation), Document.decode(document))


def _cached_snapshot(cache: Cache, key: str) -> logs.AggregateSnapshot | None:
    try:
        stored = cache.get(key)
        return _decode_snapshot(stored) if stored is not None else None
    except (CacheUnavailable, ValueError, TypeError, KeyError):
        return None


def _encode_snapshot(snapshot: logs.AggregateSnapshot) -> str:
    def rows(part: list[AggregateRow]) -> list[list[object]]:
        return [
            [_id(row.trigger_id), row.trigger_type, row.source, row.active, row.total, row.last_fired_at.isoformat()]
            for row in part
        ]

    return json.dumps(
        {
            "as_of": snapshot.as_of.isoformat(),
            "settled_before": snapshot.settled_before.isoformat(),
            "valid_until": snapshot.valid_until.isoformat(),
            "settled": rows(snapshot.settled),
            "live": rows(snapshot.live),
            "deliveries": snapshot.deliveries,
            "crossings": [
                [c.fired_at.isoformat(), _id(c.trigger_id), c.trigger_type, c.source, c.delivery]
                for c in snapshot.crossings
            ],
        },
        separators=(",", ":"),
    )


def _decode_snapshot(text: str) -> logs.AggregateSnapshot:
    document = json.loads(text)

    def rows(part: list[list[Any]]) -> list[AggregateRow]:
        return [
            AggregateRow(_uuid(trigger), kind, source, int(active), int(total), datetime.fromisoformat(last))
            for trigger, kind, source, active, total, last in part
        ]

    return logs.AggregateSnapshot(
        as_of=datetime.fromisoformat(document["as_of"]),
        settled_before=datetime.fromisoformat(document["settled_before"]),
        settled=rows(document["settled"]),
        live=rows(document["live"]),
        deliveries={status: int(count) for status, count in document["deliveries"].items()},
        crossings=[
            Crossing(datetime.fromisoformat(fired_at), _uuid(trigger), kind, source, delivery)
            for fired_at, trigger, kind, source, delivery in document["crossings"]
        ],
        valid_until=datetime.fromisoformat(document["valid_until"]),
    )


def _id(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value is not None else None
