"""On-demand benchmark of the local runtime's scheduler (`.venv/bin/python bench/bench_scheduler.py`).

10,000 one-time triggers due in the same second, created through the domain (so that they land in
``local_schedules``), are fired by the local runtime's own path: a ``SchedulerLoop`` with a
connection of its own (make_due, lease_deliveries, the template's schedule target invoked in
process through a ``FunctionHost``, settle) on the system clock, ticking as its thread does. Then
``event_logs`` must hold each trigger's due time exactly once; the lateness (fired_at minus
scheduled_for) is reported as p50/p99/max against the target p99 at most 1 s.

Once with one loop, once with two: a ``FunctionHost`` serialises invocations behind a lock, so a
second loop means a second process (this script with ``--worker``), the way two runtimes share one
database (``FOR UPDATE SKIP LOCKED``). A short run of 1,000 triggers under cProfile shows where a
fire's time goes.

The fire handler's cost per fire: invoked with a due event of an existing trigger (a new scheduled
time each call, so it really writes), next to one bare INSERT of the same event_logs row on an
autocommit connection (target: handler at most 2x), to the handler's own statements sent on a bare
connection (each timed), and to the same writes as one statement.

Two things here are not the platform's behaviour, and are labelled so: rounds and costs measured
again with ``synchronous_commit=off`` on the bench database (how much is the WAL flush at each
commit), and a *sketch* of set-based firing (due schedules fired 1,000 at a time in one transaction,
instead of one invocation each), to show what would meet the lateness target.

Fresh database, dropped at the end; exits 0 whatever the figures; about 100 s.
"""

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
from common import fresh_database
from psycopg2 import sql
from psycopg2.extras import Json, execute_values

from local.scheduler import POLL_INTERVAL_S, SchedulerLoop
from local.server import FunctionHost
from local.template import Function, load_template
from trigger_platform import triggers
from trigger_platform.adapters.local_scheduler import LocalScheduler
from trigger_platform.adapters.postgres import Database
from trigger_platform.auth import create_tenant_with_token
from trigger_platform.clock import SystemClock
from trigger_platform.edge import wiring
from trigger_platform.ids import new_id
from trigger_platform.models import TriggerDefinition

ROOT = Path(__file__).resolve().parent.parent

TRIGGERS = 10_000
PROFILED_TRIGGERS = 1_000
#: Seconds from the start of seeding to the common due time: 10,000 triggers seed in about 2 s, and
#: the loops (and the second process) are warm and polling well before it.
LEAD_S = 6
DRAIN_TIMEOUT_S = 120
LATENESS_TARGET_S = 1.0
COST_WARMUP = 200
COST_ITERATIONS = 2_000
COST_TARGET = 2.0
TOP_FUNCTIONS = 14

#: A sketch, not the platform's code: fire_scheduled's checks and three writes as one statement (one
#: round trip, one commit), for a one-time trigger; it returns nothing when the fire is skipped.
ONE_STATEMENT_FIRE_SQL = """
WITH due AS (
    SELECT id, tenant_id, definition -> 'payload' AS payload FROM triggers
     WHERE tenant_id = %(tenant)s AND id = %(trigger)s AND version = %(version)s AND type = 'scheduled' AND enabled
), fire AS (
    INSERT INTO scheduled_fires (trigger_id, scheduled_for, log_id, fired_at)
    SELECT id, %(scheduled_for)s, %(log_id)s, %(fired_at)s FROM due
        ON CONFLICT (trigger_id, scheduled_for) DO NOTHING
    RETURNING trigger_id
), log AS (
    INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at, payload)
    SELECT %(log_id)s, due.tenant_id, due.id, 'scheduled', 'scheduled', false, %(scheduled_for)s, %(fired_at)s,
           coalesce(due.payload, '{}')
      FROM due JOIN fire ON fire.trigger_id = due.id
    RETURNING id
)
UPDATE triggers SET status = 'completed', next_fire_at = NULL
 WHERE tenant_id = %(tenant)s AND id = (SELECT trigger_id FROM fire)
RETURNING (SELECT id FROM log)
"""

#: Whether any of a round's schedules or deliveries is left (other schedules may exist).
PENDING_SQL = """
SELECT EXISTS (SELECT FROM local_schedules WHERE tenant_id = %s)
    OR EXISTS (SELECT FROM local_deliveries WHERE tenant_id = %s)
"""

