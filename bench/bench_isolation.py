"""Isolation of capacity and memory between tenants (issue 12), against ``python -m local`` with the
default rate limits (20 requests/s per tenant, 40 at once: the end-to-end helper lifts them unless
told) and Redis, every tenant a new one on a database of the script's own:

1. Noisy neighbour: tenant A, 200,000 logs over 48 h, runs 16 keep-alive clients of
   ``GET /logs/aggregate`` as fast as they can for 20 s, each call's ``since`` a whole second after
   the last (cache keys quantise it to the second: every call misses), heeding no 429; tenant B (20
   triggers) reads ``GET /triggers`` 15 times a second, within its own rate. B's p50/p99 alone and
   beside A (target: p99 ≤ 250 ms); A's answers by status (target: its excess gets 429s, not
   timeouts or 5xx).
2. The largest responses: ``GET /logs?limit=500`` over 600 logs whose payloads fill the 16 KiB cap
   with emoji (the payload fired through the API first: 201, and 422 with one emoji more), over the
   15 optional string keys of its trigger's schema; ``GET /triggers?limit=500`` over 100 triggers
   as large as definitions get (a name of 200 emoji, 100 schema keys of 128, a payload at the cap,
   within the 64 KiB a body may have; one created through the API); the aggregate
   of a tenant whose logs name 100,000 triggers (deleted ones: about 4 h of create, fire, delete at
   the rate limit). Bytes and time of each (target: ≤ 1 MiB; a page stops there and links onward).
3. RSS of the whole runtime (its process group, summed) while 3,000 idle connections are open,
   30 clients send 10 MiB bodies, and 2 clients per tenant fetch each of those three for 20 s, a
   new query at every call: with REDIS_URL, and without (where the runtime caches nothing; rate
   limits per worker). Target ≤ 400 MB. Beside it, a Lambda instance without Redis (its in-process
   cache, CACHE_MAX_BYTES 64 MiB): what a fresh process running ListLogsFunction gains over 1,200
   distinct cacheable pages (15 such logs each, under the 256 KiB an entry may have).
4. The cron storm: tenant A creates 2,000 ``* * * * *`` crons from 4 clients as fast as its rate
   allows (a 429 retried after its Retry-After) while tenant B's 20 crons of the same schedule
   fire: A's creates by status (target: refused at the quota, 1,000, with 409 quota-exceeded), and
   the lateness (fired_at - scheduled_for, read through GET /logs) of B's fires at the first minute
   all of A's crons are due, and at every minute of the run (target ≤ 1 s).

Redis is BENCH_REDIS_URL (default db 14). ISOLATION_SECONDS sets the timed runs (default 20). The
clients share the 2 cores with the runtime and PostgreSQL: the figures are indicative. Exits 0
whatever the figures; about 4-5 minutes here.
"""

import itertools
import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from uuid import UUID

from common import (
    API_TRIGGER,
    REDIS_URL,
    Functions,
    KeepAlive,
    Repeating,
    api_event,
    connect,
    create_triggers,
    definition,
    fresh_database,
    group_memory_mb,
    heading,
    load_logs,
    median,
    new_trigger,
    percentile,
    running_platform,
    send_body,
    show,
    still_open,
    tenant_and_token,
    uncached_times,
)

from tests.e2e.conftest import Runtime
from trigger_platform.definitions import MAX_NAME_LENGTH
from trigger_platform.edge.json_body import MAX_BODY_BYTES
from trigger_platform.edge.log_reads import MAX_CACHED_BYTES
from trigger_platform.edge.responses import MAX_PAGE_BYTES
from trigger_platform.payloads import MAX_KEY_LENGTH, MAX_KEYS, MAX_PAYLOAD_BYTES, Scalar, payload_bytes
from trigger_platform.settings import Settings

SECONDS = float(os.environ.get("ISOLATION_SECONDS", "20"))
#: TENANT_RATE_LIMIT and TENANT_RATE_BURST at their defaults: start_runtime lifts them unless told.
DEFAULTS = Settings.model_fields
DEFAULT_RATES = {
    "TENANT_RATE_LIMIT": str(DEFAULTS["tenant_rate_limit"].default),
    "TENANT_RATE_BURST": str(DEFAULTS["tenant_rate_burst"].default),
}
#: A client gives up on an answer after this long and counts a timeout.
CLIENT_TIMEOUT_S = 10

