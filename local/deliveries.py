"""The local runtime's SQS → Lambda event source mapping for the delivery function, over the outbox.

On AWS a message per delivery wakes the delivery function; here the outbox is the queue: a pending
row that is due and not leased is a visible message. The loop receives up to a batch of them with
``FOR UPDATE SKIP LOCKED``, leasing each for the visibility timeout under a fresh receipt (as SQS
hides a received message), and invokes the delivery function with the event Lambda would send, on
one of a few workers, each a warm instance with its own ``FunctionHost``. A message the function
reports as failed stays in the outbox, visible again when its back-off ends; one whose invocation
crashed comes back when its lease ends.

Isolation: a batch holds one target host's deliveries, and a host has at most one batch in flight,
so a host's concurrency is bounded by the batch size and a hung endpoint holds one worker at most
(for up to 10 s) while the others serve every other host. A failing endpoint holds none: its
deliveries wait for their back-off in the outbox.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from local.server import ACCOUNT_ID, REGION, FunctionHost
from local.template import Function
from trigger_platform.adapters.postgres import Database
from trigger_platform.clock import Clock
from trigger_platform.delivery import DeliveryMessage
from trigger_platform.errors import ServiceUnavailable

log = logging.getLogger("local.deliveries")

#: Longest sleep between looks at the outbox while nothing is due.
POLL_INTERVAL_S = 0.1
#: How long a received message stays hidden (the template's DeliveryQueue VisibilityTimeout).
VISIBILITY_TIMEOUT = timedelta(seconds=180)
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:trigger-platform-deliveries"


class OutboxQueue:
    """The receive side of the local delivery queue: due outbox rows, leased as SQS hides messages."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def receive(
        self, now: datetime, limit: int, visibility: timedelta, busy_hosts: Collection[str] = ()
    ) -> tuple[str | None, list[tuple[UUID, str]]]:
        """Up to ``limit`` visible messages of one host (the one due first, not among ``busy_hosts``)
        as that host and its (log id, receipt) pairs, hidden for ``visibility``."""
        with self._db.cursor() as cur:
            cur.execute(
                """
                WITH first AS (
                    SELECT host FROM deliveries
                     WHERE status = 'pending' AND next_attempt_at <= %(now)s
                       AND (lease_until IS NULL OR lease_until <= %(now)s) AND host <> ALL(%(busy)s::text[])
                     ORDER BY next_attempt_at
                     LIMIT 1
                ), due AS (
                    SELECT log_id FROM deliveries
                     WHERE host = (SELECT host FROM first) AND status = 'pending' AND next_attempt_at <= %(now)s
                       AND (lease_until IS NULL OR lease_until <= %(now)s)
                     ORDER BY next_attempt_at
                     LIMIT %(limit)s
                       FOR UPDATE SKIP LOCKED
                )
                UPDATE deliveries d SET lease = gen_random_uuid()::text, lease_until = %(hidden_until)s
                  FROM due WHERE d.log_id = due.log_id
             RETURNING d.host, d.log_id, d.lease
                """,
                {"now": now, "busy": list(busy_hosts), "limit": limit, "hidden_until": now + visibility},
            )
            rows = cur.fetchall()
        return (rows[0][0] if rows else None), [(log_id, receipt) for _, log_id, receipt in rows]

    def next_visible_at(self, busy_hosts: Collection[str] = ()) -> datetime | None:
        with self._db.cursor() as cur:
            cur.execute(
                """
                SELECT min(greatest(next_attempt_at, lease_until)) FROM deliveries
                 WHERE status = 'pending' AND host <> ALL(%s::text[])
                """,
                (list(busy_hosts),),
            )
            row = cur.fetchone()
        return row[0] if row else None


def sqs_event(messages: list[tuple[UUID, str]], now: datetime) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping invokes a function with."""
    sent = str(int(now.timestamp() * 1000))
    records = []
    for log_id, receipt in messages:
        body = DeliveryMessage(log_id=log_id).model_dump_json()
        records.append(
            {
                "messageId": str(log_id),
                "receiptHandle": receipt,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


class DeliveryLoop:
    def __init__(
        self,
        db: Database,
        function: Function,
        batch_size: int,
        clock: Clock,
        workers: int = 8,
        visibility: timedelta = VISIBILITY_TIMEOUT,
    ) -> None:
        """``db`` is the loop's own connection (the workers' functions open theirs)."""
        self.queue = OutboxQueue(db)
        self.visibility = visibility
        self.function = function
        self.batch_size = batch_size
        self.clock = clock
        self._free = threading.Semaphore(workers)
        self._busy_hosts: set[str] = set()
        self._busy_lock = threading.Lock()
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="local-delivery")
        self._instances = threading.local()
        self._stop = threading.Event()
        #: Set when a batch ends (its host may have more) or the loop stops: the dispatcher looks again.
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-deliveries", daemon=True)

    def _invoke(self, host_name: str, messages: list[tuple[UUID, str]]) -> None:
        try:
            host = getattr(self._instances, "host", None)
            if host is None:
                host = self._instances.host = FunctionHost()
            started = time.perf_counter()
            result = host.invoke(self.function, sqs_event(messages, self.clock.now()))
            retried = len((result or {}).get("batchItemFailures", []))
            log.info(
                "delivered a batch of %d (%d to retry) in %.1f ms",
                len(messages),
                retried,
                (time.perf_counter() - started) * 1000,
            )
        except Exception:
            log.exception("the delivery function failed; its messages come back when their lease ends")
        finally:
            with self._busy_lock:
                self._busy_hosts.discard(host_name)
            self._free.release()
            self._wake.set()

    def _busy(self) -> list[str]:
        with self._busy_lock:
            return list(self._busy_hosts)

    def _sleep_s(self) -> float:
        next_visible = self.queue.next_visible_at(self._busy())
        if next_visible is None:
            return POLL_INTERVAL_S
        return min(POLL_INTERVAL_S, max(0.005, (next_visible - self.clock.now()).total_seconds()))

    def poll(self) -> int:
        """Hand one batch of visible messages to a free worker; how many (0: nothing was visible)."""
        host_name, messages = self.queue.receive(self.clock.now(), self.batch_size, self.visibility, self._busy())
        if host_name is not None:
            with self._busy_lock:
                self._busy_hosts.add(host_name)
            self._workers.submit(self._invoke, host_name, messages)
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._free.acquire(timeout=POLL_INTERVAL_S):
                continue
            self._wake.clear()
            pause = POLL_INTERVAL_S
            try:
                if self.poll():
                    continue  # a worker has the batch, and gives its slot back when done
                pause = self._sleep_s()
            except ServiceUnavailable:
                log.warning("database unavailable; deliveries resume shortly")
            except Exception:
                log.exception("the delivery loop failed; it retries shortly")
            self._free.release()
            self._wake.wait(pause)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._workers.shutdown(wait=True, cancel_futures=True)
