"""On-demand benchmark of event-log reads and retention at scale (`.venv/bin/python bench/bench_logs.py`).

With 1,000,000 logs of 1,000 triggers of 10 tenants, fired over the last 48 h:

- ``GET /logs``: a first and a deep page (50 logs), invoked in process as template.yaml wires them
  with the cache bypassed, next to the SQL the adapter runs on a bare connection (target: at most
  2x); a deep page must cost what a first page costs (here: within 25 %).
- ``GET /logs/aggregate``: uncached, next to its bare SQL; cached, the hits of the handler and of the
  domain call on Redis next to a bare redis-py GET of a value the size of a cache entry (target: at
  most 3x), and on the in-process cache, which shows what of that is not Redis.
- Retention: one run removing 500,000 expired logs (hourly partitions detached concurrently and
  dropped, one partition made a day ahead), its duration and the latency of fire inserts made
  meanwhile (target: p99 and max at most 50 ms); the same while uncached aggregates are read; and the
  same rows removed by a plain DELETE (then the VACUUM it leaves to do).

The logs are bulk-loaded with SQL (UUIDv7 ids carrying fired_at, as trigger_platform.ids.new_id makes
them) into a database of its own, dropped at the end; Redis db 14 is flushed. ``BENCH_LOGS_SCALE=0.1``
shrinks the log counts for a quick trial; ``--explain`` prints the full plans of the measured SQL.
About 3 minutes; exits 0 whatever the ratios.
"""

import argparse
import contextlib
import copy
import functools
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg2
import redis
from common import fresh_database
from psycopg2 import sql

from local.server import FunctionHost
from local.template import LocalTemplate, load_template
from trigger_platform import logs, triggers
from trigger_platform.adapters.cache import MemoryCache, RedisCache
from trigger_platform.adapters.log_store import PostgresLogStore
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.retention_store import PostgresRetentionStore
from trigger_platform.auth import create_tenant_with_token
from trigger_platform.clock import SystemClock
from trigger_platform.edge import wiring
from trigger_platform.errors import CacheUnavailable
from trigger_platform.ids import new_id
from trigger_platform.models import EventLog, TriggerDefinition
from trigger_platform.retention import PARTITIONS_AHEAD, hours_between, run_retention

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SCALE = float(os.environ.get("BENCH_LOGS_SCALE", "1"))

TENANTS = 10
TRIGGERS_PER_TENANT = 100
LOGS = int(1_000_000 * SCALE)
EXPIRED_LOGS = int(500_000 * SCALE)
WINDOW = timedelta(hours=48)
EXPIRED_OLDEST, EXPIRED_NEWEST = timedelta(hours=60), timedelta(hours=50)
LOAD_WORKERS = 2
TEST_SHARE = 0.05  # of logs that are manual tests rather than api or scheduled fires

