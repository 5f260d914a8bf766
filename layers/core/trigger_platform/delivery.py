"""Delivering fires to the customers' endpoints: the rules (retry schedule, what counts as
delivered, Retry-After), the signed message, and the services the delivery function, the API and
the retention sweep call.

Delivery is at least once: the outbox row is written in the fire's unit of work, a delivery is
``delivered`` only on a 2xx, and every attempt of a log carries the log's id as ``webhook-id`` so
that receivers can deduplicate. A 410 Gone, or a schedule that runs out, ends it ``failed``; the
customer sees that and may redeliver.
"""

import contextlib
import json
import math
import random
import secrets
from base64 import b64encode
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel

from trigger_platform.clock import Clock
from trigger_platform.errors import Conflict, NotFound, ServiceUnavailable
from trigger_platform.ids import parse_id
from trigger_platform.lifecycle import RETAINED_FOR
from trigger_platform.logs import invalidate_tenant_logs
from trigger_platform.ports import (
    AttemptRecord,
    Cache,
    ClaimedDelivery,
    DeliveryQueue,
    DeliveryStore,
    LogStore,
    SendResult,
    WebhookRequest,
    WebhookSender,
)
from trigger_platform.records import Attempt, Delivery, DeliveryJob, DeliveryStatus, EventLog, Trigger

PLATFORM_VERSION = "0.1.0"
USER_AGENT = f"EventTriggerPlatform/{PLATFORM_VERSION}"
#: Bytes of randomness in a signing secret (Standard Webhooks allows 24 to 64).
SECRET_BYTES = 32
#: How long a rotated-out secret keeps signing beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)


# Secrets ---------------------------------------------------------------------------------------


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of random bytes."""
    return "whsec_" + b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def with_signing_secret(trigger: Trigger, kept_from: Trigger | None = None) -> Trigger:
    """``trigger`` with the secret its target needs: the one it had (``kept_from``), a new one when it
    gains a target, none without a target."""
    if trigger.definition.target is None:
        return replace(trigger, signing_secret=None, previous_signing_secret=None, previous_secret_expires_at=None)
    if kept_from is not None and kept_from.signing_secret is not None:
        return replace(
            trigger,
            signing_secret=kept_from.signing_secret,
            previous_signing_secret=kept_from.previous_signing_secret,
            previous_secret_expires_at=kept_from.previous_secret_expires_at,
        )
    return replace(trigger, signing_secret=new_signing_secret())


# The rules -------------------------------------------------------------------------------------


def retry_schedule(text: str) -> tuple[float, ...]:
    """``DELIVERY_RETRY_SCHEDULE``: the seconds before each retry, comma-separated."""
    refused = ValueError("a retry schedule is one or more positive numbers of seconds, comma-separated")
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise refused from None
    if not delays or any(not math.isfinite(d) or d <= 0 for d in delays):
        raise refused
    return delays


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are retried: ``retry_delays_s[n]`` after the (n+1)th failed attempt of a round,
    spread by ±``jitter`` so that retries of many deliveries do not arrive together."""

    retry_delays_s: tuple[float, ...]
    jitter: float = 0.1
    #: How long one attempt may hold its delivery (an attempt is cut at 10 s; this leaves room).
    lease: timedelta = timedelta(seconds=30)
    #: How soon a delivery whose host is at its concurrency bound is tried again (not an attempt).
    deferral: timedelta = timedelta(seconds=1)

    @property
    def longest_delay_s(self) -> float:
        return max(self.retry_delays_s)


def is_delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def verdict(
    policy: DeliveryPolicy, attempts_in_round: int, result: SendResult, now: datetime, spread: float
) -> tuple[DeliveryStatus, datetime | None]:
    """Where a delivery stands after an attempt (the ``attempts_in_round``-th, counting this one):
    delivered on a 2xx; failed on a 410 or when the schedule is spent; else pending until its next
    try. ``spread`` in [0, 1) picks the jitter. A 429 or 503 with Retry-After waits at least that
    long, but never longer than the schedule's longest step."""
    if result.deferred:
        return "pending", now + policy.deferral * (1 + spread)
    if is_delivered(result.status_code):
        return "delivered", None
    if result.status_code == 410 or attempts_in_round > len(policy.retry_delays_s):
        return "failed", None
    delay = policy.retry_delays_s[attempts_in_round - 1] * (1 + policy.jitter * (2 * spread - 1))
    if result.status_code in (429, 503) and result.retry_after_s is not None:
        delay = min(max(delay, result.retry_after_s), policy.longest_delay_s)
    return "pending", now + timedelta(seconds=delay)


# The message -----------------------------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_body(log: EventLog) -> str:
    """The JSON body every delivery of ``log`` POSTs."""
    return json.dumps(
        {
            "id": str(log.id),
            "trigger_id": str(log.trigger_id) if log.trigger_id else None,
            "trigger_type": log.trigger_type,
            "source": log.source,
            "is_test": log.is_test,
            "scheduled_for": _moment(log.scheduled_for),
            "fired_at": _moment(log.fired_at),
            "payload": log.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def signed_request(url: str, log: EventLog, secrets_in_force: Sequence[str], now: datetime) -> WebhookRequest:
    """The POST of ``log`` to ``url``, signed with each secret (Standard Webhooks: one ``v1,`` signature
    per secret, space-separated, over ``id.timestamp.body``)."""
    # Imported here: only delivering signs; the other functions import this module for secrets and the outbox.
    from standardwebhooks.webhooks import Webhook

    body = webhook_body(log)
    message_id = str(log.id)
    signature = " ".join(Webhook(secret).sign(message_id, now, body) for secret in secrets_in_force)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(now.timestamp())),
        "webhook-signature": signature,
    }
    return WebhookRequest(url, headers, body.encode())