LOG_INSERT_SQL = """
INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at,
                        payload, status)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

#: The statements fire_scheduled sends (PostgresTriggerStore.get, then record_scheduled_fire and
#: record_fire in one transaction), in order.
STEPS = {
    "SELECT trigger": "SELECT id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at"
    " FROM triggers WHERE tenant_id = %s AND id = %s",
    "BEGIN": "BEGIN",
    "INSERT scheduled_fires": "INSERT INTO scheduled_fires (trigger_id, scheduled_for, log_id, fired_at)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (trigger_id, scheduled_for) DO NOTHING",
    "INSERT event_logs": LOG_INSERT_SQL,
    "UPDATE triggers": "UPDATE triggers SET status = %s, next_fire_at = %s WHERE tenant_id = %s AND id = %s"
    " AND version = %s",
    "COMMIT": "COMMIT",
}


@contextmanager
def synchronous_commit_off(url: str) -> Iterator[None]:
    """A diagnostic: the bench database without waiting for the WAL flush at each commit (a crash
    may lose the last commits, never corrupts), for connections opened from now on."""
    name = sql.Identifier(urlsplit(url).path.lstrip("/"))
    with contextlib.closing(psycopg2.connect(url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(name))
        wiring.database().close()  # the handlers' connection reopens with the setting
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("ALTER DATABASE {} RESET synchronous_commit").format(name))
            wiring.database().close()


@contextmanager
def quiet() -> Iterator[None]:
    """Powertools prints EMF metrics every 100 values even with POWERTOOLS_METRICS_DISABLED (the
    overflow flush ignores it): kept off this report."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


class Phases:
    """Seconds and calls spent in each step of a tick, by wrapping the loop's collaborators."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed

    def merge(self, other: dict[str, Any]) -> None:
        for name, seconds in other["seconds"].items():
            self.seconds[name] += seconds
        for name, calls in other["calls"].items():
            self.calls[name] += calls

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": dict(self.seconds), "calls": dict(self.calls)}


class TimedHost:
    """The FunctionHost as the loop sees it, with each invocation timed."""

    def __init__(self, host: FunctionHost, phases: Phases) -> None:
        self.invoke = phases.wrap("invoke", host.invoke)


def scheduler_loop(host: FunctionHost, target: Function, phases: Phases) -> tuple[SchedulerLoop, Database]:
    """A SchedulerLoop as local/__main__.py builds it (its own connection, the system clock), and
    that connection."""
    db = Database(wiring.database_url)
    scheduler = LocalScheduler(db)
    for step in ("make_due", "lease_deliveries", "settle"):
        setattr(scheduler, step, phases.wrap(step, getattr(scheduler, step)))
    loop = SchedulerLoop(scheduler, TimedHost(host, phases), target, SystemClock())  # type: ignore[arg-type]
    return loop, db


def warm(host: FunctionHost, target: Function, loop: SchedulerLoop) -> None:
    """Load the fire function and open both connections, as a runtime that has been up a while has."""
    event = {
        "trigger_id": str(uuid.uuid4()),
        "tenant_id": str(uuid.uuid4()),
        "version": 1,
        "scheduled_time": "2026-01-01T00:00:00Z",
    }
    with quiet():
        assert host.invoke(target, event)["status"] == "skipped"
    loop.scheduler.next_due_at()


def drain(loop: SchedulerLoop, db: Database, tenant: uuid.UUID, due_at: datetime, deadline: float) -> int:
    """Tick as SchedulerLoop._run does (sleep POLL_INTERVAL_S when a tick found nothing) until, past
    ``due_at``, none of the tenant's schedules or deliveries is left; returns the number of ticks."""
    ticks = 0
    while time.monotonic() < deadline:
        now = loop.clock.now()
        ticks += 1
        if loop.tick(now):
            continue
        if now > due_at:
            with db.cursor() as cur:
                cur.execute(PENDING_SQL, (tenant, tenant))
                if not cur.fetchone()[0]:
                    return ticks
        time.sleep(POLL_INTERVAL_S)
    raise TimeoutError(f"deliveries still pending after {DRAIN_TIMEOUT_S}s")