NOISY_LOGS = 200_000
NOISY_CLIENTS = 16
QUIET_TRIGGERS = 20
QUIET_RATE = 15  # B's requests a second: within its own limit
QUIET_P99_TARGET_S = 0.25

EMOJI = "\N{GRINNING FACE}"  # 4 bytes of UTF-8; json.dumps with ensure_ascii would write 12
OPTIONAL_KEYS = [f"note{i:02}" for i in range(15)]
BIG_LOGS = 600
BIG_TRIGGERS = 100
WIDE_TRIGGERS = 100_000
LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024  # over it, API Gateway answers 502

IDLE_CONNECTIONS = 3_000
BODY_SENDERS = 30
BODY_SIZE = 10 * 1024 * 1024
READERS = 2  # per attacking tenant
RSS_TARGET_MB = 400
CACHEABLE_LIMIT = 15  # logs at the payload cap in a page that still fits MAX_CACHED_BYTES
INSTANCE_PAGES = 1_200
CACHE_BUDGET_MB = DEFAULTS["cache_max_bytes"].default / 1e6
#: A fresh process's RSS gain that still means "the budget held": the budget and a quarter for the allocator.
INSTANCE_TARGET_MB = CACHE_BUDGET_MB * 1.25

STORM_CRONS = 2_000
STORM_CLIENTS = 4
RECURRING_QUOTA = DEFAULTS["tenant_max_recurring_triggers"].default
LATENESS_TARGET_S = 1.0
CRON = {"type": "scheduled", "schedule": {"cron": "* * * * *", "timezone": "UTC"}}


def utf8(document: Any) -> bytes:
    """A JSON body as a client that writes UTF-8 sends it (no \\u escapes)."""
    return json.dumps(document, ensure_ascii=False).encode()


# Clients that heed nothing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    outcome: int | str  # the HTTP status, or "timeout" / "connection error"
    seconds: float
    size: int


def client(
    runtime: Runtime, token: str, paths: Callable[[], str], until: float, answered: list[Answered], every_s: float = 0
) -> None:
    """GETs on one keep-alive connection until ``until``, one every ``every_s`` (0: back to back).
    Every answer is noted and the next request goes, a 429 like any other; a timeout or a broken
    connection is noted too, and a new connection opened."""
    connection: KeepAlive | None = None
    due = time.monotonic()
    while time.monotonic() < until:
        if every_s:
            time.sleep(max(0.0, due - time.monotonic()))
            due += every_s
        started = time.perf_counter()
        try:
            connection = connection or KeepAlive(runtime.port, token, CLIENT_TIMEOUT_S)
            answer = connection.request("GET", paths())
            answered.append(Answered(answer.status, time.perf_counter() - started, len(answer.body)))
        except OSError as error:
            outcome = "timeout" if isinstance(error, TimeoutError) else "connection error"
            answered.append(Answered(outcome, time.perf_counter() - started, 0))
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()


