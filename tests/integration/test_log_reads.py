"""Reading event logs: lifecycle at its boundaries, retention, pagination, filters, isolation,
caching against the real Redis, and the query plans of the hot reads."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from tests.conftest import Tenant, api_event, load_event
from tests.integration.conftest import Invoke, body, concurrently, header
from trigger_platform.adapters.cache import GENERATION_KEY, MemoryCache, RedisCache, SignedCache
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.retention_store import PostgresRetentionStore
from trigger_platform.clock import ManualClock
from trigger_platform.edge import wiring
from trigger_platform.errors import CacheUnavailable
from trigger_platform.retention import RetentionReport, run_retention

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(datetime.now(UTC).replace(microsecond=0))
    wiring.use_clock(manual)
    yield manual
    wiring.use_clock(wiring.SystemClock())


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an empty in-process cache, so one test's answers never leak into another."""
    memory = MemoryCache()
    monkeypatch.setattr(wiring, "cache", lambda: memory)


def write_test_log(invoke: Invoke, tenant: Tenant, payload: dict[str, Any] | None = None) -> str:
    definition = {"type": "api", "payload": payload or {"key": "value"}}
    response = invoke("TestDefinitionFunction", api_event("test_definition", tenant, body=definition))
    assert response["statusCode"] == 201, response["body"]
    return str(body(response)["id"])


def list_logs(invoke: Invoke, tenant: Tenant, **query: str) -> dict[str, Any]:
    return invoke("ListLogsFunction", api_event("list_logs", tenant, query=query))  # type: ignore[no-any-return]


def ids(response: dict[str, Any]) -> list[str]:
    assert response["statusCode"] == 200, response["body"]
    return [log["id"] for log in body(response)]


def aggregate(invoke: Invoke, tenant: Tenant, **query: str) -> dict[str, Any]:
    return invoke("AggregateLogsFunction", api_event("aggregate_logs", tenant, query=query))  # type: ignore[no-any-return]


def get_log(invoke: Invoke, tenant: Tenant, log_id: str) -> dict[str, Any]:
    return invoke("GetLogFunction", api_event("get_log", tenant, log_id=log_id))  # type: ignore[no-any-return]


def run_cron(invoke: Invoke) -> dict[str, Any]:
    return invoke("RetentionFunction", {})  # type: ignore[no-any-return]


@pytest.mark.parametrize("cron_first", [False, True])
def test_lifecycle_boundaries_with_and_without_the_cron(
    invoke: Invoke, tenant: Tenant, clock: ManualClock, cron_first: bool
) -> None:
    log_id = write_test_log(invoke, tenant)
    expectations = [
        (timedelta(hours=1, minutes=59, seconds=59), "active"),
        (timedelta(hours=2), "archived"),
        (timedelta(hours=47, minutes=59, seconds=59), "archived"),
        (timedelta(hours=48), None),
        (timedelta(hours=72), None),
    ]
    fired = clock.now()
    for age, state in expectations:
        clock.set(fired + age)
        if cron_first:
            assert run_cron(invoke)["ran"]
        active, archived = (
            ids(list_logs(invoke, tenant, state="active")),
            ids(list_logs(invoke, tenant, state="archived")),
        )
        assert (log_id in active, log_id in archived) == (state == "active", state == "archived"), age
        assert (log_id in ids(list_logs(invoke, tenant))) == (state is not None)
        one = get_log(invoke, tenant, log_id)
        if state is None:
            assert one["statusCode"] == 404
        else:
            assert one["statusCode"] == 200 and body(one)["state"] == state
        totals = body(aggregate(invoke, tenant))["totals"]
        assert totals == {
            "active": int(state == "active"),
            "archived": int(state == "archived"),
            "total": int(state is not None),
        }


