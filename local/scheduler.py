"""The local runtime's EventBridge Scheduler: makes schedules due and delivers them to the fire
function with the event a schedule's ``Input`` becomes on AWS, retrying failed deliveries."""

import logging
import threading
import uuid
from datetime import datetime
from typing import Any

from local.server import FunctionHost
from local.template import Function
from trigger_platform.adapters.local_scheduler import Delivery, LocalScheduler
from trigger_platform.clock import Clock
from trigger_platform.errors import ServiceUnavailable

log = logging.getLogger("local.scheduler")

#: Longest sleep between looks at the schedule table, so that new schedules are seen promptly.
POLL_INTERVAL_S = 0.2


def scheduler_event(delivery: Delivery) -> dict[str, Any]:
    """What the fire function receives: the schedule's Input with Scheduler's placeholders filled."""
    return {
        "trigger_id": str(delivery.trigger_id),
        "tenant_id": str(delivery.tenant_id),
        "version": delivery.version,
        "scheduled_time": delivery.scheduled_for.strftime("%Y-%m-%dT%H:%M:%SZ")
        if delivery.scheduled_for.microsecond == 0
        else delivery.scheduled_for.isoformat(),
        "execution_id": str(uuid.uuid4()),
    }


class SchedulerLoop:
    def __init__(self, scheduler: LocalScheduler, host: FunctionHost, fire_function: Function, clock: Clock) -> None:
        self.scheduler = scheduler
        self.host = host
        self.fire_function = fire_function
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def tick(self, now: datetime) -> int:
        """Make due what is due at ``now`` and deliver it; returns the number of deliveries tried."""
        self.scheduler.make_due(now)
        deliveries = self.scheduler.lease_deliveries(now)
        for delivery in deliveries:
            try:
                self.host.invoke(self.fire_function, scheduler_event(delivery))
                delivered = True
            except Exception:
                log.warning("fire function failed; will retry", extra={"trigger_id": str(delivery.trigger_id)})
                delivered = False
            if not self.scheduler.settle(delivery, delivered, self.clock.now()):
                log.error(
                    "giving up on a delivery (dead letter): trigger %s at %s",
                    delivery.trigger_id,
                    delivery.scheduled_for,
                )
        return len(deliveries)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.tick(self.clock.now())
            except ServiceUnavailable:
                log.warning("database unavailable; the scheduler retries shortly")
                busy = 0
            if not busy:
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