def worker(due_at: str, tenant: str) -> None:
    """A second runtime's scheduler, in its own process: warm, say ready, drain, report as JSON."""
    out = sys.stdout
    template = load_template(ROOT / "template.yaml")
    assert template.schedule_target is not None
    host, phases = FunctionHost(), Phases()
    loop, db = scheduler_loop(host, template.schedule_target, phases)
    warm(host, template.schedule_target, loop)
    print("ready", file=out, flush=True)
    with quiet():
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        ticks = drain(loop, db, uuid.UUID(tenant), datetime.fromisoformat(due_at), deadline)
    print(json.dumps({"ticks": ticks, **phases.as_dict()}), file=out, flush=True)


def due_second() -> datetime:
    """The whole second, LEAD_S ahead, at which a round's triggers are all due."""
    return (datetime.now(UTC) + timedelta(seconds=LEAD_S)).replace(microsecond=0)


def new_tenant(label: str) -> uuid.UUID:
    return create_tenant_with_token(f"bench-{label}-{uuid.uuid4().hex[:6]}", wiring.token_store())[0]


def seed(tenant: uuid.UUID, count: int, due_at: datetime) -> float:
    """``count`` one-time triggers of the tenant all due at ``due_at``, created through the domain in
    one transaction (so that they land in local_schedules); returns the seconds it took."""
    started = time.perf_counter()
    definition = TriggerDefinition.model_validate({"type": "scheduled", "schedule": {"at": due_at.isoformat()}}).root
    store, scheduler = wiring.trigger_store(), wiring.local_scheduler()
    with store.atomic():  # create_trigger's own transactions join this one: one commit for all
        for _ in range(count):
            triggers.create_trigger(tenant, definition, store, scheduler, wiring.clock())
    return time.perf_counter() - started


@dataclass
class Round:
    label: str
    triggers: int
    seed_s: float
    loops: int
    ticks: list[int]
    phases: Phases
    logged: int = 0
    distinct_triggers: int = 0
    duplicates: int = 0
    pending: int = 0
    lateness_s: list[float] = field(default_factory=list)
    first_fire_s: float = 0.0
    last_fire_s: float = 0.0