def test_a_cron_that_did_not_run_for_three_days_loses_nothing_inside_48_hours(
    invoke: Invoke, tenant: Tenant, clock: ManualClock, database_url: str
) -> None:
    start = clock.now()
    written = {}
    for hours in (0, 24, 50, 71, 72):
        clock.set(start + timedelta(hours=hours))
        written[hours] = write_test_log(invoke, tenant)  # inserts never lack a partition, cron or not
    report = run_cron(invoke)
    # The first hour is wholly past 48 h and dropped; the 24 h log is hidden, its hour not yet wholly past.
    assert report["ran"] and report["partitions_dropped"] >= 1 and report["logs_removed"] >= 1
    visible = ids(list_logs(invoke, tenant))
    assert [h for h, i in written.items() if i in visible] == [50, 71, 72]
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM event_logs WHERE id = ANY(%s::uuid[])", ([written[50], written[71]],))
        assert cur.fetchone() == (2,)
    assert run_cron(invoke)["partitions_dropped"] == 0  # idempotent


def test_two_crons_at_once_do_not_collide(database_url: str, clock: ManualClock) -> None:
    def run(db: Database) -> RetentionReport:
        return run_retention(store=PostgresRetentionStore(db, LogPartitions(db)), clock=clock)

    reports = concurrently(2, database_url, run)
    assert len(reports) == 2 and any(r.ran for r in reports)


def test_pages_are_newest_first_with_a_link_to_the_next(invoke: Invoke, tenant: Tenant, clock: ManualClock) -> None:
    written = []
    for _ in range(5):
        written.append(write_test_log(invoke, tenant))
        clock.advance(timedelta(seconds=1))
    seen: list[str] = []
    query = {"limit": "2"}
    while True:
        response = list_logs(invoke, tenant, **query)
        assert response["statusCode"] == 200
        seen += ids(response)
        link = header(response, "Link")
        if not link:
            break
        query = {"limit": "2", "cursor": link.split("cursor=")[1].split(">")[0]}
    assert seen == written[::-1]


def test_filters_by_trigger_source_and_time(invoke: Invoke, tenant: Tenant, clock: ManualClock) -> None:
    created = invoke("CreateTriggerFunction", api_event("create_trigger-api", tenant))
    trigger_id = body(created)["id"]
    fired = body(invoke("FireTriggerFunction", api_event("fire_trigger", tenant, trigger_id)))["id"]
    clock.advance(timedelta(minutes=10))
    tested = write_test_log(invoke, tenant)
    assert ids(list_logs(invoke, tenant, trigger_id=trigger_id)) == [fired]
    assert ids(list_logs(invoke, tenant, source="test")) == [tested]
    assert ids(list_logs(invoke, tenant, source="api")) == [fired]
    middle = (clock.now() - timedelta(minutes=5)).isoformat()
    assert ids(list_logs(invoke, tenant, since=middle)) == [tested]
    assert ids(list_logs(invoke, tenant, until=middle)) == [fired]
    agg = body(aggregate(invoke, tenant))
    assert agg["by_source"]["api"]["total"] == 1 and agg["by_source"]["test"]["total"] == 1
    by_trigger = {entry["trigger_id"]: entry for entry in agg["by_trigger"]}
    assert by_trigger[trigger_id]["total"] == 1 and by_trigger[None]["trigger_type"] == "api"
    assert body(aggregate(invoke, tenant, trigger_id=trigger_id))["totals"]["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "old"}, "state"),
        ({"source": "email"}, "source"),
        ({"trigger_id": "nope"}, "trigger_id"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "AQID"}, "cursor"),
        ({"until": "0.5"}, "until"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"trigger_id": "0" * 36}, "trigger_id"),
    ],
)
def test_bad_log_queries_are_422(invoke: Invoke, tenant: Tenant, query: dict[str, str], field: str) -> None:
    response = list_logs(invoke, tenant, **query)
    assert response["statusCode"] == 422, response["body"]
    assert field in [e["field"] for e in body(response)["errors"]]


def test_reads_are_isolated_by_tenant(invoke: Invoke, make_tenant: Any) -> None:
    owner, other = make_tenant(), make_tenant()
    log_id = write_test_log(invoke, owner)
    assert ids(list_logs(invoke, other)) == []
    assert get_log(invoke, other, log_id)["statusCode"] == 404
    assert body(aggregate(invoke, other))["totals"]["total"] == 0
    assert get_log(invoke, owner, log_id)["statusCode"] == 200
    assert get_log(invoke, owner, "not-a-log")["statusCode"] == 404