PAGE_SIZE = 50
DEEP_PAGES = min(200, LOGS // TENANTS // PAGE_SIZE // 4)  # 200 unless BENCH_LOGS_SCALE shrinks it
DEEP_AGE = timedelta(hours=40)
PAGE_WARMUP, PAGE_ITERATIONS = 100, 1_000
AGGREGATE_WARMUP, AGGREGATE_ITERATIONS = 20, 500
CACHED_WARMUP, CACHED_ITERATIONS = 200, 2_000
CACHED_SINCE = timedelta(hours=1)  # the cached aggregate measured: GET /logs/aggregate?since=<1 h ago>

INSERT_INTERVAL_S = 0.002  # the fire-insert thread's pace: at most 500 a second
IDLE_BEFORE_S, IDLE_AFTER_S = 2.0, 1.0

PAGE_TARGET = 2.0
DEEP_TARGET = 1.25  # "a deep page costs the same as the first": within 25 %
CACHED_TARGET = 3.0
INSERT_WAIT_TARGET_MS = 50.0

LOG_COLUMNS = "id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload, status"
PAGE_SQL = (
    f"SELECT {LOG_COLUMNS} FROM event_logs"  # noqa: S608 - constant columns
    " WHERE tenant_id = %s AND fired_at > %s AND fired_at <= %s"
    " ORDER BY fired_at DESC, id DESC LIMIT %s"
)
DEEP_SQL = (
    f"SELECT {LOG_COLUMNS} FROM event_logs"  # noqa: S608 - constant columns
    " WHERE tenant_id = %s AND fired_at > %s AND fired_at <= %s AND (fired_at, id) < (%s, %s)"
    " ORDER BY fired_at DESC, id DESC LIMIT %s"
)
AGGREGATE_SQL = """
SELECT trigger_id, trigger_type, source,
       count(*) FILTER (WHERE fired_at > %s), count(*), max(fired_at),
       min(fired_at) FILTER (WHERE fired_at > %s), min(fired_at)
  FROM event_logs
 WHERE tenant_id = %s AND fired_at > %s AND fired_at <= %s
 GROUP BY trigger_id, trigger_type, source
"""

#: Logs fired uniformly over [start, start + count * step), ids UUIDv7 of fired_at (48-bit Unix
#: milliseconds, version 7, 12 random bits, variant 0b10, 62 random bits), triggers drawn at random.
#: The lateral subquery holds a volatile function, so PostgreSQL evaluates it once a row.
LOAD_SQL = """
INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload)
SELECT (lpad(to_hex(floor(extract(epoch FROM r.f) * 1000)::bigint), 12, '0') || '7'
        || lpad(to_hex(floor(random() * 4096)::int), 3, '0') || to_hex(8 + floor(random() * 4)::int)
        || lpad(to_hex(floor(random() * 268435456)::int), 7, '0')
        || lpad(to_hex(floor(random() * 4294967296)::bigint), 8, '0'))::uuid,
       t.tenant_id, t.id, t.type, s.source, s.source = 'test',
       CASE WHEN s.source = 'scheduled' THEN date_trunc('minute', r.f) END, r.f,
       '{"key": "value"}'::jsonb
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
 CROSS JOIN LATERAL (SELECT %(start)s::timestamptz + (g + random()) * %(step)s::interval AS f,
                            floor(random() * %(slots)s)::int AS slot,
                            random() < %(test_share)s AS test) AS r
  JOIN bench_trigger_slots AS t ON t.slot = r.slot
 CROSS JOIN LATERAL (SELECT CASE WHEN r.test THEN 'test' ELSE t.type END AS source) AS s
"""
#: Rows whose id does not carry their fired_at (to the millisecond), or is no UUIDv7.
ID_CHECK_SQL = """
SELECT count(*) FROM event_logs
 WHERE ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint <> floor(extract(epoch FROM fired_at) * 1000)
    OR substr(id::text, 15, 1) <> '7' OR substr(id::text, 20, 1) NOT IN ('8', '9', 'a', 'b')
"""

SEED_DEFINITIONS = [
    {"type": "api", "payload": {"key": "value"}},
    {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": True}},
]


# Setup -----------------------------------------------------------------------------------------


def connect(url: str) -> Any:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


@contextmanager
def cursor(url: str) -> Iterator[Any]:
    """A cursor on a connection of its own (autocommit), closed at the end."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def seed_triggers() -> list[uuid.UUID]:
    """10 tenants of 100 triggers each (half api, half scheduled), created through the domain."""
    tenants = [create_tenant_with_token(f"bench-{n}", wiring.token_store())[0] for n in range(TENANTS)]
    definitions = [TriggerDefinition.model_validate(d).root for d in SEED_DEFINITIONS]
    store, scheduler = wiring.trigger_store(), wiring.local_scheduler()
    with store.atomic():
        for tenant in tenants:
            for n in range(TRIGGERS_PER_TENANT):
                triggers.create_trigger(tenant, definitions[n % 2], store, scheduler, wiring.clock())
    with wiring.database().cursor() as cur:
        cur.execute(
            """
            CREATE TABLE bench_trigger_slots AS
            SELECT (row_number() OVER (ORDER BY id) - 1)::int AS slot, id, tenant_id, type FROM triggers;
            ALTER TABLE bench_trigger_slots ADD PRIMARY KEY (slot);
            """
        )
    return tenants


def load_logs(url: str, count: int, oldest: datetime, newest: datetime) -> None:
    """``count`` logs fired uniformly between ``oldest`` and ``newest``, into hourly partitions made first,
    loaded by LOAD_WORKERS connections each taking a stretch of time."""
    with cursor(url) as cur:
        cur.execute(
            "SELECT ensure_event_log_partition(h) FROM generate_series(%s::timestamptz, %s, interval '1 hour') h",
            (oldest, newest + timedelta(hours=1)),
        )
    step = (newest - oldest) / count
    bounds = [count * k // LOAD_WORKERS for k in range(LOAD_WORKERS + 1)]

    def load(first: int, last: int) -> None:
        conn = connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SET synchronous_commit = off")
                params = {
                    "first": first,
                    "last": last,
                    "start": oldest,
                    "step": step,
                    "slots": TENANTS * TRIGGERS_PER_TENANT,
                    "test_share": TEST_SHARE,
                }
                cur.execute(LOAD_SQL, params)
        finally:
            conn.close()

    with ThreadPoolExecutor(LOAD_WORKERS) as pool:
        for done in [pool.submit(load, bounds[k], bounds[k + 1] - 1) for k in range(LOAD_WORKERS)]:
            done.result()


def vacuum_analyze(url: str) -> None:
    with cursor(url) as cur:
        cur.execute("VACUUM (ANALYZE) event_logs")


def check_ids(url: str) -> int:
    with cursor(url) as cur:
        cur.execute(ID_CHECK_SQL)
        (bad,) = cur.fetchone()
    return int(bad)


# Measuring -------------------------------------------------------------------------------------


@functools.cache
def recorded_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    return event


def api_event(name: str, tenant: uuid.UUID, query: dict[str, str]) -> dict[str, Any]:
    event = copy.deepcopy(recorded_event(name))
    event["requestContext"]["authorizer"].update(tenant_id=str(tenant), principalId=str(tenant))
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    return event


def header(response: dict[str, Any], name: str) -> str | None:
    values = (response.get("multiValueHeaders") or {}).get(name) or []
    return values[0] if values else (response.get("headers") or {}).get(name)


def next_cursor(response: dict[str, Any]) -> str | None:
    link = header(response, "Link")
    if link is None:
        return None
    return parse_qs(urlsplit(link[1 : link.index(">")]).query)["cursor"][0]


def timed(call: Callable[[], Any]) -> tuple[int, Any]:
    start = time.perf_counter_ns()
    result = call()
    return time.perf_counter_ns() - start, result


#: A case makes, on each turn, the calls to time side by side (e.g. handler and bare SQL), and a
#: check of each call's result that says whether the sample counts (a cache hit, a 200).
Calls = dict[str, tuple[Callable[[], Any], Callable[[Any], bool]]]


def interleaved(cases: dict[str, Callable[[], Calls]], warmup: int, iterations: int) -> dict[str, dict[str, list[int]]]:
    """Nanoseconds of every call of every case, the cases and the calls within each taking turns in a
    new random order each round, so that none always finds what another just warmed."""
    samples: dict[str, dict[str, list[int]]] = {case: {} for case in cases}
    for n in range(warmup + iterations):
        order = list(cases)
        random.shuffle(order)
        for case in order:
            calls = list(cases[case]().items())
            random.shuffle(calls)
            for label, (call, counts) in calls:
                took, result = timed(call)
                if n >= warmup and counts(result):
                    samples[case].setdefault(label, []).append(took)
    return samples


def ok_with(cache_status: str) -> Callable[[Any], bool]:
    def check(response: dict[str, Any]) -> bool:
        assert response["statusCode"] == 200, response
        return header(response, "X-Cache") == cache_status

    return check


def always(_: Any) -> bool:
    return True


class BypassCache:
    """A cache that is always down: every read goes to the database (X-Cache: bypass)."""

    def get(self, key: str) -> str | None:
        raise CacheUnavailable("bypassed by the benchmark")

    def set(self, key: str, value: str, ttl_s: float) -> None:
        raise CacheUnavailable("bypassed by the benchmark")

    def generation(self, tenant_id: uuid.UUID) -> int:
        raise CacheUnavailable("bypassed by the benchmark")

    def bump_generation(self, tenant_id: uuid.UUID) -> None:
        raise CacheUnavailable("bypassed by the benchmark")


def use_cache(cache: Any) -> None:
    wiring.cache = lambda: cache  # type: ignore[assignment]  # handlers call wiring.cache() each time


def window(now: datetime) -> tuple[datetime, datetime]:
    """The fired_at bounds of a read without a state filter (logs.bounds)."""
    return now - logs.RETAINED_FOR, now + logs.CLOCK_SKEW


class Reads:
    """GET /logs and GET /logs/aggregate through their handlers, and the SQL they run on a bare connection."""

    def __init__(self, template: LocalTemplate, url: str, tenants: list[uuid.UUID]) -> None:
        self.host = FunctionHost()
        self.list_fn = template.functions["ListLogsFunction"]
        self.aggregate_fn = template.functions["AggregateLogsFunction"]
        self.conn = connect(url)
        self.cur = self.conn.cursor()
        self.tenants = tenants

    def list_call(self, tenant: uuid.UUID, cursor: str | None) -> Callable[[], Any]:
        """The handler call, its event made beforehand (not timed)."""
        query = {"limit": str(PAGE_SIZE)} | ({"cursor": cursor} if cursor else {})
        event = api_event("list_logs", tenant, query)
        return lambda: self.host.invoke(self.list_fn, event)

    def list_page(self, tenant: uuid.UUID, cursor: str | None) -> Any:
        return self.list_call(tenant, cursor)()

    def sql_page(self, tenant: uuid.UUID, before: tuple[datetime, uuid.UUID] | None) -> Any:
        if before is None:
            self.cur.execute(PAGE_SQL, (tenant, *window(datetime.now(UTC)), PAGE_SIZE + 1))
        else:
            self.cur.execute(DEEP_SQL, (tenant, *window(datetime.now(UTC)), *before, PAGE_SIZE + 1))
        return self.cur.fetchall()

    def aggregate_call(self, tenant: uuid.UUID, since: datetime | None = None) -> Callable[[], Any]:
        """The handler call, its event made beforehand (not timed)."""
        event = api_event("aggregate_logs", tenant, {"since": since.isoformat()} if since else {})
        return lambda: self.host.invoke(self.aggregate_fn, event)

    def aggregate(self, tenant: uuid.UUID, since: datetime | None = None) -> Any:
        return self.aggregate_call(tenant, since)()

    def sql_aggregate(self, tenant: uuid.UUID) -> Any:
        self.cur.execute(AGGREGATE_SQL, aggregate_params(tenant, datetime.now(UTC)))
        return self.cur.fetchall()

    def link_cursors(self) -> tuple[dict[uuid.UUID, str], float]:
        """Each tenant's cursor of page DEEP_PAGES, found by following the Link headers; and the seconds taken."""
        started = time.perf_counter()
        found = {}
        for tenant in self.tenants:
            cursor = None
            for _ in range(DEEP_PAGES - 1):
                cursor = next_cursor(self.list_page(tenant, cursor))
                assert cursor is not None
            found[tenant] = cursor
        return found, time.perf_counter() - started

    def old_cursors(self) -> dict[uuid.UUID, str]:
        """Each tenant's cursor at DEEP_AGE back: its newest log fired at least that long ago."""
        found = {}
        for tenant in self.tenants:
            self.cur.execute(
                "SELECT id, fired_at FROM event_logs WHERE tenant_id = %s AND fired_at <= %s"
                " ORDER BY fired_at DESC, id DESC LIMIT 1",
                (tenant, datetime.now(UTC) - DEEP_AGE),
            )
            log_id, fired_at = self.cur.fetchone()
            at = EventLog(
                id=log_id,
                tenant_id=tenant,
                trigger_id=None,
                trigger_type="api",
                source="api",
                is_test=False,
                scheduled_for=None,
                fired_at=fired_at,
                payload={},
            )
            found[tenant] = logs.encode_log_cursor(at)
        return found

    def page_case(self, cursors: dict[uuid.UUID, str] | None) -> Callable[[], Calls]:
        def prepare() -> Calls:
            tenant = random.choice(self.tenants)
            cursor = cursors[tenant] if cursors else None
            before = logs.decode_log_cursor(cursor) if cursor else None
            return {
                "handler": (self.list_call(tenant, cursor), ok_with("bypass")),
                "sql": (lambda: self.sql_page(tenant, before), always),
            }

        return prepare

    def pages(self, deep: dict[str, dict[uuid.UUID, str]]) -> dict[str, dict[str, list[int]]]:
        use_cache(BypassCache())
        for cursors in deep.values():
            response = self.list_page(self.tenants[0], cursors[self.tenants[0]])
            assert len(json.loads(response["body"])) == PAGE_SIZE and next_cursor(response), response
        cases = {"first page": self.page_case(None)} | {label: self.page_case(c) for label, c in deep.items()}
        return interleaved(cases, PAGE_WARMUP, PAGE_ITERATIONS)

    def uncached(self) -> dict[str, list[int]]:
        use_cache(BypassCache())

        def prepare() -> Calls:
            tenant = random.choice(self.tenants)
            return {
                "handler": (self.aggregate_call(tenant), ok_with("bypass")),
                "sql": (lambda: self.sql_aggregate(tenant), always),
            }

        return interleaved({"aggregate": prepare}, AGGREGATE_WARMUP, AGGREGATE_ITERATIONS)["aggregate"]

    def cached(self) -> dict[str, Any]:
        """Hits of the handler and of the domain call, on Redis and on the in-process cache (which shows
        what is not Redis), next to a bare GET of a value the size of a cache entry.

        An unfiltered aggregate's entry is exact only until the oldest log in its 48 h window expires,
        which with a log every 2 s per tenant is within about a second: its entries' TTLs are reported.
        The hits are measured on ``since`` an hour before the start, whose entries live the full 30 s."""
        bare = redis.Redis.from_url(REDIS_URL)
        bare.flushdb()
        try:
            redis_cache, memory_cache = RedisCache(REDIS_URL), MemoryCache()
            use_cache(redis_cache)
            for tenant in self.tenants:
                assert header(self.aggregate(tenant), "X-Cache") == "miss"
            unfiltered_ttls_ms = sorted(int(bare.pttl(key)) for key in bare.scan_iter("etp:logs:*"))
            bare.flushdb()
            since = datetime.now(UTC) - CACHED_SINCE
            for tenant in self.tenants:
                assert header(self.aggregate(tenant, since), "X-Cache") == "miss"
            entry_size = int(bare.strlen(next(iter(bare.scan_iter("etp:logs:*")))))
            bare.set("bench:get", b"x" * entry_size)
            query = logs.log_filter(None, None, None, since, None)
            store, clock = wiring.log_store(), SystemClock()
            statuses: dict[str, int] = {}

            def handler_hit(response: dict[str, Any]) -> bool:
                status = str(header(response, "X-Cache"))
                statuses[status] = statuses.get(status, 0) + 1
                return status == "hit"

            def on(cache: Any, tenant: uuid.UUID) -> Callable[[], Any]:
                invoke = self.aggregate_call(tenant, since)

                def call() -> Any:
                    use_cache(cache)
                    return invoke()

                return call

            def prepare() -> Calls:
                tenant = random.choice(self.tenants)
                return {
                    "handler": (on(redis_cache, tenant), handler_hit),
                    "domain": (lambda: logs.aggregate_logs(tenant, query, store, redis_cache, clock), is_hit),
                    "handler, memory": (on(memory_cache, tenant), ok_with("hit")),
                    "domain, memory": (lambda: logs.aggregate_logs(tenant, query, store, memory_cache, clock), is_hit),
                    "get": (lambda: bare.get("bench:get"), always),
                }

            samples = interleaved({"cached": prepare}, CACHED_WARMUP, CACHED_ITERATIONS)["cached"]
        finally:
            bare.flushdb()
            bare.close()
            use_cache(BypassCache())
        return {
            "samples": samples,
            "entry_size": entry_size,
            "statuses": statuses,
            "unfiltered_ttls_ms": unfiltered_ttls_ms,
        }

    def plans(self, old: dict[uuid.UUID, str]) -> dict[str, tuple[dict[str, Any], str]]:
        tenant, now = self.tenants[0], datetime.now(UTC)
        queries = {
            "first page": (PAGE_SQL, (tenant, *window(now), PAGE_SIZE + 1)),
            f"~{DEEP_AGE // timedelta(hours=1)} h back": (
                DEEP_SQL,
                (tenant, *window(now), *logs.decode_log_cursor(old[tenant]), PAGE_SIZE + 1),
            ),
            "aggregate": (AGGREGATE_SQL, aggregate_params(tenant, now)),
        }
        return {label: explain(self.cur, query, params) for label, (query, params) in queries.items()}

    def close(self) -> None:
        self.conn.close()


def aggregate_params(tenant: uuid.UUID, now: datetime) -> tuple[Any, ...]:
    active_after = now - logs.ACTIVE_FOR
    return (active_after, active_after, tenant, *window(now))


def reads(template: LocalTemplate, url: str, tenants: list[uuid.UUID]) -> dict[str, Any]:
    """Pages and aggregates: handler vs bare SQL, cache bypassed; then cached aggregates vs a bare GET."""
    measured = Reads(template, url, tenants)
    try:
        use_cache(BypassCache())
        linked, walk_s = measured.link_cursors()
        old = measured.old_cursors()
        deep = {f"page {DEEP_PAGES} (Link)": linked, f"~{DEEP_AGE // timedelta(hours=1)} h back (cursor)": old}
        return {
            "walk_s": walk_s,
            "pages": measured.pages(deep),
            "uncached": measured.uncached(),
            "cached": measured.cached(),
            "plans": measured.plans(old),
        }
    finally:
        measured.close()


def is_hit(result: tuple[str, str]) -> bool:
    return result[1] == "hit"


def explain(cur: Any, query: str, params: tuple[Any, ...]) -> tuple[dict[str, Any], str]:
    """The EXPLAIN (ANALYZE, BUFFERS) of a query, as JSON (summarised) and as text (--explain)."""
    cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params)
    text = "\n".join(row[0] for row in cur.fetchall())
    cur.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}", params)
    return cur.fetchone()[0][0], text