def check(url: str, tenant: uuid.UUID, due_at: datetime, result: Round) -> None:
    """What event_logs and the scheduler tables say after the round."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT trigger_id) FROM event_logs WHERE tenant_id = %s AND source = 'scheduled'",
            (tenant,),
        )
        result.logged, result.distinct_triggers = cur.fetchone()
        cur.execute(
            """
            SELECT count(*) FROM (SELECT 1 FROM event_logs WHERE tenant_id = %s
                                   GROUP BY trigger_id, scheduled_for HAVING count(*) > 1) twice
            """,
            (tenant,),
        )
        result.duplicates = cur.fetchone()[0]
        cur.execute(
            "SELECT (SELECT count(*) FROM local_deliveries)"
            " + (SELECT count(*) FROM local_schedules WHERE tenant_id = %s)",
            (tenant,),
        )
        result.pending = cur.fetchone()[0]
        cur.execute(
            """
            SELECT extract(epoch FROM fired_at - scheduled_for)::float8, extract(epoch FROM fired_at - %s)::float8
              FROM event_logs WHERE tenant_id = %s AND scheduled_for = %s ORDER BY fired_at
            """,
            (due_at, tenant, due_at),
        )
        rows = cur.fetchall()
    result.lateness_s = sorted(row[0] for row in rows)
    if rows:
        result.first_fire_s, result.last_fire_s = rows[0][1], rows[-1][1]


def run_round(url: str, host: FunctionHost, target: Function, count: int, loops: int, label: str) -> Round:
    """Seed ``count`` triggers due together, drain them with ``loops`` scheduler loops (one here,
    the others in worker processes), and check the logs."""
    phases = Phases()
    loop, db = scheduler_loop(host, target, phases)
    warm(host, target, loop)
    due_at, tenant = due_second(), new_tenant(label)
    command = [sys.executable, __file__, "--worker", due_at.isoformat(), str(tenant)]  # this interpreter, script
    workers = [  # started first, so that their start-up overlaps the seeding
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(loops - 1)
    ]
    seed_s = seed(tenant, count, due_at)
    for process in workers:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    late = (datetime.now(UTC) - due_at).total_seconds()
    assert late < -0.5, f"seeding and start-up overran the due time by {late + 0.5:.1f}s; raise LEAD_S"
    with quiet():
        ticks = [drain(loop, db, tenant, due_at, time.monotonic() + DRAIN_TIMEOUT_S)]
    for process in workers:
        out, _ = process.communicate(timeout=DRAIN_TIMEOUT_S)
        assert process.returncode == 0, process.returncode
        report = json.loads(out.strip().splitlines()[-1])
        ticks.append(report["ticks"])
        phases.merge(report)
    result = Round(label, count, seed_s, loops, ticks, phases)
    check(url, tenant, due_at, result)
    return result


def profiled_round(url: str, host: FunctionHost, target: Function) -> tuple[Round, pstats.Stats]:
    profile = cProfile.Profile()
    phases = Phases()
    loop, db = scheduler_loop(host, target, phases)
    warm(host, target, loop)
    due_at, tenant = due_second(), new_tenant("profiled")
    seed_s = seed(tenant, PROFILED_TRIGGERS, due_at)
    time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 0.3))
    with quiet():
        profile.enable()
        ticks = drain(loop, db, tenant, due_at, time.monotonic() + DRAIN_TIMEOUT_S)
        profile.disable()
    result = Round("profiled", PROFILED_TRIGGERS, seed_s, 1, [ticks], phases)
    check(url, tenant, due_at, result)
    return result, pstats.Stats(profile)


# A sketch of the design change: set-based firing ----------------------------------------------

#: Not the platform's code: one-time schedules due now, with their live trigger, locked as make_due does.
#: (Enough for this bench's triggers: schedules of deleted, paused or stale triggers, recurring ones and
#: failures would need what make_due, settle and fire_scheduled do for them.)
SKETCH_DUE_SQL = """
SELECT s.trigger_id, s.tenant_id, s.due_at, coalesce(t.definition -> 'payload', '{}')
  FROM local_schedules s
  JOIN triggers t ON t.tenant_id = s.tenant_id AND t.id = s.trigger_id AND t.version = s.version AND t.enabled
 WHERE s.enabled AND s.due_at IS NOT NULL AND s.due_at <= %s
 ORDER BY s.due_at
 LIMIT %s
   FOR UPDATE OF s SKIP LOCKED
"""
#: A batch's logs written at once: once per (trigger, due time) as scheduled_fires guarantees, and
#: the triggers completed; the schedules are deleted in the same transaction.
SKETCH_FIRE_SQL = """
WITH v (id, tenant_id, trigger_id, scheduled_for, fired_at, payload) AS (VALUES %s),
fired AS (
    INSERT INTO scheduled_fires (trigger_id, scheduled_for, log_id, fired_at)
    SELECT trigger_id, scheduled_for, id, fired_at FROM v
        ON CONFLICT (trigger_id, scheduled_for) DO NOTHING
    RETURNING log_id
), logged AS (
    INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, scheduled_for, fired_at, payload)
    SELECT v.id, v.tenant_id, v.trigger_id, 'scheduled', 'scheduled', v.scheduled_for, v.fired_at, v.payload
      FROM v JOIN fired ON fired.log_id = v.id
    RETURNING tenant_id, trigger_id
)
UPDATE triggers t SET status = 'completed', next_fire_at = NULL
  FROM logged WHERE t.tenant_id = logged.tenant_id AND t.id = logged.trigger_id