# Caching against the machine's Redis -------------------------------------------------------------


@pytest.fixture
def redis_cache(monkeypatch: pytest.MonkeyPatch) -> SignedCache:
    """Redis as production wires it: entries signed with the cache secret."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    cache = SignedCache(RedisCache(REDIS_URL), b"k" * 32)
    monkeypatch.setattr(wiring, "cache", lambda: cache)
    return cache


def test_first_pages_and_aggregates_are_cached_and_a_new_log_is_counted_at_once(
    invoke: Invoke, tenant: Tenant, redis_cache: SignedCache
) -> None:
    write_test_log(invoke, tenant)
    for read in (lambda: list_logs(invoke, tenant), lambda: aggregate(invoke, tenant)):
        first, second = read(), read()
        assert (header(first, "X-Cache"), header(second, "X-Cache")) == ("miss", "hit")
        assert body(first) == body(second)
    write_test_log(invoke, tenant)
    after = list_logs(invoke, tenant)
    assert header(after, "X-Cache") == "miss" and len(body(after)) == 2
    counted = aggregate(invoke, tenant)  # its cached snapshot brought up to date, not read again in full
    assert header(counted, "X-Cache") == "hit" and body(counted)["totals"]["total"] == 2


def test_deep_pages_bypass_the_cache(invoke: Invoke, tenant: Tenant, redis_cache: SignedCache) -> None:
    write_test_log(invoke, tenant)
    write_test_log(invoke, tenant)
    link = header(list_logs(invoke, tenant, limit="1"), "Link")
    assert link
    deep = list_logs(invoke, tenant, limit="1", cursor=link.split("cursor=")[1].split(">")[0])
    assert header(deep, "X-Cache") == "bypass" and len(body(deep)) == 1


def test_unreachable_redis_gives_the_same_answers_with_bypass(
    invoke: Invoke, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_test_log(invoke, tenant)
    expected = body(list_logs(invoke, tenant))
    monkeypatch.setattr(wiring, "cache", lambda: RedisCache("redis://127.0.0.1:1/0"))
    down = list_logs(invoke, tenant)
    assert down["statusCode"] == 200 and header(down, "X-Cache") == "bypass"
    assert body(down) == expected
    assert header(aggregate(invoke, tenant), "X-Cache") == "bypass"
    assert write_test_log(invoke, tenant)  # writes do not fail either


def test_garbage_in_redis_is_never_served(invoke: Invoke, tenant: Tenant, redis_cache: SignedCache) -> None:
    import redis

    write_test_log(invoke, tenant)
    expected = body(list_logs(invoke, tenant))
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter("etp:logs:*"):
        client.set(key, b"\xff\x00not json")
    assert body(list_logs(invoke, tenant)) == expected
    client.set(GENERATION_KEY.format(tenant=tenant.id), b"garbage")
    response = list_logs(invoke, tenant)
    assert header(response, "X-Cache") == "bypass" and body(response) == expected


def test_entries_forged_in_redis_are_misses_never_hits(
    invoke: Invoke, tenant: Tenant, redis_cache: SignedCache
) -> None:
    import redis

    write_test_log(invoke, tenant)
    expected = body(list_logs(invoke, tenant))
    assert header(list_logs(invoke, tenant), "X-Cache") == "hit"
    client = redis.Redis.from_url(REDIS_URL)
    forged_log = {**expected[0], "payload": {"key": "forged"}}
    for key in client.scan_iter("etp:logs:*"):
        stored = client.get(key).decode()  # type: ignore[union-attr]
        mac, exact_until, next_cursor, _ = stored.split("\n", 3)
        client.set(key, "\n".join([mac, exact_until, next_cursor, json.dumps([forged_log])]))
    response = list_logs(invoke, tenant)
    assert header(response, "X-Cache") == "miss" and body(response) == expected


def test_pages_stop_at_1_mib_and_link_to_the_rest(invoke: Invoke, tenant: Tenant) -> None:
    big = {f"k{i:02}": "é" * 500 for i in range(15)}  # 15 KB of UTF-8 each, under the 16 KiB cap
    written = [write_test_log(invoke, tenant, big) for _ in range(80)]
    first = list_logs(invoke, tenant, limit="500")
    assert len(first["body"].encode()) <= 1024 * 1024
    assert "\\u00e9" not in first["body"]  # UTF-8, not 6-byte escapes
    link = header(first, "Link")
    assert link is not None
    cursor = link.split("cursor=")[1].split(">")[0]
    rest = list_logs(invoke, tenant, limit="500", cursor=cursor)
    assert sorted(ids(first) + ids(rest)) == sorted(written)


def test_after_a_redis_error_the_cache_backs_off_instead_of_timing_out_again() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", backoff_s=60)
    with pytest.raises(CacheUnavailable) as first:
        cache.get("k")
    assert first.value.__cause__ is not None  # it really tried
    with pytest.raises(CacheUnavailable) as second:
        cache.get("k")
    assert second.value.__cause__ is None  # it did not try again


# Query plans -------------------------------------------------------------------------------------

HOT_QUERIES = {
    "first page": "SELECT * FROM event_logs WHERE tenant_id = %(t)s AND fired_at > %(after)s AND fired_at <= %(soon)s "
    "ORDER BY fired_at DESC, id DESC LIMIT 51",
    "deep page": "SELECT * FROM event_logs WHERE tenant_id = %(t)s AND fired_at > %(after)s AND fired_at <= %(soon)s "
    "AND (fired_at, id) < (%(now)s, %(id)s) ORDER BY fired_at DESC, id DESC LIMIT 51",
    "by trigger": "SELECT * FROM event_logs WHERE tenant_id = %(t)s AND fired_at > %(after)s AND fired_at <= %(soon)s "
    "AND trigger_id = %(id)s ORDER BY fired_at DESC, id DESC LIMIT 51",
    "one log": "SELECT * FROM event_logs WHERE tenant_id = %(t)s AND id = %(id)s "
    "AND fired_at >= %(after)s AND fired_at >= %(now)s AND fired_at < %(later)s",
    "aggregate": "SELECT trigger_id, source, count(*) FROM event_logs WHERE tenant_id = %(t)s "
    "AND fired_at > %(after)s AND fired_at <= %(soon)s GROUP BY trigger_id, source",
}


@pytest.mark.parametrize("name", sorted(HOT_QUERIES))
def test_hot_log_queries_use_indexes_and_prune_partitions(database_url: str, tenant: Tenant, name: str) -> None:
    now = datetime.now(UTC)
    db = Database(lambda: database_url)
    store = PostgresRetentionStore(db, LogPartitions(db))
    store.ensure_partitions([now + timedelta(hours=h) for h in range(-60, 25)])
    params = {"t": str(tenant.id), "after": now - timedelta(hours=48), "now": now, "later": now + timedelta(seconds=1)}
    params["soon"] = now + timedelta(minutes=1)
    params["id"] = "01a2259a-6b93-73db-b2ff-98deb31e9f51"
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SET enable_seqscan = off")  # any scan left sequential has no index to use
        cur.execute("EXPLAIN (FORMAT JSON) " + HOT_QUERIES[name], params)
        plan = json.dumps(cur.fetchone()[0])  # type: ignore[index]
        cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_logs'::regclass")
        (partitions,) = cur.fetchone() or (0,)
    assert '"Seq Scan"' not in plan, plan
    scanned = plan.count('"Relation Name": "event_logs_p')
    assert 0 < scanned <= 50 < partitions, (scanned, partitions)


def test_the_sample_events_address_the_log_routes() -> None:
    assert load_event("list_logs")["resource"] == "/logs"
    assert load_event("get_log")["pathParameters"] == {"log_id": "0192f0c4-1111-7000-8000-000000000001"}