def plan_summary(plan: dict[str, Any]) -> str:
    """Top node, how many partitions were read and how, shared buffers, execution time."""
    scans: dict[str, int] = {}
    relations: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            relations.add(node["Relation Name"])
            how = node["Node Type"] + (f" {node['Index Name'].split('_', 3)[-1]}" if "Index Name" in node else "")
            scans[how] = scans.get(how, 0) + 1
        for child in node.get("Plans", []):
            walk(child)

    top = plan["Plan"]
    walk(top)
    buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    how = ", ".join(f"{n}x {kind}" for kind, n in sorted(scans.items()))
    timing = f"planning {plan['Planning Time']:.2f} ms + execution {plan['Execution Time']:.2f} ms"
    return f"{timing}; {top['Node Type']} over {len(relations)} partitions: {how}; {buffers} buffers"


# Retention -------------------------------------------------------------------------------------


@dataclass
class Loop:
    """``step`` over and over on a thread of its own (``make`` builds it there, with its connection, and
    returns it with its clean-up), at most one every ``interval_s``, each timed; failures are results."""

    make: Callable[[], tuple[Callable[[], Any], Callable[[], None]]]
    interval_s: float = 0.0
    samples: list[tuple[int, int]] = field(default_factory=list)  # (start ns, took ns)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        step, close = self.make()
        try:
            while not self._stop.is_set():
                start = time.perf_counter_ns()
                try:
                    step()
                except Exception as exc:
                    self.failures.append(repr(exc))
                took = time.perf_counter_ns() - start
                self.samples.append((start, took))
                time.sleep(max(0.0, self.interval_s - took / 1e9))
        finally:
            close()

    def during(self, start: int, end: int) -> list[int]:
        """Latencies of the steps in flight at some point between ``start`` and ``end``."""
        return [took for began, took in self.samples if began < end and began + took > start]

    def before(self, start: int) -> list[int]:
        return [took for began, took in self.samples if began + took < start]


