"""Log reads as the API answers them: first pages and aggregates serialised once and cached.

Cache-aside under a key that changes when the tenant gets a new log (its generation); an entry is
kept for at most 30 s and served only while the clock is before the moment the domain said it
stops being exact. Anything in the cache that does not parse is never served.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from trigger_platform import logs
from trigger_platform.clock import Clock
from trigger_platform.edge.responses import bounded_json_array, to_json
from trigger_platform.errors import CacheUnavailable
from trigger_platform.ports import Cache, DeliveryStore, LogStore
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


def _cached(
    cache: Cache, tenant_id: UUID, query: Mapping[str, object], compute: Callable[[], Document], clock: Clock
) -> tuple[Document, CacheStatus]:
    try:
        generation = cache.generation(tenant_id)
        digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:32]
        key = f"etp:logs:{tenant_id}:{generation}:{digest}"
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
    """Counts by state, trigger, source and delivery as the JSON object the API returns (cached)."""

    def compute() -> Document:
        aggregate = logs.aggregate_logs(tenant_id, query, store=store, clock=clock, deliveries=deliveries)
        return Document(to_json(LogAggregateView.of(aggregate)), None, aggregate.exact_until)

    return _cached(cache, tenant_id, {"route": "aggregate", "filter": query.__dict__}, compute, clock)