# Delivering ------------------------------------------------------------------------------------


class DeliveryMessage(BaseModel):
    """The body of a delivery queue message (SQS on AWS, the local runtime's emulation): which log
    to deliver. Everything else is read from the outbox when it is received."""

    log_id: UUID


@dataclass(frozen=True)
class QueuedDelivery:
    """A message asking for a log's delivery, with the receipt its queue handed it out with."""

    log_id: UUID
    receipt: str


@dataclass(frozen=True)
class MessageOutcome:
    """What becomes of a message: deleted (``retry_in_s`` None) or seen again in ``retry_in_s``."""

    receipt: str
    retry_in_s: float | None


def _unsendable(claimed: ClaimedDelivery) -> str | None:
    if claimed.log is None:
        return "the log is past retention"
    if claimed.secrets is None:
        return "the trigger was deleted or has no target any more"
    return None


def deliver(
    messages: Sequence[QueuedDelivery],
    *,
    store: DeliveryStore,
    sender: WebhookSender,
    cache: Cache,
    clock: Clock,
    policy: DeliveryPolicy,
    spread: Callable[[], float] = random.random,
) -> list[MessageOutcome]:
    """One attempt for each due delivery among ``messages`` (sent concurrently), recorded in one
    write; messages for deliveries not due yet, or held by another consumer, come back when they may
    be tried, and those for finished or unknown deliveries are dropped."""
    now = clock.now()
    receipts = {message.log_id: message.receipt for message in messages}
    claimed = store.claim(receipts, now, now + policy.lease)
    records: list[AttemptRecord] = []
    sendable: list[tuple[ClaimedDelivery, WebhookRequest]] = []
    for delivery in claimed:
        reason = _unsendable(delivery)
        if reason is not None:
            records.append(AttemptRecord(delivery.log_id, Attempt(now, None, 0, reason), "failed", None))
        else:
            assert delivery.log is not None and delivery.secrets is not None  # noqa: S101 - checked above  # nosec B101
            sendable.append((delivery, signed_request(delivery.url, delivery.log, delivery.secrets.in_force(now), now)))
    results = sender.send_all([request for _, request in sendable]) if sendable else []
    finished = clock.now()
    for (delivery, _), result in zip(sendable, results, strict=True):
        attempts = delivery.attempts_in_round + (0 if result.deferred else 1)
        status, next_at = verdict(policy, attempts, result, finished, spread())
        attempt = None if result.deferred else Attempt(now, result.status_code, result.duration_ms, result.error)
        records.append(AttemptRecord(delivery.log_id, attempt, status, next_at))
    if records:
        store.record(records)
        tenants = {d.tenant_id for d in claimed}
        for tenant_id in tenants:
            invalidate_tenant_logs(cache, tenant_id)
    next_try = {record.log_id: record.next_attempt_at for record in records if record.next_attempt_at}
    unclaimed = [log_id for log_id in receipts if log_id not in {d.log_id for d in claimed}]
    if unclaimed:
        next_try.update(store.pending_until(unclaimed))
    return [
        MessageOutcome(
            receipt,
            max(0.0, (next_try[log_id] - finished).total_seconds()) if log_id in next_try else None,
        )
        for log_id, receipt in receipts.items()
    ]


def jobs_for(logs: Sequence[EventLog], triggers: dict[UUID, Trigger]) -> list[DeliveryJob]:
    """The outbox rows for the logs of triggers that have a target (none for the others)."""
    jobs = []
    for log in logs:
        trigger = triggers.get(log.trigger_id) if log.trigger_id else None
        target = trigger.definition.target if trigger else None
        if trigger is not None and target is not None:
            jobs.append(DeliveryJob(log.id, log.tenant_id, trigger.id, log.fired_at, target.url))
    return jobs


def enqueue(queue: DeliveryQueue | None, jobs: Sequence[DeliveryJob]) -> None:
    """Wake the delivery function for committed jobs. Best effort: the rows are committed, and the
    retention sweep enqueues those whose message never reached the queue."""
    if queue is not None and jobs:
        with contextlib.suppress(ServiceUnavailable):
            queue.send([job.log_id for job in jobs])


def redeliver(
    tenant_id: UUID,
    log_id: str,
    *,
    store: DeliveryStore,
    logs: LogStore,
    queue: DeliveryQueue | None,
    cache: Cache,
    clock: Clock,
) -> Delivery:
    """Deliver a log again now, as a new round of attempts under the same ``webhook-id``."""
    now = clock.now()
    parsed = parse_id(log_id)
    log = logs.get(tenant_id, parsed, now - RETAINED_FOR) if parsed else None
    if log is None or parsed is None:
        raise NotFound("There is no such log.")
    if log.delivery.status == "none":
        raise Conflict("This log's trigger had no target; there is nothing to deliver.")
    delivery = store.redeliver(tenant_id, parsed, now)
    if delivery is None:
        raise Conflict("A delivery of this log is in flight; redeliver it once that attempt ends.")
    invalidate_tenant_logs(cache, tenant_id)
    if queue is not None:
        queue.send([parsed])
    return delivery


#: A pending delivery this far past due has lost its message (the queue would have woken it).
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_LIMIT = 1000


def sweep(*, store: DeliveryStore, queue: DeliveryQueue, clock: Clock) -> int:
    """Re-enqueue outbox rows whose message never reached the queue (or was lost); how many."""
    now = clock.now()
    overdue = store.overdue(now - SWEEP_GRACE, now, SWEEP_LIMIT)
    if overdue:
        queue.send(overdue)
    return len(overdue)