def fire_inserts(url: str, tenant: uuid.UUID, trigger: uuid.UUID) -> Loop:
    """Fire logs written as the fire handlers write them (PostgresLogStore.insert), on their own connection."""

    def make() -> tuple[Callable[[], Any], Callable[[], None]]:
        db = Database(lambda: url)
        store = PostgresLogStore(db)

        def insert() -> None:
            now = datetime.now(UTC)
            log = EventLog(
                id=new_id(now),
                tenant_id=tenant,
                trigger_id=trigger,
                trigger_type="api",
                source="api",
                is_test=False,
                scheduled_for=None,
                fired_at=now,
                payload={"key": "value"},
            )
            store.insert(log)

        return insert, db.close

    return Loop(make, INSERT_INTERVAL_S)


def aggregate_reads(url: str, tenants: list[uuid.UUID]) -> Loop:
    """Uncached GET /logs/aggregate queries back to back, as a dashboard would make them."""

    def make() -> tuple[Callable[[], Any], Callable[[], None]]:
        conn = connect(url)
        cur = conn.cursor()

        def read() -> None:
            cur.execute(AGGREGATE_SQL, aggregate_params(random.choice(tenants), datetime.now(UTC)))
            cur.fetchall()

        return read, conn.close

    return Loop(make)


@dataclass
class Removal:
    label: str
    seconds: float
    partitions: int
    rows: int
    inserts: list[int]
    idle: list[int]
    failures: list[str]
    wal_mb: float
    note: str = ""