def together(*work: Callable[[], object]) -> None:
    threads = [threading.Thread(target=job) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def by_outcome(answered: Sequence[Answered]) -> str:
    counts = Counter(a.outcome for a in answered)
    return ", ".join(f"{outcome} x {count:,}" for outcome, count in sorted(counts.items(), key=str)) or "none"


def latencies_ms(answered: Sequence[Answered]) -> tuple[float, float]:
    """p50 and p99 of the 200s, in milliseconds."""
    seconds = [a.seconds for a in answered if a.outcome == 200] or [float("nan")]
    return percentile(seconds, 0.5) * 1000, percentile(seconds, 0.99) * 1000


# 1. Noisy neighbour ----------------------------------------------------------------------------


def noisy_neighbour(url: str, work: Path) -> None:
    heading(f"1. Noisy neighbour: A's {NOISY_CLIENTS} cache-busting aggregate clients over {NOISY_LOGS:,} logs")
    noisy, noisy_token = tenant_and_token("noisy")
    quiet, quiet_token = tenant_and_token("quiet")
    fired_by = create_triggers(url, noisy, API_TRIGGER, 1)
    create_triggers(url, quiet, API_TRIGGER, QUIET_TRIGGERS)
    now = datetime.now(UTC)
    load_logs(url, fired_by, NOISY_LOGS, now - timedelta(hours=48) + timedelta(minutes=1), now)
    with running_platform(url, work / "noisy.log", REDIS_URL=REDIS_URL, **DEFAULT_RATES) as runtime:
        alone: list[Answered] = []
        client(runtime, quiet_token, lambda: "/triggers", time.monotonic() + SECONDS / 2, alone, 1 / QUIET_RATE)
        since = uncached_times(now - timedelta(hours=47))
        until = time.monotonic() + SECONDS
        loud: list[Answered] = []
        beside: list[Answered] = []

        def quiet_beside() -> None:
            time.sleep(1)  # the noise is up
            client(runtime, quiet_token, lambda: "/triggers", until, beside, 1 / QUIET_RATE)

        together(
            *[lambda: client(runtime, noisy_token, lambda: f"/logs/aggregate?since={since()}", until, loud)]
            * NOISY_CLIENTS,
            quiet_beside,
        )
    for label, answered in (("alone", alone), ("beside A", beside)):
        p50, p99 = latencies_ms(answered)
        value = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({by_outcome(answered)})"
        met = p99 <= QUIET_P99_TARGET_S * 1000 and all(a.outcome == 200 for a in answered)
        show(f"B's GET /triggers, {QUIET_RATE}/s, {label}", value, "p99 ≤ 250 ms", met if answered is beside else None)
    counts = Counter(a.outcome for a in loud)
    failed = sum(n for outcome, n in counts.items() if not isinstance(outcome, int) or outcome >= 500)
    show(f"A's answers in {SECONDS:.0f} s", by_outcome(loud), "429s, no t/o", counts[429] > 0 and failed == 0)
    p50, p99 = latencies_ms(loud)
    rate = DEFAULT_RATES["TENANT_RATE_LIMIT"]
    show(f"A's aggregates served (rate {rate}/s)", f"{counts[200] / SECONDS:.1f}/s, p50 {p50:.0f} ms", "", None)


# 2. The largest responses ----------------------------------------------------------------------


def emoji_payload(count: int) -> dict[str, Scalar]:
    """Values for the schema's 15 optional string keys, ``count`` emoji each."""
    return {key: EMOJI * count for key in OPTIONAL_KEYS}


def emoji_at_the_cap() -> int:
    """The most emoji each of the 15 keys can have with the payload under the 16 KiB cap."""
    count = 1
    while payload_bytes(emoji_payload(count + 1)) <= MAX_PAYLOAD_BYTES:
        count += 1
    return count


def largest_definition(payload: dict[str, Scalar]) -> dict[str, Any]:
    """An api trigger as large as a definition gets: a name of emoji, the payload, and a schema of
    the payload's keys and as many 128-emoji keys more as are allowed and fit a body."""
    schema = {key: "string?" for key in OPTIONAL_KEYS}
    document = {"type": "api", "name": EMOJI * MAX_NAME_LENGTH, "payload": payload, "schema": schema}
    while len(schema) < MAX_KEYS:
        key = f"{len(schema):03}" + EMOJI * (MAX_KEY_LENGTH - 3)
        schema[key] = "string?"
        if len(utf8(document)) > MAX_BODY_BYTES:
            del schema[key]
            break
    return document


@dataclass(frozen=True)
class Attacker:
    """A tenant whose reads make the largest answers, and the query it sends (a new one each call)."""

    label: str
    token: str
    paths: Callable[[], str]


def seed_attackers(url: str, runtime: Runtime) -> tuple[list[Attacker], UUID]:
    """Tenants whose every read is as large as reads get, the fire and create proving the API takes
    what is bulk-loaded; and the tenant of the big logs."""
    now = datetime.now(UTC)
    count = emoji_at_the_cap()
    payload = emoji_payload(count)
    logs_tenant, logs_token = tenant_and_token("big-logs")
    [fired_by] = create_triggers(
        url, logs_tenant, {"type": "api", "schema": dict.fromkeys(OPTIONAL_KEYS, "string?")}, 1
    )
    with KeepAlive(runtime.port, logs_token) as connection:
        fire = f"/triggers/{fired_by.id}/fire"
        at_cap = connection.request("POST", fire, utf8(payload)).status
        over = connection.request("POST", fire, utf8({**payload, OPTIONAL_KEYS[0]: EMOJI * (count + 1)}))
    show(
        f"a fire of {payload_bytes(payload):,} bytes, then one emoji more",
        f"{at_cap}, {over.status}",
        "201, 422",
        (at_cap, over.status) == (201, 422),
    )
    text = json.dumps(payload, ensure_ascii=False)
    load_logs(url, [fired_by], BIG_LOGS, now - timedelta(hours=47), now, test_share=0, payload=text)

    triggers_tenant, triggers_token = tenant_and_token("big-triggers")
    document = largest_definition(payload)
    with KeepAlive(runtime.port, triggers_token) as connection:
        created = connection.request("POST", "/triggers", utf8(document)).status
    show(f"a create of {len(utf8(document)):,} bytes", str(created), "201", created == 201)
    create_triggers(url, triggers_tenant, document, BIG_TRIGGERS - 1)

    wide_tenant, wide_token = tenant_and_token("wide")
    seeded = definition(API_TRIGGER)
    deleted = [new_trigger(wide_tenant, seeded) for _ in range(WIDE_TRIGGERS)]  # never stored, as if deleted
    load_logs(url, deleted, 2 * WIDE_TRIGGERS, now - timedelta(hours=47), now, test_share=0)

    logs_since = uncached_times(now - timedelta(hours=48))
    wide_since = uncached_times(now - timedelta(hours=48))
    attackers = [
        Attacker(
            f"GET /logs?limit=500, {BIG_LOGS} logs at the cap",
            logs_token,
            lambda: f"/logs?limit=500&since={logs_since()}",
        ),
        Attacker(
            f"GET /triggers?limit=500, {BIG_TRIGGERS} of {len(utf8(document)) // 1024} KiB",
            triggers_token,
            lambda: "/triggers?limit=500",
        ),
        Attacker(
            f"GET /logs/aggregate, {2 * WIDE_TRIGGERS:,} logs of {WIDE_TRIGGERS:,} triggers",
            wide_token,
            lambda: f"/logs/aggregate?since={wide_since()}",
        ),
    ]
    return attackers, logs_tenant


def largest_responses(url: str, work: Path) -> tuple[list[Attacker], UUID]:
    heading("2. The largest responses (3 calls each)")
    with running_platform(url, work / "largest.log", REDIS_URL=REDIS_URL, **DEFAULT_RATES) as runtime:
        attackers, logs_tenant = seed_attackers(url, runtime)
        largest = (0, "")
        for attacker in attackers:
            with KeepAlive(runtime.port, attacker.token) as connection:
                timed = []
                for _ in range(3):
                    started = time.perf_counter()
                    answer = connection.request("GET", attacker.paths())
                    timed.append(time.perf_counter() - started)
            if answer.status != 200:
                show(attacker.label, f"{answer.status}: {answer.body[:200]!r}", "≤ 1 MiB", False)
                continue
            document = json.loads(answer.body)
            items = len(document) if isinstance(document, list) else len(document["by_trigger"])
            more = "; Link to the rest" if "link" in answer.headers else ""
            value = f"{len(answer.body):,} bytes ({items:,} items{more}), {median(timed) * 1000:,.0f} ms"
            show(attacker.label, value, "≤ 1 MiB", len(answer.body) <= MAX_PAGE_BYTES)
            largest = max(largest, (len(answer.body), attacker.label.split(",")[0]))
    show("the largest of them", f"{largest[0]:,} bytes ({largest[1]})", "< 6 MiB", largest[0] < LAMBDA_RESPONSE_BYTES)
    return attackers, logs_tenant


# 3. Memory --------------------------------------------------------------------------------------


def memory_attacks(url: str, work: Path, attackers: list[Attacker], label: str, redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, **DEFAULT_RATES}
    with running_platform(url, work / f"memory-{'redis' if redis_url else 'alone'}.log", **env) as runtime:
        group = runtime.process.pid
        time.sleep(1)
        idle_mb = peak = group_memory_mb(group)

        def sample() -> None:
            nonlocal peak
            rss, pss = group_memory_mb(group)
            peak = (max(peak[0], rss), max(peak[1], pss))

        with Repeating(0.1, sample):
            idle = [socket.create_connection(("127.0.0.1", runtime.port)) for _ in range(IDLE_CONNECTIONS)]
            outcomes: list[str] = []
            until = time.monotonic() + SECONDS
            answered: dict[str, list[Answered]] = {attacker.label: [] for attacker in attackers}
            together(
                *[lambda: send_body(runtime.port, attackers[0].token, BODY_SIZE, outcomes)] * BODY_SENDERS,
                *[
                    lambda attacker=attacker: client(
                        runtime, attacker.token, attacker.paths, until, answered[attacker.label]
                    )
                    for attacker in attackers
                    for _ in range(READERS)
                ],
            )
            open_after = sum(1 for sock in idle if still_open(sock))
            for sock in idle:
                sock.close()
    rss = f"idle {idle_mb[0]:.0f} MB, peak {peak[0]:.0f} MB (PSS {idle_mb[1]:.0f} → {peak[1]:.0f} MB)"
    show(f"runtime RSS, {label}", rss, f"≤ {RSS_TARGET_MB} MB", peak[0] <= RSS_TARGET_MB)
    for attacker in attackers:
        served = answered[attacker.label]
        biggest = max((a.size for a in served), default=0)
        show(f"  {attacker.label.split(',')[0]}", f"{by_outcome(served)}; largest {biggest:,} bytes", "", None)
    show("  the 10 MiB bodies", ", ".join(f"{n} x {o}" for o, n in Counter(outcomes).items()), "", None)
    show("  idle connections still open at the end", f"{open_after:,} of {IDLE_CONNECTIONS:,}", "", None)


def own_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def lambda_instance(database_url: str, tenant_id: UUID) -> tuple[float, float, int, float, dict[str, int]]:
    """In a fresh process: ListLogsFunction as a Lambda instance without Redis runs it (its
    in-process cache on), INSTANCE_PAGES distinct cacheable pages after a warm-up. Its RSS before
    and after, the bytes its cache counts, the seconds it took, the answers by status and X-Cache."""
    os.environ.update(DATABASE_URL=database_url, REDIS_URL="", CACHE_IN_PROCESS="true")
    from trigger_platform.edge import wiring

    functions = Functions()
    since = uncached_times(datetime.now(UTC) - timedelta(hours=48))

    def page() -> dict[str, Any]:
        query = {"limit": str(CACHEABLE_LIMIT), "since": since()}
        return functions.invoke("ListLogsFunction", api_event("list_logs", tenant_id, query=query))  # type: ignore[no-any-return]

    for _ in range(20):
        page()
    before, started, answers = own_rss_mb(), time.perf_counter(), Counter[str]()
    for _ in range(INSTANCE_PAGES):
        response = page()
        headers = {
            **(response.get("headers") or {}),
            **{k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items()},
        }
        entry = len(response["body"].encode())
        answers[
            f"{response['statusCode']} {headers.get('X-Cache')} {'≤' if entry <= MAX_CACHED_BYTES else '>'} 256 KiB"
        ] += 1
    took = time.perf_counter() - started
    return before, own_rss_mb(), wiring.cache().size_bytes, took, dict(answers)  # type: ignore[attr-defined]


def memory(url: str, work: Path, attackers: list[Attacker], logs_tenant: UUID) -> None:
    heading(
        f"3. Memory: {IDLE_CONNECTIONS:,} idle connections, {BODY_SENDERS} clients sending 10 MiB, and"
        f" {READERS} clients of each read above, for {SECONDS:.0f} s"
    )
    memory_attacks(url, work, attackers, "with REDIS_URL", REDIS_URL)
    memory_attacks(url, work, attackers, "without REDIS_URL (no cache)", "")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as instance:
        before, after, counted, took, answers = instance.submit(lambda_instance, url, logs_tenant).result()
    label = f"a Lambda instance, {INSTANCE_PAGES:,} pages of {CACHEABLE_LIMIT} in process"
    value = f"RSS {before:.0f} → {after:.0f} MB; its cache counts {counted / 1e6:.1f} MB; {took:.0f} s"
    show(label, value, f"+≤ {INSTANCE_TARGET_MB:.0f} MB", after - before <= INSTANCE_TARGET_MB)
    show("  its answers (status, X-Cache, size)", ", ".join(f"{n} x {a}" for a, n in answers.items()), "", None)


# 4. The cron storm ------------------------------------------------------------------------------


def lateness_s(log: dict[str, Any]) -> float:
    return (datetime.fromisoformat(log["fired_at"]) - datetime.fromisoformat(log["scheduled_for"])).total_seconds()


def cron_storm(url: str, work: Path) -> None:
    heading(f"4. The cron storm: A creates {STORM_CRONS:,} crons of * * * * * while B's {QUIET_TRIGGERS} fire")
    storm_tenant, storm_token = tenant_and_token("storm")
    _, quiet_token = tenant_and_token("on-time")
    with running_platform(url, work / "storm.log", REDIS_URL=REDIS_URL, **DEFAULT_RATES) as runtime:
        with KeepAlive(runtime.port, quiet_token) as connection:
            made = [connection.request("POST", "/triggers", utf8(CRON)).status for _ in range(QUIET_TRIGGERS)]
            assert made == [201] * QUIET_TRIGGERS, made
        attempts = itertools.count()
        answers: list[tuple[int, float, bytes]] = []  # status, when (epoch s), body
        retried: list[float] = []  # when a 429 came

        def create() -> None:
            with KeepAlive(runtime.port, storm_token) as connection:
                while next(attempts) < STORM_CRONS:
                    answer = connection.request("POST", "/triggers", utf8(CRON))
                    while answer.status == 429:
                        retried.append(time.time())
                        time.sleep(float(answer.headers.get("retry-after", "1")))
                        answer = connection.request("POST", "/triggers", utf8(CRON))
                    answers.append((answer.status, time.time(), answer.body))

        started = time.perf_counter()
        together(*[create] * STORM_CLIENTS)
        took = time.perf_counter() - started
        created_at = [at for status, at, _ in answers if status == 201]
        minute = datetime.fromtimestamp((int(max(created_at)) // 60 + 1) * 60, UTC)  # all of A's are due
        time.sleep(max(0.0, minute.timestamp() + 5 - time.time()))
        logs = runtime.request("GET", "/logs?source=scheduled&limit=500", token=quiet_token)
        assert logs.status == 200, (logs.status, logs.raw[:300])
    statuses = Counter(status for status, _, _ in answers)
    refusal: dict[str, Any] = next((json.loads(body) for status, _, body in answers if status == 409), {})
    other = {status: count for status, count in statuses.items() if status not in (201, 409)}
    value = (
        f"201 x {statuses[201]:,}, 409 x {statuses[409]:,} ({refusal.get('quota')}, limit {refusal.get('limit')},"
        f" current {refusal.get('current')}), other {other or 'none'}; {len(retried):,} 429s retried; {took:.0f} s"
    )
    met = statuses[201] == RECURRING_QUOTA and statuses[409] == STORM_CRONS - RECURRING_QUOTA
    show(f"A's {STORM_CRONS:,} creates", value, f"{RECURRING_QUOTA:,} made", met)

    fires: dict[datetime, list[float]] = {}
    for log in logs.json:
        fires.setdefault(datetime.fromisoformat(log["scheduled_for"]), []).append(lateness_s(log))
    at_minute = fires.get(minute) or [float("nan")]
    value = f"{len(fires.get(minute, []))} fires, lateness p50 {median(at_minute):.3f} s, max {max(at_minute):.3f} s"
    met = len(fires.get(minute, [])) == QUIET_TRIGGERS and max(at_minute) <= LATENESS_TARGET_S
    show(f"B's fires at {minute:%H:%M}, A's {RECURRING_QUOTA:,} due too", value, "≤ 1 s", met)
    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), extract(epoch FROM max(fired_at - scheduled_for)) FROM event_logs"
            " WHERE tenant_id = %s AND scheduled_for = %s",
            (storm_tenant, minute),
        )
        count, latest = cur.fetchone()
    latest_s = float("nan") if latest is None else float(latest)
    show(f"A's fires at {minute:%H:%M}", f"{count:,}, the latest {latest_s:.3f} s late", "", None)
    every = [late for lateness in fires.values() for late in lateness]
    value = f"{len(every)} fires over {len(fires)} minutes, max {max(every, default=float('nan')):.3f} s late"
    show("B's fires, every minute of the run", value, "≤ 1 s", max(every, default=0) <= LATENESS_TARGET_S)


def main() -> None:
    started = time.perf_counter()
    with TemporaryDirectory(prefix="etp_bench_isolation_") as tmp, fresh_database("etp_bench_isolation") as url:
        work = Path(tmp)
        noisy_neighbour(url, work)
        attackers, logs_tenant = largest_responses(url, work)
        memory(url, work, attackers, logs_tenant)
        cron_storm(url, work)  # last: its 1,020 crons would fire through the other runs
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine, whose cores the")
    print("clients, the runtime and PostgreSQL share)")


if __name__ == "__main__":
    main()
