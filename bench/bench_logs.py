"""Event-log reads and retention at 1,000,000 logs (issues 5 and 16).

1,000,000 logs of 1,000 triggers of 10 tenants, fired evenly over the last 48 h:

- GET /logs through ListLogsFunction, a first page (a cache miss: the tenant's cached reads were
  just invalidated, as by a new log) and a deep one (logs 40 h old; deeper pages are never cached),
  vs the statements ``logs.list_logs`` sends, on a bare connection: target ≤ 2x each (issue 5).
- GET /logs/aggregate over 48 h, uncached the same way: ≤ 5 ms (issue 16), beside its statements.
- A cached aggregate (``?since=`` an hour ago) through the handler vs a bare Redis GET of
  a value its size: ≤ 2x; then, under steady firing (20 api fires a second for that tenant),
  whether it, and the 48 h one, is still a hit 30 s after it was cached.
- RetentionFunction removing 500,000 logs fired 50-60 h ago vs a plain DELETE of as many, each while
  a thread writes fire logs one at a time (PostgresLogStore.insert, its own connection, ≤ 500 a
  second): their p99 ≤ 50 ms (issue 5).

Logs are bulk-loaded with COPY (common.load_logs). Redis at REDIS_URL. About 2-3.5 minutes here.
"""

import time
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from common import (
    API_TRIGGER,
    REDIS_URL,
    Case,
    Functions,
    Repeating,
    StatementRecorder,
    api_event,
    connect,
    create_triggers,
    duration,
    fresh_database,
    heading,
    interleaved,
    load_logs,
    median,
    new_tenant,
    percentile,
    replay,
    show,
    show_ratio,
    unit_of_work_on,
)

from tests.integration.conftest import header
from trigger_platform import firing, logs
from trigger_platform.adapters.cache import RedisCache
from trigger_platform.adapters.postgres import Database
from trigger_platform.clock import SystemClock
from trigger_platform.ids import new_id
from trigger_platform.lifecycle import RETAINED_FOR
from trigger_platform.records import EventLog, Trigger

TENANTS, TRIGGERS_PER_TENANT = 10, 100
RECURRING_TRIGGER = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
LOGS, EXPIRED_LOGS = 1_000_000, 500_000
DEEP_AGE = timedelta(hours=40)
PAGE_RUNS, AGGREGATE_RUNS, CACHED_RUNS = 500, 100, 2_000
PAGE_TARGET, CACHED_TARGET = 2.0, 2.0
UNCACHED_AGGREGATE_TARGET_MS, INSERT_P99_TARGET_MS = 5.0, 50.0
STEADY_FIRES_PER_S, STILL_CACHED_AFTER_S = 20, 30
INSERT_INTERVAL_S = 0.002