def removal(
    url: str, label: str, work: Callable[[], tuple[int, int, str]], inserts: Loop, others: tuple[Loop, ...] = ()
) -> Removal:
    """Run ``work`` (returning partitions dropped, rows removed and a note) while fire inserts, and any
    ``others``, go on; the inserts made before it are the idle baseline. WAL written meanwhile is counted
    (the inserts' share is small)."""
    for loop in (inserts, *others):
        loop.start()
    time.sleep(IDLE_BEFORE_S)
    with cursor(url) as cur:
        cur.execute("SELECT pg_current_wal_lsn()")
        (wal_before,) = cur.fetchone()
        start = time.perf_counter_ns()
        partitions, rows, note = work()
        end = time.perf_counter_ns()
        cur.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (wal_before,))
        (wal,) = cur.fetchone()
    time.sleep(IDLE_AFTER_S)
    for loop in (inserts, *others):
        loop.stop()
    for loop in others:
        steps = loop.during(start, end)
        note += f"; {len(steps)} aggregates ran meanwhile, {max(steps, default=0) / 1e6:.0f} ms the longest"
    return Removal(
        label,
        (end - start) / 1e9,
        partitions,
        rows,
        inserts.during(start, end),
        inserts.before(start),
        inserts.failures,
        float(wal) / 2**20,
        note,
    )


