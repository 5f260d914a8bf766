"""The scheduler process: what AWS runs beside the API (EventBridge Scheduler delivering to the fire
function, the template's ScheduleV2 crons, and SQS delivering the outbox to the delivery function),
in a process of its own beside the web workers.

However many runtimes share a database, one runs the loops: the one holding a PostgreSQL
advisory lock, on a connection of its own (the lock lives as long as that session). The others
wait to take over. Should two ever overlap (a leader whose connection dropped, still finishing a
batch), they stay safe as before: due schedules are claimed with ``FOR UPDATE SKIP LOCKED`` and one
log per trigger and scheduled time is a key. What a tick does is local/scheduler.py's business.

``python -m local`` starts it; ``python -m local.background`` runs it alone (a service of its own)."""

import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import FrameType

import psycopg2

from local.deliveries import DeliveryLoop
from local.logs import configure_logging
from local.scheduler import CronLoop, SchedulerLoop
from local.server import FunctionHost
from local.template import LocalTemplate, load_template

log = logging.getLogger("local.background")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: pg_try_advisory_lock's key: the first 8 bytes of sha256("trigger-platform scheduler"), a signed bigint.
LEADER_LOCK_KEY = -0x6AD8_D7E6_9C16_7CE0
#: How often a waiting process tries for the lock, and the leader checks it still holds it.
LEADER_CHECK_S = 1.0
CONNECT_TIMEOUT_S = 5


class Leadership:
    """A session-level advisory lock: held while its connection lives, gone when it drops."""

    def __init__(self, database_url: str, key: int = LEADER_LOCK_KEY) -> None:
        self._url = database_url
        self._key = key
        self._connection: psycopg2.extensions.connection | None = None

    def acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg2.connect(self._url, connect_timeout=CONNECT_TIMEOUT_S)
                self._connection.autocommit = True
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
                row = cursor.fetchone()
            return bool(row and row[0])
        except psycopg2.Error:
            self.release()
            return False

    def holds(self) -> bool:
        """Whether the lock's session is still alive (a dropped connection released the lock)."""
        if self._connection is None:
            return False
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except psycopg2.Error:
            self.release()
            return False

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the session, and with it the lock
            self._connection = None


Loop = SchedulerLoop | CronLoop | DeliveryLoop


def background_loops(template: LocalTemplate, functions: FunctionHost) -> list[Loop]:
    """The scheduler loop, one loop per ``rate(...)`` cron of the template, and the SQS event
    source mapping of each queue consumer (the delivery function)."""
    from trigger_platform.adapters.postgres import Database
    from trigger_platform.edge import wiring

    loops: list[Loop] = [CronLoop(functions, function, period) for function, period in template.crons]
    visibility = timedelta(seconds=float(os.environ.get("LOCAL_DELIVERY_VISIBILITY_S", "180")))
    workers = int(os.environ.get("LOCAL_DELIVERY_WORKERS", "8"))
    loops += [
        DeliveryLoop(Database(wiring.database_url), function, batch_size, wiring.clock(), workers, visibility)
        for function, batch_size in template.queue_consumers
        if workers > 0
    ]
    if template.schedule_target is not None:
        loops += scheduler_loops()
    return loops


def scheduler_loops() -> list[SchedulerLoop]:
    """LOCAL_SCHEDULER_LOOPS loops (2 by default) on a connection of their own each, so that a
    batch's claim, logs and advance are one transaction of their own; two, so that one's SQL runs
    while the other's Python does."""
    from local.schedules import LocalScheduler
    from trigger_platform.adapters.partitions import LogPartitions
    from trigger_platform.adapters.postgres import Database
    from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
    from trigger_platform.edge import wiring

    loops = []
    for _ in range(int(os.environ.get("LOCAL_SCHEDULER_LOOPS", "2"))):
        db = Database(wiring.database_url)
        uow = PostgresUnitOfWork(db, LogPartitions(db), partial(LocalScheduler, db))
        loops.append(SchedulerLoop(db, uow, wiring.cache(), wiring.clock()))
    return loops


def run_while_leader(template: LocalTemplate, database_url: str, stop: threading.Event) -> None:
    """Run the loops whenever this process holds the lock, until ``stop``; a stop lets each loop
    finish the batch it is in."""
    leadership = Leadership(database_url)
    functions = FunctionHost()
    try:
        while not stop.is_set():
            if not leadership.acquire():
                stop.wait(LEADER_CHECK_S)
                continue
            log.info("this process runs the scheduler and the crons")
            loops = background_loops(template, functions)
            for loop in loops:
                loop.start()
            while not stop.wait(LEADER_CHECK_S) and leadership.holds():
                pass
            stopping = [threading.Thread(target=loop.stop) for loop in loops]  # each finishes its batch
            for thread in stopping:
                thread.start()
            for thread in stopping:
                thread.join()
            if not stop.is_set():
                log.warning("lost the scheduler lock (database connection dropped); trying to take it again")
    finally:
        leadership.release()


def main() -> int:
    configure_logging()
    from trigger_platform.edge import wiring

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()  # a second signal (make forwards one too) changes nothing

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_while_leader(load_template(PROJECT_ROOT / "template.yaml"), wiring.database_url(), stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