def seed(url: str) -> tuple[list[uuid.UUID], list[Trigger]]:
    tenants = [new_tenant("logs") for _ in range(TENANTS)]
    made = [
        trigger
        for tenant in tenants
        for document in (API_TRIGGER, RECURRING_TRIGGER)
        for trigger in create_triggers(url, tenant, document, TRIGGERS_PER_TENANT // 2)
    ]
    return tenants, made


def expect_ok(response: dict[str, Any]) -> str | None:
    assert response["statusCode"] == 200, response
    return header(response, "X-Cache")


def deep_cursor(url: str, tenant: uuid.UUID) -> str:
    """The cursor of the tenant's newest log older than DEEP_AGE, as the domain writes cursors."""
    clock = SystemClock()
    with closing(Database(lambda: url)) as db:
        older = logs.LogFilter(until=clock.now() - DEEP_AGE)
        (newest,) = logs.list_logs(tenant, older, 1, store=unit_of_work_on(db).logs, clock=clock).logs
    return logs.encode_log_cursor(newest.log)


def read_statements(url: str, tenant: uuid.UUID, cursor: str) -> dict[str, list[bytes]]:
    """The statements the domain sends for the tenant's first page, deep page and 48 h aggregate."""
    clock, everything = SystemClock(), logs.LogFilter()
    with closing(StatementRecorder(url)) as recorder:
        store = unit_of_work_on(recorder).logs
        logs.list_logs(tenant, everything, 50, store=store, clock=clock)
        first = recorder.take()
        logs.list_logs(tenant, everything, 50, cursor, store=store, clock=clock)
        deep = recorder.take()
        logs.aggregate_logs(tenant, everything, store=store, clock=clock)
        return {"first page": first, "deep page": deep, "aggregate": recorder.take()}


def read_cases(
    functions: Functions, url: str, bare: Any, tenants: list[uuid.UUID]
) -> tuple[dict[str, Case], dict[str, Case]]:
    """The pages' and the aggregate's cases: each round, one tenant's read through its handler, the
    tenant's cached reads invalidated first and its cached aggregates deleted (untimed: a new log
    only has an aggregate's live part read again), and the statements the read sends."""
    cache, client = RedisCache(REDIS_URL), redis.Redis.from_url(REDIS_URL)
    cursors = {tenant: deep_cursor(url, tenant) for tenant in tenants}
    statements = {tenant: read_statements(url, tenant, cursors[tenant]) for tenant in tenants}

    def handler(name: str, function: str, query: dict[str, str], deep: bool = False) -> Case:
        def case(n: int) -> Any:
            tenant = tenants[n % len(tenants)]
            logs.invalidate_tenant_logs(cache, tenant)
            for key in client.scan_iter(f"etp:agg:{tenant}:*"):
                client.delete(key)
            event = api_event(name, tenant, query=query | ({"cursor": cursors[tenant]} if deep else {}))
            return lambda: expect_ok(functions.invoke(function, event))

        return case

    def sql(read: str) -> Case:
        return lambda n: lambda: replay(bare, statements[tenants[n % len(tenants)]][read])

    pages = {
        "first page": handler("list_logs", "ListLogsFunction", {"limit": "50"}),
        "first page SQL": sql("first page"),
        "deep page": handler("list_logs", "ListLogsFunction", {"limit": "50"}, deep=True),
        "deep page SQL": sql("deep page"),
    }
    return pages, {"aggregate": handler("aggregate_logs", "AggregateLogsFunction", {}), "SQL": sql("aggregate")}


def cached_cases(functions: Functions, tenant: uuid.UUID, since: str, statuses: list[str | None]) -> dict[str, Case]:
    """A cached aggregate through its handler (each X-Cache kept in ``statuses``), and a bare Redis
    GET of a value as large as that answer."""
    event = api_event("aggregate_logs", tenant, query={"since": since})
    size = len(functions.invoke("AggregateLogsFunction", event)["body"])
    client, key = redis.Redis.from_url(REDIS_URL), f"bench:{uuid.uuid4().hex}"
    client.set(key, b"x" * size, px=600_000)

    def handler(n: int) -> Any:
        return lambda: statuses.append(expect_ok(functions.invoke("AggregateLogsFunction", event)))

    return {"handler": handler, "bare GET": lambda n: lambda: client.get(key)}


def fire(db: Database, trigger: Trigger) -> Callable[[], object]:
    """An api fire of the trigger, through the domain, on ``db``."""
    uow, cache, clock = unit_of_work_on(db), RedisCache(REDIS_URL), SystemClock()
    return lambda: firing.fire_api_trigger(trigger.tenant_id, str(trigger.id), {}, uow=uow, cache=cache, clock=clock)


def insert_log(db: Database, trigger: Trigger) -> Callable[[], object]:
    """A fire log of the trigger written as the fire handlers write one (PostgresLogStore.insert), on ``db``."""
    store = unit_of_work_on(db).logs

    def insert() -> None:
        now = datetime.now(UTC)
        store.insert(EventLog(new_id(now), trigger.tenant_id, trigger.id, "api", "api", False, None, now, {}))

    return insert


def still_cached(
    functions: Functions, url: str, trigger: Trigger, queries: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """Each query's aggregate cached, then asked again once a second for STILL_CACHED_AFTER_S
    seconds while the tenant's trigger fires steadily: the X-Cache of every ask."""
    events = {label: api_event("aggregate_logs", trigger.tenant_id, query=query) for label, query in queries.items()}
    seen: dict[str, list[str]] = {label: [] for label in queries}
    with closing(Database(lambda: url)) as db, Repeating(1 / STEADY_FIRES_PER_S, fire(db, trigger)):
        for event in events.values():
            expect_ok(functions.invoke("AggregateLogsFunction", event))
        for _ in range(STILL_CACHED_AFTER_S):
            time.sleep(1)
            for label, event in events.items():
                seen[label].append(str(expect_ok(functions.invoke("AggregateLogsFunction", event))))
    return seen


def measure_reads(functions: Functions, url: str, bare: Any, tenants: list[uuid.UUID], made: list[Trigger]) -> None:
    page_cases, aggregate_cases = read_cases(functions, url, bare, tenants)
    pages = interleaved(page_cases, warmup=50, runs=PAGE_RUNS)
    aggregates = interleaved(aggregate_cases, warmup=10, runs=AGGREGATE_RUNS)
    statuses: list[str | None] = []
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cached = interleaved(cached_cases(functions, tenants[0], since, statuses), warmup=200, runs=CACHED_RUNS)
    hits = [ns for ns, status in zip(cached["handler"], statuses[200:], strict=True) if status == "hit"]
    fired = next(t for t in made if t.tenant_id == tenants[0] and t.definition.type == "api")
    lasting = still_cached(functions, url, fired, {"over 48 h": {}, "since 1 h ago": {"since": since}})

    heading(f"log reads at {LOGS:,} logs, handler and SQL in turns, a random tenant each round")
    label = f"GET /logs first page (a miss) vs its SQL, {PAGE_RUNS} runs"
    show_ratio(label, pages["first page"], pages["first page SQL"], PAGE_TARGET)
    show_ratio("GET /logs deep page (40 h old) vs its SQL", pages["deep page"], pages["deep page SQL"], PAGE_TARGET)
    uncached = aggregates["aggregate"]
    show(
        f"GET /logs/aggregate over 48 h, uncached, {AGGREGATE_RUNS} runs",
        f"{duration(median(uncached))} (p95 {duration(percentile(uncached, 0.95))})",
        f"≤ {UNCACHED_AGGREGATE_TARGET_MS:g} ms",
        median(uncached) <= UNCACHED_AGGREGATE_TARGET_MS * 1e6,
    )
    show_ratio("  vs its SQL", uncached, aggregates["SQL"], PAGE_TARGET)
    label = f"GET /logs/aggregate?since=-1h, {len(hits):,} hits, vs Redis GET"
    show_ratio(label, hits, cached["bare GET"], CACHED_TARGET)
    for label, seen in lasting.items():
        first_miss = next((n + 1 for n, status in enumerate(seen) if status != "hit"), None)
        value = f"{seen[-1]}: hits in {seen.count('hit')} of {len(seen)} asks a second apart" + (
            f", the first miss at +{first_miss} s" if first_miss else ""
        )
        show(f"aggregate {label}, {STILL_CACHED_AFTER_S} s on, firing", value, "hit", seen[-1] == "hit")


def removal(
    url: str, cur: Any, fired_by: list[Trigger], remove: Callable[[], int]
) -> tuple[int, int, float, list[int]]:
    """EXPIRED_LOGS logs fired 50-60 h ago loaded and checkpointed, then ``remove()`` (which says how
    many logs it removed) timed while fire logs are written: how long, the WAL, the inserts' p99."""
    now = datetime.now(UTC)
    load_logs(url, fired_by, EXPIRED_LOGS, now - timedelta(hours=60), now - timedelta(hours=50))
    cur.execute("CHECKPOINT")
    cur.execute("SELECT pg_current_wal_lsn()")
    (wal,) = cur.fetchone()
    with closing(Database(lambda: url)) as db, Repeating(INSERT_INTERVAL_S, insert_log(db, fired_by[0])) as inserts:
        time.sleep(1)  # inserting before the removal starts
        start = time.perf_counter_ns()
        removed = remove()
        end = time.perf_counter_ns()
        time.sleep(0.5)
    cur.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (wal,))
    wal_mb = float(cur.fetchone()[0]) / 2**20
    return end - start, removed, wal_mb, inserts.during(start, end)


def show_removal(label: str, ns: int, removed: int, wal_mb: float, inserts: list[int]) -> None:
    show(label, f"{duration(ns)}, {removed:,} logs, {wal_mb:,.1f} MB of WAL", "", None)
    p99 = percentile(inserts, 0.99) if inserts else float("nan")
    value = f"{duration(p99)} (max {duration(max(inserts, default=0))}, {len(inserts)} inserts)"
    show("  concurrent fire inserts: p99", value, f"≤ {INSERT_P99_TARGET_MS:g} ms", p99 <= INSERT_P99_TARGET_MS * 1e6)


def measure_removals(functions: Functions, url: str, bare: Any, made: list[Trigger]) -> None:
    def retention() -> int:
        return int(functions.invoke("RetentionFunction", {})["logs_removed"])

    def delete() -> int:
        """What retention removes: every log fired before the hour in which 48 h ago lies."""
        kept_from = (datetime.now(UTC) - RETAINED_FOR).replace(minute=0, second=0, microsecond=0)
        bare.execute("DELETE FROM event_logs WHERE fired_at < %s", (kept_from,))
        return int(bare.rowcount)

    retention()  # the steady state: partitions made a day ahead
    by_retention, by_delete = removal(url, bare, made, retention), removal(url, bare, made, delete)
    heading(f"removing {EXPIRED_LOGS:,} expired logs while fire logs are written (≤ {1 / INSERT_INTERVAL_S:.0f}/s)")
    show_removal("RetentionFunction (partitions detached and dropped)", *by_retention)
    show_removal("a plain DELETE of the same logs", *by_delete)


def main() -> None:
    started = time.perf_counter()
    functions = Functions()
    with fresh_database("etp_bench_logs") as url, closing(connect(url)) as conn:
        tenants, made = seed(url)
        now = datetime.now(UTC)
        load_logs(url, made, LOGS, now - RETAINED_FOR + timedelta(minutes=1), now)
        took = time.perf_counter() - started
        print(f"seeded {len(made):,} triggers of {TENANTS} tenants and {LOGS:,} logs in {took:.0f} s")
        measure_reads(functions, url, conn.cursor(), tenants, made)
        measure_removals(functions, url, conn.cursor(), made)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine)")


if __name__ == "__main__":
    main()
