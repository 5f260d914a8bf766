"""What the benchmarks share: a database of their own, production SQL replayed on a bare connection,
seeding through the domain (or through the real stores alone, in bulk), REST proxy events from
events/, the handlers as the local runtime hosts them, timing, and one way to print a figure beside
its target.

Benchmarks are not tests: they print medians and ratios and exit 0 whatever the figures are.
"""

import contextlib
import io
import itertools
import os
import random
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from pydantic import TypeAdapter

from local.migrations import migrate_with_local_scheduler
from local.schedules import LocalScheduler
from local.server import FunctionHost
from local.template import load_template
from tests.conftest import Tenant
from tests.conftest import api_event as tests_api_event
from tests.e2e.conftest import Runtime, start_runtime, stop_runtime
from trigger_platform import triggers
from trigger_platform.adapters.cache import GENERATION_KEY
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
from trigger_platform.auth import create_tenant
from trigger_platform.clock import SystemClock
from trigger_platform.definitions import AnyDefinition, ScheduledDefinition
from trigger_platform.edge import wiring
from trigger_platform.edge.observability import logger
from trigger_platform.ids import new_id
from trigger_platform.records import Trigger
from trigger_platform.schedules import first_fire_at

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: The Redis the handlers use here; keys are per tenant, and every tenant is new, so the db is shared safely.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DEFINITIONS: TypeAdapter[AnyDefinition] = TypeAdapter(AnyDefinition)
API_TRIGGER = {"type": "api", "payload": {"key": "value"}}
#: Triggers made in one unit of work when seeding.
SEED_BATCH = 500
LOG_CHUNK = 100_000
#: Bulk loading only: the platform writes logs one INSERT (or one batch statement) at a time.
COPY_LOGS = (
    "COPY event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload,"
    " status) FROM STDIN"
)


# Databases ------------------------------------------------------------------------------------


def connect(url: str) -> Any:
    """A bare autocommit connection: what a floor runs on."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


@contextmanager
def fresh_database(prefix: str = "etp_bench", *, migrated: bool = True) -> Iterator[str]:
    """A database of its own (migrated with the local scheduler's tables unless a runtime will
    migrate it), made the one every handler in this process uses, with Redis beside it; dropped at
    the end with the Redis keys of its tenants, whatever happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))
    with closing(connect(SERVER_URL)) as admin:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            if migrated:
                migrate_with_local_scheduler(url)
            os.environ["DATABASE_URL"] = url
            os.environ["REDIS_URL"] = REDIS_URL
            yield url
        finally:
            wiring.database().close()
            forget_cached_generations(url)
            with admin.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def forget_cached_generations(url: str) -> None:
    """Cached entries expire within 30 s; the tenants' generation counters would stay for ever."""
    import redis

    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('tenants') IS NOT NULL")
        if not cur.fetchone()[0]:
            return
        cur.execute("SELECT id FROM tenants")
        keys = [GENERATION_KEY.format(tenant=tenant) for (tenant,) in cur.fetchall()]
    if keys:
        with closing(redis.Redis.from_url(REDIS_URL)) as client:
            client.delete(*keys)


# Production SQL, replayed ---------------------------------------------------------------------


