"""On-demand load benchmark (`.venv/bin/python bench/bench_load.py`): locust against the local runtime.

One invocation, about 3.5 minutes, three runs of bench/locustfile.py (headless, 60 s, 50 users spawned
10 a second; create / list / get / fire / logs / aggregate) against one local runtime on a database
of its own, with Redis (db 12) reached through a proxy the benchmark can cut:

1. on the empty database;
2. the same, with the Redis proxy cut 20 s into the run and left down (target: 0 errors);
3. after 1,000,000 event logs were bulk-loaded (1,000 triggers of 10 tenants, the load tenant among
   them, fired over the last 48 h; VACUUM ANALYZE): p95 within 2x of run 1's.

It prints requests/s, failures and p50/p95/p99 of every run and endpoint, the X-Cache statuses the log
reads got, and, when a request failed, which ones and what the runtime logged about them. The
database is dropped at the end; exits 0 whatever the figures. LOAD_SECONDS, LOAD_USERS and LOAD_LOGS
shrink it for a quick trial (the Redis cut then comes a third of the way into run 2); LOAD_KEEP_DIR
keeps locust's CSV files and the runtime's log there. Needs locust in the venv, PostgreSQL at
DATABASE_URL and Redis at REDIS_URL (defaults: the local servers).
"""

import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import redis
from common import fresh_database
from psycopg2.extras import execute_values

from tests.e2e.conftest import Runtime, start_runtime, stop_runtime
from tests.faults import TcpProxy

ROOT = Path(__file__).resolve().parent.parent
REDIS_SERVER = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
REDIS_DB = 12
LOCUST = Path(sys.executable).parent / "locust"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"

SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
USERS = int(os.environ.get("LOAD_USERS", "50"))
SPAWN_RATE = 10
LOG_COUNT = int(os.environ.get("LOAD_LOGS", "1000000"))
CUT_AFTER_S = 20 if SECONDS >= 60 else SECONDS / 3
TENANTS = 10
TRIGGERS_PER_TENANT = 100
TEST_SHARE = 0.1  # of the loaded logs, from POST …/test rather than a real fire
P95_TARGET = 2.0

BULK_DEFINITIONS = {
    "api": {"type": "api", "payload": {"key": "value"}},
    "scheduled": {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}},
}
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
REQUEST_LINE = re.compile(r" local INFO (?P<method>[A-Z]+) (?P<target>\S+) (?P<status>\d{3}) (?P<ms>[\d.]+)ms$")
PROBLEM_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|\"level\": ?\"(WARNING|ERROR|CRITICAL)\"")
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")

NOTE = (
    "Each web worker of the local runtime (one per CPU) invokes handlers one at a time, like a warm\n"
    "Lambda instance, so these latencies include queueing behind the other users' requests (on AWS\n"
    "each concurrent request gets an instance of its own). Locust, the runtime and PostgreSQL share this\n"
    "machine's cores. Users wait 0.5-1.5 s between requests (a paced load, not a saturating one)."
)


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Result:
    label: str
    aggregated: Row
    endpoints: list[Row]
    failures: list[dict[str, str]]
    cache: dict[str, int]
    runtime_statuses: Counter[str] = field(default_factory=Counter)
    non_2xx: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    listen_overflows: int = 0
    load_average: tuple[float, float] = (0.0, 0.0)