"""
SKETCH_BATCH = 1000


def set_based_tick(db: Database, now: datetime) -> int:
    """Fire up to SKETCH_BATCH due one-time schedules in one transaction of four round trips."""
    with db.transaction() as cur:
        cur.execute(SKETCH_DUE_SQL, (now, SKETCH_BATCH))
        due = cur.fetchall()
        if not due:
            return 0
        fired_at = datetime.now(UTC)
        cur.execute("SELECT ensure_event_log_partition(%s)", (fired_at,))
        rows = [
            (new_id(fired_at), tenant, trigger, at, fired_at, Json(payload)) for trigger, tenant, at, payload in due
        ]
        execute_values(cur, SKETCH_FIRE_SQL, rows, template="(%s, %s, %s, %s, %s, %s::jsonb)", page_size=len(rows))
        cur.execute("DELETE FROM local_schedules WHERE trigger_id = ANY(%s)", ([row[0] for row in due],))
    return len(due)


def sketch_round(url: str, count: int) -> Round:
    """The same 10,000 triggers due together, fired set-based by one loop polling as SchedulerLoop does."""
    phases = Phases()
    db = Database(wiring.database_url)
    tick = phases.wrap("set-based tick", set_based_tick)
    due_at, tenant = due_second(), new_tenant("sketch")
    seed_s = seed(tenant, count, due_at)
    ticks, deadline = 0, time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:  # as drain(): again at once while busy, else after POLL_INTERVAL_S
        now = datetime.now(UTC)
        ticks += 1
        if tick(db, now):
            continue
        if now > due_at:
            with db.cursor() as cur:
                cur.execute(PENDING_SQL, (tenant, tenant))
                if not cur.fetchone()[0]:
                    break
        time.sleep(POLL_INTERVAL_S)
    db.close()
    result = Round("sketch: set-based, 1 loop", count, seed_s, 1, [ticks], phases)
    check(url, tenant, due_at, result)
    return result


# Per-fire cost --------------------------------------------------------------------------------


def timed(call: Callable[[], Any]) -> int:
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def fire_costs(url: str, host: FunctionHost, target: Function) -> dict[str, list[int]]:
    """Nanoseconds of the fire handler, of one bare INSERT of its event_logs row, and of the
    statements the handler's domain call runs, on a bare connection; interleaved, in turns."""
    with contextlib.closing(psycopg2.connect(url)) as conn:
        conn.autocommit = True
        cur = conn.cursor()
        tenant = new_tenant("cost")
        at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        definition = TriggerDefinition.model_validate({"type": "scheduled", "schedule": {"at": at.isoformat()}}).root
        trigger = triggers.create_trigger(
            tenant, definition, wiring.trigger_store(), wiring.local_scheduler(), wiring.clock()
        )
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

        def via_handler(n: int) -> Callable[[], Any]:
            event = {
                "trigger_id": str(trigger.id),
                "tenant_id": str(tenant),
                "version": trigger.version,
                "scheduled_time": (base + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "execution_id": str(uuid.uuid4()),
            }

            def call() -> None:
                response = host.invoke(target, event)
                assert response["status"] == "fired", response

            return call

        def log_row(scheduled_for: datetime) -> tuple[Any, ...]:
            now = datetime.now(UTC)
            return (
                new_id(now),
                tenant,
                trigger.id,
                "scheduled",
                "scheduled",
                False,
                scheduled_for,
                now,
                Json({}),
                "success",
            )

        def via_insert(n: int) -> Callable[[], Any]:
            row = log_row(base - timedelta(days=1, seconds=n))
            return lambda: cur.execute(LOG_INSERT_SQL, row)

        steps: dict[str, list[int]] = {f"  {name}": [] for name in STEPS}

        def via_statements(n: int) -> Callable[[], Any]:
            """What fire_scheduled sends: read the trigger, then one transaction of three writes; each
            statement timed too."""
            row = log_row(base - timedelta(days=2, seconds=n))
            params = (
                (tenant, trigger.id),
                None,
                (trigger.id, row[6], row[0], row[7]),
                row,
                ("completed", None, tenant, trigger.id, trigger.version),
                None,
            )

            def call() -> None:
                for (name, query), values in zip(STEPS.items(), params, strict=True):
                    start = time.perf_counter_ns()
                    cur.execute(query, values)
                    if name == "SELECT trigger":
                        cur.fetchone()
                    if n >= COST_WARMUP:
                        steps[f"  {name}"].append(time.perf_counter_ns() - start)

            return call

        def via_one_statement(n: int) -> Callable[[], Any]:
            row = log_row(base - timedelta(days=3, seconds=n))
            params = {"tenant": tenant, "trigger": trigger.id, "version": trigger.version}
            params |= {"scheduled_for": row[6], "log_id": row[0], "fired_at": row[7]}

            def call() -> None:
                cur.execute(ONE_STATEMENT_FIRE_SQL, params)
                assert cur.fetchone() == (row[0],)

            return call

        cases = {
            "handler": via_handler,
            "bare INSERT": via_insert,
            "handler's SQL, bare": via_statements,
            "sketch: 1 statement": via_one_statement,
        }
        samples: dict[str, list[int]] = {label: [] for label in cases}
        with quiet():
            for n in range(COST_WARMUP + COST_ITERATIONS):
                labels = list(cases)
                order = labels[n % len(labels) :] + labels[: n % len(labels)]  # each goes first in turn
                took = {label: timed(cases[label](n)) for label in order}
                if n >= COST_WARMUP:
                    for label, ns in took.items():
                        samples[label].append(ns)
        return {**dict(list(samples.items())[:3]), **steps, **dict(list(samples.items())[3:])}


# Report ---------------------------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER"


def report_rounds(rounds: list[Round]) -> None:
    print(
        f"\n{'round':<27}{'logged':>8}{'twice':>7}{'left':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'1st ms':>8}{'fires/s':>9}  p99 target"
    )
    for r in rounds:
        ordered = r.lateness_s
        p99 = percentile(ordered, 0.99) if ordered else float("inf")
        rate = len(ordered) / (r.last_fire_s - r.first_fire_s) if len(ordered) > 1 else 0.0
        all_fired = r.logged == r.distinct_triggers == r.triggers and r.pending == 0
        print(
            f"{r.label:<27}{r.logged:>8,}{r.duplicates:>7}{r.pending:>6}"
            f"{percentile(ordered, 0.5) * 1000:>9.0f}{p99 * 1000:>9.0f}{ordered[-1] * 1000:>9.0f}"
            f"{r.first_fire_s * 1000:>8.0f}{rate:>9.0f}  ≤{LATENESS_TARGET_S * 1000:.0f} ms"
            f" {verdict(p99 <= LATENESS_TARGET_S)}; all fired once: {'yes' if all_fired and not r.duplicates else 'NO'}"
        )
    print("(lateness = fired_at - scheduled_for; 1st = first fire after the due second; fires/s = first to last)")
    print(
        f"\n{'where the loops spent it':<27}{'make_due':>10}{'lease':>8}{'invoke':>9}{'settle':>9}{'ticks':>7}"
        "  invoke/fire"
    )
    for r in rounds:
        s, calls = r.phases.seconds, r.phases.calls
        fires = max(1, calls["invoke"])
        if not calls["invoke"]:
            batches = calls["set-based tick"]
            print(
                f"{r.label:<27}{s['set-based tick']:.2f}s in {batches} ticks (4 round trips, 1 commit each):"
                f" {s['set-based tick'] / max(1, r.logged) * 1e6:.0f} µs a fire"
            )
            continue
        print(
            f"{r.label:<27}{s['make_due']:>9.2f}s{s['lease_deliveries']:>7.2f}s{s['invoke']:>8.2f}s{s['settle']:>8.2f}s"
            f"{'+'.join(str(t) for t in r.ticks):>7}  {s['invoke'] / fires * 1e6:.0f} µs"
            f" (+ make_due {s['make_due'] / fires * 1e6:.0f}, settle {s['settle'] / fires * 1e6:.0f})"
        )
    print("(summed over the loops' processes; seconds are each loop's own wall time inside the step)")


def report_profile(result: Round, stats: pstats.Stats) -> None:
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for key, entry in entries.items() if key[2] != "<built-in method time.sleep>")
    executes = [
        (key, entry)
        for key, entry in entries.items()
        if key[2] == "<method 'execute' of 'psycopg2.extensions.cursor' objects>"
    ]
    round_trips = sum(entry[1] for _, entry in executes)
    in_execute = sum(entry[2] for _, entry in executes)
    fires = max(1, result.logged)
    print(
        f"\ncProfile of {result.triggers:,} triggers due together, one loop (profiler on: lateness p99"
        f" {percentile(result.lateness_s, 0.99) * 1000:.0f} ms, not comparable): {total:.2f}s of CPU+wait (no sleeps),"
        f" {total / fires * 1e6:.0f} µs a fire; {round_trips / fires:.1f} cursor.execute round trips a fire"
        f" take {in_execute / total:.0%} of it"
    )
    print(f"{'tottime s':>10}{'cumtime s':>10}{'calls':>9}  function (top {TOP_FUNCTIONS} by own time, no sleeps)")
    own = [(key, entry) for key, entry in entries.items() if "sleep" not in key[2] and "bench" not in key[0]]
    ranked = sorted(own, key=lambda item: item[1][2], reverse=True)[:TOP_FUNCTIONS]
    for (path, line, name), (_, calls, tottime, cumtime, _) in ranked:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}" if path != "~" else ""
        print(f"{tottime:>10.3f}{cumtime:>10.3f}{calls:>9,}  {name} {where}")
    print(f"{'cumtime s':>10}{'':>10}{'calls':>9}  the fire path, inclusive")
    wanted = (
        ("app.py", "lambda_handler"),
        ("firing.py", "fire_scheduled"),
        ("trigger_store.py", "get"),
        ("log_store.py", "record_scheduled_fire"),
        ("trigger_store.py", "record_fire"),
        ("local_scheduler.py", "make_due"),
        ("local_scheduler.py", "_following"),
        ("local_scheduler.py", "settle"),
        ("postgres.py", "transaction"),
        ("logging.py", "inject_lambda_context"),
    )
    for (path, line, name), (_, calls, _, cumtime, _) in sorted(entries.items(), key=lambda item: -item[1][3]):
        if any(path.endswith(file) and name == function for file, function in wanted):
            print(f"{cumtime:>10.3f}{'':>10}{calls:>9,}  {name} {Path(path).parent.name}/{Path(path).name}:{line}")


