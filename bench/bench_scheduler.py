"""The local runtime's scheduler under bursts of due triggers (issue 11).

The runtime's own scheduler loops, built as ``python -m local`` builds them (LOCAL_SCHEDULER_LOOPS
of them, a connection of its own each, the platform's unit of work with the local scheduler, Redis
as the cache) and running their own threads, fire one-time triggers:

- 200 due together: lateness p99 ≤ 0.3 s;
- 10,000 due in the same second: each fires exactly once, lateness p99 ≤ 1 s;
- 100,000 due within one minute, found due all at once (the loop starts once that minute is over,
  as a runtime back from a pause would): each fires exactly once, ≥ 10,000 fires/s sustained
  (fires over the time from the first to the last).

Lateness is fired_at - scheduled_for, read from event_logs. The 200 and the 10,000 are made by the
domain (``triggers.create_trigger``, through the real adapters, 500 in one unit of work); the
100,000 are written through the real stores alone (PostgresTriggerStore.insert and
LocalScheduler.create, their statements sent 500 triggers a round trip), because through the API
or the domain they would take many minutes. The 100,000 round waits for its minute to pass. About
2.5-3.5 minutes here.
"""

import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from common import (
    connect,
    create_triggers,
    fresh_database,
    heading,
    insert_triggers,
    median,
    new_tenant,
    percentile,
    show,
)

from local.background import scheduler_loops

WARMUP_TRIGGERS = 500
MINUTE_TRIGGERS = 100_000
POLL_S = 0.25
#: How long after the last due time the logs may still come in before a round gives up.
GRACE_S = 30


@contextmanager
def scheduler_running() -> Iterator[None]:
    """The scheduler loops as ``python -m local`` runs them (LOCAL_SCHEDULER_LOOPS), running for
    the block; each stops after its batch in flight, so that what is read next is settled."""
    loops = scheduler_loops()
    for loop in loops:
        loop.start()
    try:
        yield
    finally:
        for loop in loops:
            loop.stop()


def one_time(at: datetime) -> dict[str, Any]:
    return {"type": "scheduled", "schedule": {"at": at.isoformat()}}


def next_whole_second(after_s: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=after_s + 1)).replace(microsecond=0)


@dataclass
class Fired:
    """What event_logs and local_schedules say of one tenant's triggers after a round."""

    expected: int
    logs: int
    triggers: int
    left: int
    lateness_s: list[float]
    first: datetime | None
    last: datetime | None

    @property
    def all_once(self) -> bool:
        return self.logs == self.triggers == self.expected and self.left == 0

    def show_once(self, label: str) -> None:
        twice = self.logs - self.triggers
        value = f"{self.triggers:,} of {self.expected:,} fired, {twice:,} twice, {self.left:,} schedules left"
        show(label, value, "all once", self.all_once)

    def show_lateness(self, label: str, target_s: float) -> None:
        p99 = percentile(self.lateness_s, 0.99)
        value = (
            f"p50 {median(self.lateness_s):.3f} s, p99 {p99:.3f} s, max {max(self.lateness_s):.3f} s"
            if self.lateness_s
            else "nothing fired"
        )
        show(label, value, f"p99 ≤ {target_s:g} s", bool(self.lateness_s) and p99 <= target_s)


def wait_until_logged(url: str, tenant: UUID, expected: int, last_due: datetime) -> None:
    """Poll until the tenant has ``expected`` logs, or until a grace time past its last due time
    (GRACE_S, and a second for every 1,000 expected) is over."""
    deadline = last_due + timedelta(seconds=GRACE_S + expected / 1000)
    with closing(connect(url)) as conn, conn.cursor() as cur:
        while datetime.now(UTC) < deadline:
            cur.execute("SELECT count(*) FROM event_logs WHERE tenant_id = %s", (tenant,))
            if cur.fetchone()[0] >= expected:
                return
            time.sleep(POLL_S)


def fired(url: str, tenant: UUID, expected: int) -> Fired:
    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT trigger_id, extract(epoch FROM fired_at - scheduled_for)::float8, fired_at"
            " FROM event_logs WHERE tenant_id = %s",
            (tenant,),
        )
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM local_schedules WHERE tenant_id = %s", (tenant,))
        left = cur.fetchone()[0]
    fired_at = [row[2] for row in rows]
    return Fired(
        expected,
        len(rows),
        len({row[0] for row in rows}),
        left,
        [row[1] for row in rows],
        min(fired_at, default=None),
        max(fired_at, default=None),
    )


def due_together(url: str, label: str, count: int, seconds_per_trigger: float) -> tuple[Fired, float]:
    """``count`` triggers due at one whole second, far enough ahead to seed them all first, fired by
    whatever loop is running; and the seconds each took to seed."""
    tenant = new_tenant(label)
    due = next_whole_second(1 + 4 * count * seconds_per_trigger)  # room for a slower machine
    started = time.perf_counter()
    create_triggers(url, tenant, one_time(due), count)
    seeded_in = time.perf_counter() - started
    wait_until_logged(url, tenant, count, due)
    return fired(url, tenant, count), seeded_in / count


def due_within_a_minute(url: str) -> tuple[Fired, float]:
    """MINUTE_TRIGGERS triggers due evenly over one minute (written through the real stores, in due
    order), left until the minute is over, then fired by a loop started then; and the seconds from
    its start until all were logged."""
    tenant = new_tenant("minute")
    per_second = MINUTE_TRIGGERS // 60
    first_due = next_whole_second(5)
    for second in range(60):
        count = per_second if second < 59 else MINUTE_TRIGGERS - 59 * per_second
        insert_triggers(url, tenant, one_time(first_due + timedelta(seconds=second)), count)
    last_due = first_due + timedelta(seconds=59)
    time.sleep(max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + 1)
    loops_started = time.perf_counter()
    with scheduler_running():
        wait_until_logged(url, tenant, MINUTE_TRIGGERS, datetime.now(UTC))
        drained_in = time.perf_counter() - loops_started
    return fired(url, tenant, MINUTE_TRIGGERS), drained_in


def main() -> None:
    started = time.perf_counter()
    with fresh_database() as url:
        with scheduler_running():  # running while triggers are created, as in a runtime that is up
            warm, seconds_per_trigger = due_together(url, "warm-up", WARMUP_TRIGGERS, 0.002)
            assert warm.all_once, warm
            two_hundred, _ = due_together(url, "200", 200, seconds_per_trigger)
            ten_thousand, seconds_per_trigger = due_together(url, "10k", 10_000, seconds_per_trigger)
        minute, drained_in = due_within_a_minute(url)

    made_in = f"{seconds_per_trigger * 1e3:.2f} ms"
    heading(f"one-time triggers fired by the local scheduler loops (the domain made one in {made_in})")
    two_hundred.show_once("200 due together")
    two_hundred.show_lateness("  lateness", 0.3)
    ten_thousand.show_once("10,000 due in the same second")
    ten_thousand.show_lateness("  lateness", 1.0)
    minute.show_once(f"{MINUTE_TRIGGERS:,} due within a minute, fired after it")
    if minute.first and minute.last:
        span = (minute.last - minute.first).total_seconds()
        rate = minute.triggers / span if span else float("inf")
        value = f"{rate:,.0f}/s ({minute.triggers:,} in {span:.1f} s; {drained_in:.1f} s from the loop's start)"
        show("  fires/s sustained, first to last fire", value, "≥ 10,000/s", rate >= 10_000)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine)")


if __name__ == "__main__":
    main()