def checkpoint(url: str) -> None:
    """Level the ground: the bulk load's dirty pages written out before a measured removal."""
    with cursor(url) as cur:
        cur.execute("CHECKPOINT")


def partition_name(hour: datetime) -> str:
    return "event_logs_p" + hour.astimezone(UTC).strftime("%Y%m%d%H")


def expire_logs(url: str, drop_newest: bool) -> None:
    """EXPIRED_LOGS logs fired 50-60 h ago, vacuumed and checkpointed; with ``drop_newest``, the partition a
    day ahead removed, so that the next run makes it (as the first run of every hour does)."""
    if drop_newest:
        newest = max(hours_between(datetime.now(UTC), datetime.now(UTC) + PARTITIONS_AHEAD))
        with cursor(url) as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(newest))))
    now = datetime.now(UTC)
    load_logs(url, EXPIRED_LOGS, now - EXPIRED_OLDEST, now - EXPIRED_NEWEST)
    vacuum_analyze(url)
    checkpoint(url)


class TimedRetentionStore(PostgresRetentionStore):
    """The adapter, with the time spent making partitions counted (CREATE TABLE … PARTITION OF takes
    ACCESS EXCLUSIVE on event_logs, so it waits for reads in flight and inserts wait behind it)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.ensure_ns = 0

    def ensure_partitions(self, hours: list[datetime]) -> int:
        start = time.perf_counter_ns()
        try:
            return super().ensure_partitions(hours)
        finally:
            self.ensure_ns = time.perf_counter_ns() - start


def retention_removals(url: str, tenants: list[uuid.UUID]) -> list[Removal]:
    with cursor(url) as cur:
        cur.execute("SELECT id FROM triggers WHERE tenant_id = %s AND type = 'api' LIMIT 1", (tenants[0],))
        (trigger,) = cur.fetchone()
    retention_db = Database(lambda: url)
    store = TimedRetentionStore(retention_db)
    # Steady state: an earlier run made the partitions a day ahead.
    warmup = run_retention(store, SystemClock())

    def retention() -> tuple[int, int, str]:
        report = run_retention(store, SystemClock())
        made = f"{report.partitions_created} partition made in {store.ensure_ns / 1e6:.1f} ms"
        return report.partitions_dropped, report.logs_removed, made

    removals = []
    expire_logs(url, drop_newest=True)
    ran = removal(url, "retention run", retention, fire_inserts(url, tenants[0], trigger))
    ran.note = f"DETACH … CONCURRENTLY + DROP; {ran.note} (the warm-up run made {warmup.partitions_created})"
    removals.append(ran)
    expire_logs(url, drop_newest=True)
    removals.append(
        removal(
            url,
            "  + aggregates",
            retention,
            fire_inserts(url, tenants[0], trigger),
            (aggregate_reads(url, tenants),),
        )
    )
    removals[-1].note = "the same, while uncached aggregate queries run back to back; " + removals[-1].note
    retention_db.close()

    # The same rows, removed by a plain DELETE: everything fired before the hour retention stops at.
    expire_logs(url, drop_newest=False)
    cutoff = (datetime.now(UTC) - logs.RETAINED_FOR).replace(minute=0, second=0, microsecond=0)
    deleter = connect(url)

    def delete() -> tuple[int, int, str]:
        with deleter.cursor() as cur:
            cur.execute("DELETE FROM event_logs WHERE fired_at < %s", (cutoff,))
            return 0, int(cur.rowcount), "DELETE FROM event_logs WHERE fired_at < <that hour>; rows stay as dead tuples"

    def vacuum() -> tuple[int, int, str]:
        with deleter.cursor() as cur:
            cur.execute("VACUUM event_logs")
        return 0, 0, "what it takes to reclaim the deleted rows (every partition)"

    removals.append(removal(url, "plain DELETE", delete, fire_inserts(url, tenants[0], trigger)))
    removals.append(removal(url, "  then VACUUM", vacuum, fire_inserts(url, tenants[0], trigger)))
    deleter.close()
    return removals


# Report ----------------------------------------------------------------------------------------


def median_p95_us(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.95)] / 1000


def percentile_ms(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1e6 if ordered else float("nan")


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER"


def report_reads(result: dict[str, Any]) -> None:
    print(f"\n{'reads, cache bypassed (µs)':<32}{'handler p50':>12}{'p95':>9}{'SQL p50':>10}{'p95':>9}", end="")
    print(f"{'ratio':>8}  target")
    rows = {
        **{f"GET /logs {case}": samples for case, samples in result["pages"].items()},
        "GET /logs/aggregate": result["uncached"],
    }
    medians: dict[str, tuple[float, float]] = {}
    for label, samples in rows.items():
        (handler_p50, handler_p95), (sql_p50, sql_p95) = (
            median_p95_us(samples["handler"]),
            median_p95_us(samples["sql"]),
        )
        medians[label] = (handler_p50, sql_p50)
        ratio = handler_p50 / sql_p50
        print(
            f"{label:<32}{handler_p50:>12.0f}{handler_p95:>9.0f}{sql_p50:>10.0f}{sql_p95:>9.0f}"
            f"{ratio:>7.2f}x  ≤{PAGE_TARGET:g}x {verdict(ratio, PAGE_TARGET)}"
        )
    first_handler, first_sql = next(iter(medians.values()))
    for label in list(medians)[1:3]:
        handler_ratio, sql_ratio = medians[label][0] / first_handler, medians[label][1] / first_sql
        deep = f"  {label.removeprefix('GET /logs ')} / first"
        print(
            f"{deep:<32}{handler_ratio:>11.2f}x{'':>9}{sql_ratio:>9.2f}x"
            f"{'':>17}≤{DEEP_TARGET:g}x {verdict(handler_ratio, DEEP_TARGET)}"
        )

    cached = result["cached"]
    samples, size, statuses = cached["samples"], cached["entry_size"], cached["statuses"]
    get_p50, get_p95 = median_p95_us(samples["get"])
    title = f"aggregate ?since=-{CACHED_SINCE.seconds // 3600}h, cache hits (µs)"
    print(f"\n{title:<40}{'p50':>7}{'p95':>8}{'hits':>7}{'ratio':>8}  target (vs bare GET p50)")
    for label, key, target in (
        ("handler, Redis (Powertools incl.)", "handler", True),
        ("logs.aggregate_logs, Redis", "domain", True),
        ("handler, in-process MemoryCache", "handler, memory", False),
        ("logs.aggregate_logs, MemoryCache", "domain, memory", False),
    ):
        p50, p95 = median_p95_us(samples[key])
        ratio = p50 / get_p50
        mark = f"≤{CACHED_TARGET:g}x {verdict(ratio, CACHED_TARGET)}" if target else "(what is not Redis)"
        print(f"{label:<40}{p50:>7.0f}{p95:>8.0f}{len(samples[key]):>7}{ratio:>7.2f}x  {mark}")
    print(f"{f'bare redis-py GET, {size:,} B':<40}{get_p50:>7.0f}{get_p95:>8.0f}{len(samples['get']):>7}")
    total = sum(statuses.values())
    ttls = cached["unfiltered_ttls_ms"]
    print(
        f"handler X-Cache over {total:,} calls: "
        + ", ".join(f"{name} {count / total:.1%}" for name, count in sorted(statuses.items()))
        + f". Unfiltered (no since), a fresh entry's TTL is median {statistics.median(ttls) / 1000:.1f} s,"
        f" max {max(ttls) / 1000:.1f} s of the {logs.CACHE_TTL.total_seconds():.0f} s cap"
    )
    print("\nplans of the bare SQL (one tenant, EXPLAIN ANALYZE, second run):")
    for label, (plan, _) in result["plans"].items():
        print(f"  {label:<11} {plan_summary(plan)}")


def report_removals(removals: list[Removal]) -> None:
    print(
        f"\n{'removal of expired logs':<22}{'seconds':>8}{'dropped':>9}{'rows':>9}{'WAL MB':>8}"
        f"{'inserts':>9}{'p50 ms':>8}{'p99':>7}{'max':>7}{'idle p99':>9}  target p99/max ≤{INSERT_WAIT_TARGET_MS:g} ms"
    )
    for r in removals:
        p99, worst = percentile_ms(r.inserts, 0.99), max(r.inserts, default=0) / 1e6
        marks = f"{verdict(p99, INSERT_WAIT_TARGET_MS)}/{verdict(worst, INSERT_WAIT_TARGET_MS)}"
        print(
            f"{r.label:<22}{r.seconds:>8.2f}{r.partitions:>9}{r.rows:>9,}{r.wal_mb:>8.1f}{len(r.inserts):>9}"
            f"{percentile_ms(r.inserts, 0.5):>8.2f}{p99:>7.1f}{worst:>7.1f}{percentile_ms(r.idle, 0.99):>9.1f}  {marks}"
        )
    for r in removals:
        print(
            f"  {r.label.strip()}: {r.note}"
            + (f"; {len(r.failures)} inserts failed: {r.failures[:3]}" if r.failures else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explain", action="store_true", help="print the full plans of the measured SQL")
    args = parser.parse_args()
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    template = load_template(ROOT / "template.yaml")
    started = time.perf_counter()
    with fresh_database("etp_bench_logs") as url:
        tenants = seed_triggers()
        seeded = time.perf_counter()
        now = datetime.now(UTC)
        load_logs(url, LOGS, now - WINDOW, now)
        loaded = time.perf_counter()
        vacuum_analyze(url)
        bad = check_ids(url)
        print(
            f"seeded {TENANTS} tenants x {TRIGGERS_PER_TENANT} triggers in {seeded - started:.1f}s; loaded {LOGS:,}"
            f" logs over the last 48 h in {loaded - seeded:.1f}s, VACUUM ANALYZE + id check"
            f" {time.perf_counter() - loaded:.1f}s; ids not carrying fired_at: {bad}"
        )
        assert bad == 0
        print(
            f"reads: {PAGE_ITERATIONS:,} of each page after {PAGE_WARMUP} warm-up, {AGGREGATE_ITERATIONS} uncached"
            f" aggregates, {CACHED_ITERATIONS:,} cached rounds; handler and bare calls take turns, random tenant"
        )
        # Powertools prints EMF metrics every 100 values even when POWERTOOLS_METRICS_DISABLED
        # (add_metric's overflow flush ignores it): kept off this report.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Dimension .* has already been added")
            result = reads(template, url, tenants)
        print(f"followed Link headers to page {DEEP_PAGES} for {TENANTS} tenants in {result['walk_s']:.1f}s")
        report_reads(result)
        if args.explain:
            for label, (_, text) in result["plans"].items():
                print(f"\n--- {label}\n{text}")
        print(
            f"\nretention: {EXPIRED_LOGS:,} logs fired 50-60 h ago loaded, then removed while one thread inserts"
            f" fire logs (≤{1 / INSERT_INTERVAL_S:.0f}/s, PostgresLogStore.insert, own connection)"
        )
        removals = retention_removals(url, tenants)
        report_removals(removals)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