def _recording_cursor(statements: list[bytes], send: bool) -> type[psycopg2.extensions.cursor]:
    class RecordingCursor(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> None:
            rendered = self.mogrify(query, vars)
            statements.append(rendered)
            if send:
                super().execute(rendered)

    return RecordingCursor


class StatementRecorder(Database):
    """A Database that keeps every statement the adapters send through it, as psycopg2 renders it,
    so that a floor replays production SQL and never a copy of it. With ``send=False`` statements
    are only rendered, to be sent later (in batches, or as the bare INSERT of a floor)."""

    def __init__(self, url: str, *, send: bool = True) -> None:
        super().__init__(lambda: url)
        self.statements: list[bytes] = []
        self._send = send

    def _open(self) -> psycopg2.extensions.connection:
        conn = super()._open()
        conn.cursor_factory = _recording_cursor(self.statements, self._send)
        return conn

    def take(self) -> list[bytes]:
        """The statements recorded since the last take."""
        taken = list(self.statements)
        self.statements.clear()
        return taken


def unit_of_work_on(db: Database) -> PostgresUnitOfWork:
    """The platform's unit of work over ``db``, with the local scheduler, as the local runtime builds it."""
    return PostgresUnitOfWork(db, LogPartitions(db), lambda: LocalScheduler(db))


def replay(cur: Any, statements: Sequence[bytes]) -> None:
    """Send recorded statements on a bare cursor, reading what they return as the adapters do."""
    for statement in statements:
        cur.execute(statement)
        if cur.description is not None:
            cur.fetchall()


# Seeding --------------------------------------------------------------------------------------


def definition(document: dict[str, Any]) -> AnyDefinition:
    """A definition as a customer's body becomes one (validated)."""
    return DEFINITIONS.validate_python(document)


def tenant_and_token(label: str) -> tuple[uuid.UUID, str]:
    """A new tenant and its first token, for a client of the runtime."""
    return create_tenant(f"bench-{label}-{uuid.uuid4().hex[:8]}", tokens=wiring.token_store())


def new_tenant(label: str) -> uuid.UUID:
    return tenant_and_token(label)[0]


def create_triggers(url: str, tenant_id: uuid.UUID, document: dict[str, Any], count: int) -> list[Trigger]:
    """``count`` triggers made by the domain (``triggers.create_trigger``) through the real adapters
    and the local scheduler, SEED_BATCH in one unit of work (one commit a batch, not one a trigger)."""
    seeded, clock, made = definition(document), SystemClock(), []
    with closing(Database(lambda: url)) as db:
        uow = unit_of_work_on(db)
        for start in range(0, count, SEED_BATCH):
            with uow:  # each create_trigger's own unit of work joins this one
                for _ in range(min(SEED_BATCH, count - start)):
                    made.append(triggers.create_trigger(tenant_id, seeded, uow=uow, clock=clock))
    return made


def new_trigger(tenant_id: uuid.UUID, seeded: AnyDefinition) -> Trigger:
    """A trigger as ``create_trigger`` makes one now (version 1, armed now), without its checks."""
    moment = datetime.now(UTC)
    now = moment.replace(microsecond=0)
    schedule = seeded.schedule if isinstance(seeded, ScheduledDefinition) else None
    first_fire = first_fire_at(schedule, now) if schedule else None
    return Trigger(new_id(moment), tenant_id, seeded, "active", 1, first_fire, now, 1, now, now)


def insert_triggers(url: str, tenant_id: uuid.UUID, document: dict[str, Any], count: int) -> list[Trigger]:
    """``count`` triggers written through the real stores only (PostgresTriggerStore.insert and
    LocalScheduler.create), SEED_BATCH in one unit of work whose statements, rendered by those
    adapters, travel in one round trip: for 100,000, which the domain would take minutes over."""
    seeded, made = definition(document), []
    recorder = StatementRecorder(url, send=False)
    uow = unit_of_work_on(recorder)
    with closing(connect(url)) as conn, conn.cursor() as cur, closing(recorder):
        for start in range(0, count, SEED_BATCH):
            batch = [new_trigger(tenant_id, seeded) for _ in range(min(SEED_BATCH, count - start))]
            with uow:
                for trigger in batch:
                    uow.triggers.insert(trigger)
                    uow.scheduler.create(trigger)
            cur.execute(b";\n".join(recorder.take()))
            made += batch
    return made


def load_logs(
    url: str,
    fired_by: Sequence[Trigger],
    count: int,
    oldest: datetime,
    newest: datetime,
    test_share: float = 0.05,
    payload: str = '{"key": "value"}',
) -> None:
    """``count`` logs of random triggers among ``fired_by``, fired evenly between ``oldest`` and
    ``newest`` (a share of them manual tests), with UUIDv7 ids of their fired_at as the fire paths
    make them: the partitions made by the log store's own LogPartitions, the rows written with COPY
    (through the API, a million would take an hour), each chunk while the next one is made. Each
    carries ``payload``, a JSON object's text."""
    hours = [oldest + timedelta(hours=h) for h in range(int((newest - oldest) / timedelta(hours=1)) + 2)]
    with closing(Database(lambda: url)) as db:
        LogPartitions(db).ensure(hours)
    triggers_columns = [f"{t.tenant_id}\t{t.id}\t{t.definition.type}" for t in fired_by]
    types = [t.definition.type for t in fired_by]
    step = (newest - oldest) / count
    copied_payload = payload.replace("\\", "\\\\")  # COPY's text format reads a backslash as an escape

    def chunk(first: int, last: int) -> io.StringIO:
        rows = io.StringIO()
        for n in range(first, last):
            fired_at, which = oldest + step * (n + random.random()), random.randrange(len(fired_by))
            source = "test" if random.random() < test_share else types[which]
            scheduled_for = fired_at.replace(second=0, microsecond=0).isoformat() if source == "scheduled" else r"\N"
            test = "t" if source == "test" else "f"
            rows.write(f"{new_id(fired_at)}\t{triggers_columns[which]}\t{source}\t{test}\t{scheduled_for}\t")
            rows.write(f"{fired_at.isoformat()}\t{copied_payload}\tsuccess\n")
        rows.seek(0)
        return rows

    with closing(connect(url)) as conn, conn.cursor() as cur:
        with ThreadPoolExecutor(1) as copier:
            in_flight = None
            for first in range(0, count, LOG_CHUNK):
                rows = chunk(first, min(count, first + LOG_CHUNK))
                if in_flight is not None:
                    in_flight.result()
                in_flight = copier.submit(cur.copy_expert, COPY_LOGS, rows)
        cur.execute("VACUUM ANALYZE event_logs")


# Handlers and events --------------------------------------------------------------------------


class Functions:
    """The template's functions, each loaded once and invoked in process as the local runtime does
    (its log level, WARNING, unless POWERTOOLS_LOG_LEVEL says otherwise; tracing and metrics off)."""

    def __init__(self) -> None:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        # The handlers' shared logger was made, at INFO, when this module imported wiring.
        logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        self.template = load_template(ROOT / "template.yaml")
        self.host = FunctionHost()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.host.invoke(self.template.functions[logical_id], event)


def api_event(name: str, tenant_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    """events/<name>.json addressed to the tenant (``changes`` as tests.conftest.api_event takes them)."""
    return tests_api_event(name, Tenant(tenant_id, token=""), **changes)


@contextmanager
def running_platform(database_url: str, log_path: Path, **env: str) -> Iterator[Runtime]:
    """``python -m local`` on the database, started as the end-to-end tests start it, stopped at the end."""
    runtime = start_runtime({"DATABASE_URL": database_url, "LOCAL_DATA_DIR": str(log_path.parent), **env}, log_path)
    try:
        yield runtime
    finally:
        stop_runtime(runtime)


# Driving a runtime over HTTP --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class KeepAlive:
    """One keep-alive HTTP/1.1 connection to a runtime on loopback, over a bare socket, so that the
    client takes as little as possible of the cores the runtime runs on. Reads answers by their
    Content-Length, which the runtime's always carry; a closed connection is a ConnectionError."""

    def __init__(self, port: int, token: str, timeout_s: float = 60) -> None:
        self.token = token
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()

    def __enter__(self) -> "KeepAlive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def _receive(self) -> None:
        chunk = self._sock.recv(262144)
        if not chunk:
            raise ConnectionError("the runtime closed the connection")
        self._buffer += chunk

    def request(self, method: str, path: str, body: bytes | None = None) -> Answer:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self._sock.sendall(head.encode() + b"\r\n" + (body or b""))
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        status_line, *fields = self._buffer[:end].decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        headers = {name.strip().lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._receive()
        answered = bytes(self._buffer[:length])
        del self._buffer[:length]
        return Answer(int(status_line.split()[1]), headers, answered)


def uncached_times(start: datetime) -> Callable[[], str]:
    """A time filter a whole second later at each call, from ``start``: cache keys quantise time
    filters to the second, so each call names a query no cache holds (a cache-busting client)."""
    seconds = itertools.count()
    return lambda: (start + timedelta(seconds=next(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")


def send_body(port: int, token: str, size: int, outcomes: list[str]) -> None:
    """Declare and send a body of ``size`` bytes; note the status the runtime answered (or how it hung up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = f"POST /triggers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            sock.sendall(f"{head}Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
            piece = b"x" * 65536
            for _ in range(size // len(piece)):
                sock.sendall(piece)
            outcomes.append(sock.recv(64).split(b"\r\n")[0].decode())
    except OSError:
        outcomes.append("closed by the runtime before all of it was sent")


def still_open(sock: socket.socket) -> bool:
    """Whether the runtime has left an idle connection open (without reading from it)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def group_memory_mb(group: int) -> tuple[float, float]:
    """RSS and PSS summed over every process in a process group (a runtime's: start_runtime gives it
    one); the RSS sum counts the pages the processes share once per process, PSS splits them."""
    totals = {"Rss:": 0, "Pss:": 0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                name, value = line.split()[:2]
                if name in totals:
                    totals[name] += int(value)
    return totals["Rss:"] / 1024, totals["Pss:"] / 1024


# Timing ---------------------------------------------------------------------------------------

#: A case makes round n's call (untimed); the call is what gets timed.
Case = Callable[[int], Callable[[], object]]


def timed_ns(call: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def interleaved(cases: dict[str, Case], *, warmup: int, runs: int) -> dict[str, list[int]]:
    """Nanoseconds of each case's call: ``warmup`` rounds dropped, then ``runs`` kept. Each round runs
    every case once, in an order that rotates, so a measurement and its floor see the same machine
    and neither always finds what the other just warmed."""
    labels = list(cases)
    samples: dict[str, list[int]] = {label: [] for label in labels}
    for n in range(warmup + runs):
        order = labels[n % len(labels) :] + labels[: n % len(labels)]
        for label in order:
            took = timed_ns(cases[label](n))
            if n >= warmup:
                samples[label].append(took)
    return samples


class Repeating:
    """``step`` called every ``interval_s`` on a thread of its own while the block runs; the start
    and nanoseconds of each call kept."""

    def __init__(self, interval_s: float, step: Callable[[], object]) -> None:
        self._interval_s, self._step, self._stop = interval_s, step, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.calls: list[tuple[int, int]] = []

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            start = time.perf_counter_ns()
            self._step()
            self.calls.append((start, time.perf_counter_ns() - start))

    def __enter__(self) -> "Repeating":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def during(self, start: int, end: int) -> list[int]:
        """Nanoseconds of the calls that were under way at some time between ``start`` and ``end``."""
        return [took for began, took in self.calls if began < end and began + took > start]


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.99 for p99)."""
    ordered = sorted(samples)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))])


# Reporting ------------------------------------------------------------------------------------


def duration(ns: float) -> str:
    if ns < 10_000_000:
        return f"{ns / 1000:,.0f} µs"
    if ns < 10_000_000_000:
        return f"{ns / 1e6:,.1f} ms"
    return f"{ns / 1e9:,.2f} s"


def show(label: str, value: str, target: str, met: bool | None) -> None:
    """One figure and its target; ``met`` None for a figure shown beside the others without one."""
    verdict = "" if met is None else ("met" if met else "MISSED")
    print(f"{label:<56} {target:<12} {verdict:<7} {value}")


def show_ratio(label: str, measured: Sequence[float], floor: Sequence[float], target: float) -> None:
    """A measurement against its floor, both in nanoseconds from the same run: medians (p95), the ratio
    of the medians, the target."""
    ratio = median(measured) / median(floor)
    value = (
        f"{duration(median(measured))} (p95 {duration(percentile(measured, 0.95))})"
        f" / {duration(median(floor))} = {ratio:.2f}x"
    )
    show(label, value, f"≤ {target:g}x", ratio <= target)


def heading(text: str) -> None:
    print(f"\n{text}")
