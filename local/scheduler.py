"""The local runtime's timers: EventBridge Scheduler firing due schedules, and the template's crons.

Firing is set-based: a tick claims a batch of due schedules and logs them through the domain code
the fire Lambda runs (``firing.fire_scheduled``), in one transaction with their advance. A batch
that fails for any reason but a database outage is fired again one schedule at a time, so one bad
schedule backs off alone instead of holding up the rest.
"""

import logging
import threading
from datetime import datetime

from local.schedules import DueSchedule, LocalScheduler
from local.server import FunctionHost
from local.template import Function
from trigger_platform import firing
from trigger_platform.adapters.postgres import Database
from trigger_platform.clock import Clock
from trigger_platform.errors import ServiceUnavailable
from trigger_platform.ports import Cache, UnitOfWork

log = logging.getLogger("local.scheduler")

#: Longest sleep between looks at the schedule table, so that new schedules are seen promptly.
POLL_INTERVAL_S = 0.2
#: Schedules claimed, logged and advanced per transaction.
BATCH_SIZE = 1000


class SchedulerLoop:
    def __init__(self, db: Database, uow: UnitOfWork, cache: Cache, clock: Clock) -> None:
        """``uow`` must write through ``db``, so that a batch's logs commit with its claim."""
        self.db = db
        self.schedules = LocalScheduler(db)
        self.uow = uow
        self.cache = cache
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def _fire(self, due: list[DueSchedule], now: datetime) -> None:
        read = {d.trigger_id: d.trigger for d in due if d.trigger is not None}  # the claim joined them
        outcomes = firing.fire_scheduled(
            [d.fire for d in due], uow=self.uow, cache=self.cache, clock=self.clock, read=read
        )
        self.schedules.advance(due, now)
        fired = [o for o in outcomes if o.log is not None]
        if fired:
            lateness = max((o.log.fired_at - o.fire.scheduled_time).total_seconds() for o in fired if o.log)
            log.info("fired %d of %d due schedules (latest %.3f s late)", len(fired), len(due), lateness)

    def _claim_and_fire(self, now: datetime, limit: int, claimed: list[DueSchedule]) -> int:
        """One transaction: claim up to ``limit`` due schedules (into ``claimed``), fire and advance them."""
        with self.db.transaction():
            claimed.extend(self.schedules.claim_due(now, limit))
            if claimed:
                self._fire(claimed, now)
        return len(claimed)

    def tick(self, now: datetime) -> int:
        """Fire a batch of what is due at ``now``; returns how many schedules were handled."""
        try:
            return self._claim_and_fire(now, BATCH_SIZE, [])
        except ServiceUnavailable:
            raise
        except Exception:
            log.exception("a batch of fires failed; firing them one at a time")
        handled = 0
        while handled < BATCH_SIZE and self._fire_alone(now):
            handled += 1
        return handled

    def _fire_alone(self, now: datetime) -> bool:
        """Fire the next due schedule by itself; a failure backs it off. False when none is due."""
        claimed: list[DueSchedule] = []
        try:
            return bool(self._claim_and_fire(now, 1, claimed))
        except ServiceUnavailable:
            raise
        except Exception:
            if not claimed:
                raise  # the claim itself failed: nothing to back off
            log.exception("fire failed; it is retried with back-off (trigger %s)", claimed[0].trigger_id)
            if not self.schedules.back_off(claimed[0], now):
                log.error(
                    "giving up on a fire (dead letter): trigger %s at %s", claimed[0].trigger_id, claimed[0].due_at
                )
            return True

    def _sleep_s(self) -> float:
        next_due = self.schedules.next_due_at()
        if next_due is None:
            return POLL_INTERVAL_S
        return min(POLL_INTERVAL_S, max(0.0, (next_due - self.clock.now()).total_seconds()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.tick(self.clock.now()):
                    continue
                self._stop.wait(self._sleep_s())
            except ServiceUnavailable:
                log.warning("database unavailable; the scheduler retries shortly")
                self._stop.wait(POLL_INTERVAL_S)
            except Exception:
                log.exception("the scheduler failed; it retries shortly")
                self._stop.wait(POLL_INTERVAL_S)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class CronLoop:
    """A ``rate(...)`` ScheduleV2 event: invokes its function at start and then every period."""

    def __init__(self, host: FunctionHost, function: Function, period_s: float) -> None:
        self.host = host
        self.function = function
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cron-{function.logical_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.host.invoke(self.function, {})
                log.info("%s ran: %s", self.function.logical_id, result)
            except Exception:
                log.exception("%s failed; it runs again in %.0f s", self.function.logical_id, self.period_s)
            self._stop.wait(self.period_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