def report_costs(runs: dict[str, dict[str, list[int]]]) -> None:
    """One column group per database setting: p50, p95 and the ratio of medians to the bare INSERT."""
    print(f"\n{'per fire (µs)':<25}" + "".join(f"{setting:^30}" for setting in runs) + f"  handler ≤{COST_TARGET:g}x")
    print(f"{'':<25}" + f"{'p50':>8}{'p95':>8}{'vs INSERT':>11}   " * len(runs))
    for label in next(iter(runs.values())):
        line, ratios = f"{label:<25}", []
        for samples in runs.values():
            ordered = sorted(samples[label])
            median = statistics.median(ordered) / 1000
            ratios.append(median / (statistics.median(samples["bare INSERT"]) / 1000))
            line += f"{median:>8.0f}{ordered[int(len(ordered) * 0.95)] / 1000:>8.0f}{ratios[-1]:>10.1f}x   "
        verdicts = " / ".join(verdict(ratio <= COST_TARGET) for ratio in ratios) if label == "handler" else ""
        print(line + verdicts)
    print(
        f"(FireScheduledFunction via FunctionHost.invoke, a due event with a new scheduled time each call;"
        f" {COST_ITERATIONS:,} of each after {COST_WARMUP} warm-up, in turns)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("DUE_AT", "TENANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    if args.worker:
        worker(*args.worker)
        return
    started = time.perf_counter()
    template = load_template(ROOT / "template.yaml")
    target = template.schedule_target
    assert target is not None, "template.yaml names no schedule target"
    host = FunctionHost()
    rounds, costs = [], {}
    with fresh_database() as url:
        for setting in ("commit waits for WAL flush", "synchronous_commit=off"):
            diagnostic = setting != "commit waits for WAL flush"
            with synchronous_commit_off(url) if diagnostic else contextlib.nullcontext():
                for loops in (1, 2):
                    label = f"{loops} loop{'s' if loops > 1 else ''}{', async commit' if diagnostic else ''}"
                    rounds.append(run_round(url, host, target, TRIGGERS, loops, label))
                if not diagnostic:
                    rounds.append(sketch_round(url, TRIGGERS))
                costs[setting] = fire_costs(url, host, target)
        profiled, stats = profiled_round(url, host, target)
    seeding = ", ".join(f"{r.seed_s:.1f}" for r in rounds)
    print(
        f"scheduler: {TRIGGERS:,} one-time triggers a round, due at one whole second {LEAD_S}s after the round"
        f" began (seeded through the domain in {seeding} s); SchedulerLoop ticks (make_due, lease, invoke"
        " FireScheduledFunction, settle) from before it until all are delivered; a second loop is a second"
        " process; 'async commit' rounds run with synchronous_commit=off on the database (a diagnostic)"
    )
    report_rounds(rounds)
    report_profile(profiled, stats)
    report_costs(costs)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