@contextmanager
def work_dir() -> Iterator[Path]:
    """Where locust's CSV files and the runtime's log go: a temporary directory, or LOAD_KEEP_DIR (kept)."""
    kept = os.environ.get("LOAD_KEEP_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        yield Path(kept)
        return
    with tempfile.TemporaryDirectory(prefix="etp_load_") as tmp:
        yield Path(tmp)


def clear_redis() -> None:
    """This benchmark's keys in its Redis db (its tenants are new each run, so nothing else matches)."""
    client = redis.Redis(host=REDIS_SERVER.hostname or "127.0.0.1", port=REDIS_SERVER.port or 6379, db=REDIS_DB)
    try:
        keys = list(client.scan_iter(match="etp:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# Locust -------------------------------------------------------------------------------------------


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _row(record: dict[str, str]) -> Row:
    return Row(
        name=record["Name"],
        requests=int(record["Request Count"]),
        failures=int(record["Failure Count"]),
        rps=_number(record["Requests/s"]),
        p50=_number(record["50%"]),
        p95=_number(record["95%"]),
        p99=_number(record["99%"]),
    )


def run_locust(label: str, runtime: Runtime, work: Path, tag: str, at_start: threading.Timer | None = None) -> Result:
    """One headless locust run of the mix; its CSV statistics, failures and X-Cache counts."""
    prefix = work / tag
    cache_path = work / f"{tag}_cache.json"
    command = [
        str(LOCUST),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(SPAWN_RATE),
        "-t",
        f"{SECONDS}s",
        "-H",
        runtime.base_url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {**os.environ, "LOAD_TOKEN": runtime.token, "LOAD_CACHE_STATS": str(cache_path)}
    log_offset = runtime.log_path.stat().st_size
    overflows_before = listen_overflows()
    load_before = os.getloadavg()[0]
    print(f"[{time.strftime('%H:%M:%S')}] run {label}: locust {USERS} users, {SECONDS} s …", flush=True)
    with (work / f"{tag}_locust.log").open("w") as output:
        if at_start is not None:
            at_start.start()
        finished = subprocess.run(  # noqa: S603 - our own venv's locust
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=SECONDS + 120, check=False
        )
    if at_start is not None:
        at_start.cancel()
    stats_path = Path(f"{prefix}_stats.csv")
    if finished.returncode not in (0, 1) or not stats_path.exists():  # 1: some requests failed
        tail = (work / f"{tag}_locust.log").read_text()[-3000:]
        raise RuntimeError(f"locust exited {finished.returncode}:\n{tail}")
    with stats_path.open() as source:
        rows = [_row(record) for record in csv.DictReader(source)]
    failures_path = Path(f"{prefix}_failures.csv")
    failures = list(csv.DictReader(failures_path.read_text().splitlines())) if failures_path.exists() else []
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    result = Result(
        label,
        next(row for row in rows if row.name == "Aggregated"),
        [row for row in rows if row.name != "Aggregated"],
        failures,
        cache,
    )
    read_runtime_log(runtime.log_path, log_offset, result)
    result.listen_overflows = listen_overflows() - overflows_before
    result.load_average = (load_before, os.getloadavg()[0])
    return result


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (this network
    namespace, all sockets: on a quiet machine, the runtime's)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0))
    return 0


def read_runtime_log(path: Path, offset: int, result: Result) -> None:
    """The request lines the runtime logged during the run: statuses, and every non-2xx with its route;
    and the warnings, errors and tracebacks it logged, counted (a traceback by its exception and the
    frame it was raised in)."""
    time.sleep(0.5)  # what the runtime writes as locust closes its connections
    frame = ""
    in_traceback = False
    with path.open() as source:
        source.seek(offset)
        for raw in source:
            line = raw.rstrip("\n")
            found = REQUEST_LINE.search(line)
            if found:
                status = found["status"]
                result.runtime_statuses[status] += 1
                if not status.startswith("2"):
                    route = UUID_RE.sub("{id}", found["target"])
                    result.non_2xx[f"{found['method']} {route} -> {status}"] += 1
            elif line.startswith("Traceback"):
                in_traceback, frame = True, ""
            elif in_traceback and line.startswith("  File ") and (not frame or str(ROOT) in line):
                frame = line.strip()  # the innermost of the project's frames, else the outermost
            elif in_traceback and line and not line[0].isspace():
                in_traceback = False
                where = frame.replace(str(ROOT) + "/", "")
                result.problems[f"{line[:200]} ({where})"] += 1
            elif not in_traceback and PROBLEM_LINE.search(line):
                result.problems[LOG_PREFIX.sub("", line)[:300]] += 1


def warm_up(runtime: Runtime) -> None:
    """Each route the mix uses, a few times, so run 1 does not pay the handlers' first imports (cold
    starts) that the later runs would not."""
    for _ in range(3):
        for definition in BULK_DEFINITIONS.values():
            assert runtime.request("POST", "/triggers", definition, token=runtime.token).status == 201
        created = runtime.request(
            "POST", "/triggers", {"type": "api", "payload": {"key": "value"}}, token=runtime.token
        )
        trigger_id = created.json["id"]
        for method, path, body in (
            ("GET", "/triggers?limit=50", None),
            ("GET", f"/triggers/{trigger_id}", None),
            ("POST", f"/triggers/{trigger_id}/fire", {"key": "other"}),
            ("GET", "/logs", None),
            ("GET", "/logs/aggregate", None),
        ):
            reply = runtime.request(method, path, body, token=runtime.token)
            assert 200 <= reply.status < 300, (method, path, reply.status, reply.raw[:300])


# Bulk load ----------------------------------------------------------------------------------------


def load_logs(database_url: str, count: int) -> tuple[float, int]:
    """``count`` event logs of 1,000 triggers of 10 tenants (the runtime's ``default`` tenant, which the
    load users are, and 9 more), fired uniformly over the last 48 h, by one INSERT … SELECT
    generate_series; then VACUUM ANALYZE. Returns the seconds it took and the load tenant's share."""
    from trigger_platform import triggers
    from trigger_platform.auth import create_tenant_with_token
    from trigger_platform.edge import wiring
    from trigger_platform.models import TriggerDefinition

    started = time.perf_counter()
    tokens = wiring.token_store()
    load_tenant = tokens.tenant_named("default")
    assert load_tenant is not None, "the runtime registers API_TOKEN for the tenant 'default'"
    tenants = [load_tenant] + [create_tenant_with_token(f"load-bulk-{n}", tokens)[0] for n in range(1, TENANTS)]
    definitions = {kind: TriggerDefinition.model_validate(d).root for kind, d in BULK_DEFINITIONS.items()}
    store, scheduler, clock = wiring.trigger_store(), wiring.local_scheduler(), wiring.clock()
    bulk: list[tuple[int, uuid.UUID, uuid.UUID, str]] = []
    with store.atomic():
        for n in range(TENANTS * TRIGGERS_PER_TENANT):
            kind = "api" if n % 2 == 0 else "scheduled"
            owner = tenants[n % TENANTS]
            trigger = triggers.create_trigger(owner, definitions[kind], store, scheduler, clock)
            bulk.append((n, trigger.id, owner, kind))

    now = datetime.now(UTC)
    start = now - timedelta(hours=48)
    step = timedelta(hours=48) / count
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET statement_timeout = 0")
            cur.execute("CREATE TEMP TABLE bulk_triggers (n int PRIMARY KEY, id uuid, tenant_id uuid, type text)")
            execute_values(cur, "INSERT INTO bulk_triggers VALUES %s", bulk)
            cur.execute(
                "SELECT ensure_event_log_partition(%s::timestamptz + make_interval(hours => h))"
                " FROM generate_series(0, 49) AS h",
                (start,),
            )
            # UUIDv7 ids whose 48-bit prefix is fired_at in Unix ms, as trigger_platform.ids.new_id makes them.
            cur.execute(
                """
                INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test,
                                        scheduled_for, fired_at, payload, status)
                SELECT (lpad(to_hex((extract(epoch FROM f.fired_at) * 1000)::bigint), 12, '0') || '7'
                        || substr(f.h, 1, 3) || substr('89ab', 1 + floor(random() * 4)::int, 1)
                        || substr(f.h, 4, 15))::uuid,
                       t.tenant_id, t.id, t.type, s.source, s.source = 'test',
                       CASE WHEN s.source = 'scheduled' THEN date_trunc('minute', f.fired_at) END,
                       f.fired_at,
                       CASE WHEN t.type = 'api' THEN '{"key": "value"}' ELSE '{}' END::jsonb,
                       'success'
                  FROM (SELECT g, %(start)s::timestamptz + (g + random()) * %(step)s::interval AS fired_at,
                               md5(random()::text || g) AS h, random() AS r
                          FROM generate_series(0, %(count)s - 1) AS g) AS f
                  JOIN bulk_triggers AS t ON t.n = f.g %% %(triggers)s
                 CROSS JOIN LATERAL (SELECT CASE WHEN f.r < %(test_share)s THEN 'test' ELSE t.type END AS source) AS s
                """,
                {
                    "start": start,
                    "step": step,
                    "count": count,
                    "triggers": len(bulk),
                    "test_share": TEST_SHARE,
                },
            )
            loaded = cur.rowcount
            cur.execute("SELECT count(*) FROM event_logs WHERE tenant_id = %s", (load_tenant,))
            row = cur.fetchone()
            own = int(row[0]) if row else 0
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE event_logs")
            cur.execute("VACUUM ANALYZE triggers")
    finally:
        conn.close()
    assert loaded == count, (loaded, count)
    return time.perf_counter() - started, own


# Report -------------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"  # NaN when locust had no sample


def report(results: list[Result], load_took: float, own_logs: int) -> None:
    print()
    print(NOTE)
    print()
    print(f"{'run':<34} {'requests':>9} {'req/s':>7} {'failures':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for result in results:
        row = result.aggregated
        print(
            f"{result.label:<34} {row.requests:>9,} {row.rps:>7.1f} {row.failures:>9,} "
            f"{_ms(row.p50):>7} {_ms(row.p95):>7} {_ms(row.p99):>7}"
        )
    if len(results) == 3:
        first, third = results[0].aggregated.p95, results[2].aggregated.p95
        ratio = third / first if first else float("inf")
        verdict = "met" if ratio <= P95_TARGET else "NOT met"
        print(f"\np95 after the log load / empty: {ratio:.2f}x (target at most {P95_TARGET:.0f}x: {verdict})")
        errors = sum(r.aggregated.failures for r in results)
        print(f"failures in all runs: {errors} (target 0: {'met' if errors == 0 else 'NOT met'})")
    print(f"log load: {LOG_COUNT:,} logs ({own_logs:,} of them the load tenant's) in {load_took:.1f} s")

    for result in results:
        before, after = result.load_average
        print(f"\n{result.label}: per endpoint (1-min load average {before:.2f} before, {after:.2f} after; 2 cores)")
        print(f"  {'endpoint':<28} {'requests':>9} {'req/s':>7} {'failures':>9} {'p50':>7} {'p95':>7} {'p99':>7}")
        for row in sorted(result.endpoints, key=lambda r: r.name):
            print(
                f"  {row.name:<28} {row.requests:>9,} {row.rps:>7.1f} {row.failures:>9,} "
                f"{_ms(row.p50):>7} {_ms(row.p95):>7} {_ms(row.p99):>7}"
            )
        cache = ", ".join(f"{key}: {value:,}" for key, value in sorted(result.cache.items()))
        print(f"  X-Cache: {cache or 'none seen'}")
        statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(result.runtime_statuses.items()))
        print(f"  runtime log statuses: {statuses or 'no request lines found'}")
        for failure in result.failures:
            print(f"  FAILED {failure.get('Name')} x{failure.get('Occurrences')}: {failure.get('Error')}")
        for line, n in result.non_2xx.most_common():
            print(f"  runtime non-2xx: {line} x{n}")
        for line, n in result.problems.most_common():
            print(f"  runtime log x{n}: {line}")
        if result.listen_overflows:
            print(
                f"  listen queue overflows: {result.listen_overflows} (a connection the runtime's accept queue of 5"
                " had no room for; its client retries the SYN after 1 s)"
            )


def main() -> int:
    print(
        f"bench_load: {USERS} users (spawn {SPAWN_RATE}/s), {SECONDS} s a run; Redis cut {CUT_AFTER_S:.0f} s "
        f"into run 2; {LOG_COUNT:,} logs loaded before run 3",
        flush=True,
    )
    clear_redis()
    results: list[Result] = []
    load_took, own_logs = 0.0, 0
    with (
        work_dir() as work,
        fresh_database("etp_load", migrated=False) as database_url,
        TcpProxy(REDIS_SERVER.hostname or "127.0.0.1", REDIS_SERVER.port or 6379) as proxy,
    ):
        log_path = work / "runtime.log"
        runtime = start_runtime(
            {
                "DATABASE_URL": database_url,
                "API_TOKEN": "etp_load-" + os.urandom(12).hex(),
                "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}",
                "LOCAL_DATA_DIR": str(work),
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            },
            log_path,
        )
        try:
            warm_up(runtime)
            results.append(run_locust("1 empty database", runtime, work, "run1"))
            cut = threading.Timer(CUT_AFTER_S, proxy.down)
            results.append(run_locust(f"2 Redis cut at {CUT_AFTER_S:.0f} s", runtime, work, "run2", at_start=cut))
            proxy.up()
            print(f"[{time.strftime('%H:%M:%S')}] loading {LOG_COUNT:,} logs …", flush=True)
            load_took, own_logs = load_logs(database_url, LOG_COUNT)
            results.append(run_locust(f"3 after {LOG_COUNT:,} logs", runtime, work, "run3"))
        finally:
            stop_runtime(runtime)
            clear_redis()
    report(results, load_took, own_logs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
