"""Firing triggers: by an API call, by a manual test, or by a schedule — each writes one event log.

Exactly-once rules live in the database: a scheduled (trigger, time) pair is logged once however
often it is delivered, and an Idempotency-Key maps to one log for 24 hours. A fire of a trigger
with a target also writes its delivery's outbox row, in the same unit of work as the log, and then
wakes the delivery queue; a trigger without a target writes nothing more.
"""

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.definitions import AnyDefinition, ApiDefinition, ScheduledDefinition
from trigger_platform.delivery import enqueue, jobs_for
from trigger_platform.errors import Conflict, FieldError, InvalidInput, ServiceUnavailable
from trigger_platform.fire_input import ScheduledFire
from trigger_platform.ids import new_id, parse_id
from trigger_platform.logs import invalidate_tenant_logs
from trigger_platform.payloads import overlay
from trigger_platform.ports import Cache, DeliveryQueue, UnitOfWork
from trigger_platform.records import (
    ApiFireRecord,
    DeliveryJob,
    EarlierFire,
    EventLog,
    IdempotencyClaim,
    LogSource,
    ScheduleProgress,
    Trigger,
)
from trigger_platform.schedules import is_recurring, next_fire_after
from trigger_platform.triggers import checked_definition, get_trigger

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_STALE_READS = 3  # an api fire re-reads a trigger edited under it at most this often
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def _log(
    tenant_id: UUID,
    definition: AnyDefinition,
    source: LogSource,
    now: datetime,
    payload: dict[str, Any] | None = None,
    trigger_id: UUID | None = None,
    scheduled_for: datetime | None = None,
) -> EventLog:
    return EventLog(
        id=new_id(now),
        tenant_id=tenant_id,
        trigger_id=trigger_id,
        trigger_type=definition.type,
        source=source,
        is_test=source == "test",
        scheduled_for=scheduled_for,
        fired_at=now,
        payload=dict(definition.payload) if payload is None else payload,
    )


def _insert(log: EventLog, jobs: list[DeliveryJob], uow: UnitOfWork) -> None:
    """Write a log, with its outbox row when its trigger has a target (one statement when not)."""
    if not jobs:
        uow.logs.insert(log)
        return
    with uow:
        uow.logs.insert(log)
        uow.deliveries.add(jobs)


# API fires -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FireResult:
    log_id: UUID
    replayed: bool


def _request_hash(trigger_id: UUID, body: Any) -> bytes:
    canonical = json.dumps([str(trigger_id), body or {}], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


def _checked_key(idempotency_key: str) -> str:
    problem = None
    if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        problem = f"must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} characters"
    elif not idempotency_key.isprintable():
        problem = "must be printable characters (no NUL or other control characters)"
    if problem:
        raise InvalidInput("The Idempotency-Key is not valid.", errors=[FieldError("Idempotency-Key", problem)])
    return idempotency_key


class WarmTriggers:
    """The api triggers this instance fired lately (least recently fired dropped first), so a warm
    fire skips reading its trigger: the log's INSERT itself checks the trigger is still at the
    version kept here, and a stale copy is read again."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[tuple[UUID, UUID], Trigger] = OrderedDict()
        self._lock = threading.Lock()  # the local runtime calls handlers from several threads

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None:
        with self._lock:
            trigger = self._kept.get((tenant_id, trigger_id))
            if trigger is not None:
                self._kept.move_to_end((tenant_id, trigger_id))
            return trigger

    def keep(self, trigger: Trigger) -> None:
        with self._lock:
            self._kept[(trigger.tenant_id, trigger.id)] = trigger
            self._kept.move_to_end((trigger.tenant_id, trigger.id))
            if len(self._kept) > self._capacity:
                self._kept.popitem(last=False)

    def drop(self, tenant_id: UUID, trigger_id: UUID) -> None:
        with self._lock:
            self._kept.pop((tenant_id, trigger_id), None)


@dataclass(frozen=True)
class _ApiFire:
    record: ApiFireRecord
    log: EventLog
    jobs: list[DeliveryJob]
    request_hash: bytes | None


def _write_api_fire(trigger: Trigger, body: Any, claim_key: str | None, uow: UnitOfWork, now: datetime) -> _ApiFire:
    """Check the body against ``trigger`` and write its fire while the trigger is at that version."""
    definition = trigger.definition
    if not isinstance(definition, ApiDefinition):
        raise Conflict("This trigger is scheduled; only api triggers are fired by a call.")
    if not definition.enabled:
        raise Conflict("This trigger is paused; enable it with PUT to fire it.")
    payload, errors = overlay(definition.payload, definition.schema_in_force, body)
    if errors:
        raise InvalidInput("The body does not fit the trigger's payload schema.", errors=errors)
    log = _log(trigger.tenant_id, definition, "api", now, payload, trigger_id=trigger.id)
    request_hash = claim = None
    if claim_key is not None:
        request_hash = _request_hash(trigger.id, body)
        claim = IdempotencyClaim(claim_key, request_hash, now - IDEMPOTENCY_TTL)
    jobs = jobs_for([log], {trigger.id: trigger})
    if not jobs:
        return _ApiFire(uow.logs.record_api_fire(log, trigger.version, claim), log, jobs, request_hash)
    with uow:  # the outbox row commits with its log
        record = uow.logs.record_api_fire(log, trigger.version, claim)
        if record == "logged":
            uow.deliveries.add(jobs)
    return _ApiFire(record, log, jobs, request_hash)


def fire_api_trigger(
    tenant_id: UUID,
    trigger_id: str,
    body: Any,
    idempotency_key: str | None = None,
    *,
    uow: UnitOfWork,
    cache: Cache,
    clock: Clock,
    queue: DeliveryQueue | None = None,
    warm: WarmTriggers | None = None,
) -> FireResult:
    """Fire an api trigger with a call's body overlaid on its predefined payload: one round trip
    when ``warm`` holds the trigger at its current version, else a read first."""
    claim_key = _checked_key(idempotency_key) if idempotency_key is not None else None
    parsed = parse_id(trigger_id)
    kept = warm.get(tenant_id, parsed) if warm and parsed else None
    if warm and kept:
        try:
            warm_fire = _write_api_fire(kept, body, claim_key, uow, clock.now())
        except (Conflict, InvalidInput):  # judged by a copy that may be stale: judged again below
            warm_fire = None
        if warm_fire is not None and warm_fire.record != "stale":
            return _fired(warm_fire, tenant_id, cache, queue)
        warm.drop(tenant_id, kept.id)
    for _ in range(MAX_STALE_READS):
        trigger = get_trigger(tenant_id, trigger_id, store=uow.triggers)
        fire = _write_api_fire(trigger, body, claim_key, uow, clock.now())
        if fire.record != "stale":
            if warm:
                warm.keep(trigger)
            return _fired(fire, tenant_id, cache, queue)
    raise Conflict("The trigger was edited while it was being fired; fire it again.")


def _fired(fire: _ApiFire, tenant_id: UUID, cache: Cache, queue: DeliveryQueue | None) -> FireResult:
    if isinstance(fire.record, EarlierFire):
        if fire.record.request_hash != fire.request_hash:
            raise InvalidInput(
                "This Idempotency-Key was used for a different request.",
                errors=[FieldError("Idempotency-Key", "was already used with another trigger or body")],
            )
        return FireResult(fire.record.log_id, replayed=True)
    invalidate_tenant_logs(cache, tenant_id)
    enqueue(queue, fire.jobs)
    return FireResult(fire.log.id, replayed=False)


# Manual tests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualTest:
    """How a manual test went: its log, or why it could not be logged and when to try again."""

    log: EventLog | None
    failure: str | None = None
    retry_after_s: int = 0

    @property
    def log_id(self) -> str | None:
        return str(self.log.id) if self.log else None


def _logged_test(
    log: EventLog,
    uow: UnitOfWork,
    cache: Cache,
    jobs: list[DeliveryJob] | None = None,
    queue: DeliveryQueue | None = None,
) -> ManualTest:
    _insert(log, jobs or [], uow)
    invalidate_tenant_logs(cache, log.tenant_id)
    enqueue(queue, jobs or [])
    return ManualTest(log)


def _unavailable(error: ServiceUnavailable) -> ManualTest:
    return ManualTest(None, failure=error.detail, retry_after_s=error.retry_after_s)


def test_definition(
    tenant_id: UUID, definition: AnyDefinition, *, uow: UnitOfWork, cache: Cache, clock: Clock
) -> ManualTest:
    """Fire an unsaved definition once, now: only the (test) log is stored."""
    now = clock.now()
    log = _log(tenant_id, checked_definition(definition, now), "test", now)
    try:
        return _logged_test(log, uow, cache)
    except ServiceUnavailable as error:
        return _unavailable(error)


def test_trigger(
    tenant_id: UUID,
    trigger_id: str,
    *,
    uow: UnitOfWork,
    cache: Cache,
    clock: Clock,
    queue: DeliveryQueue | None = None,
) -> ManualTest:
    """Fire a saved trigger once, now, whatever its schedule, leaving the schedule as it is; its
    delivery, when it has a target, says ``"is_test": true``."""
    try:
        trigger = get_trigger(tenant_id, trigger_id, store=uow.triggers)
        log = _log(tenant_id, trigger.definition, "test", clock.now(), trigger_id=trigger.id)
        return _logged_test(log, uow, cache, jobs_for([log], {trigger.id: trigger}), queue)
    except ServiceUnavailable as error:
        return _unavailable(error)


# Scheduled fires -------------------------------------------------------------------------------

SkipReason = Literal["deleted", "paused", "stale_version", "duplicate"]


@dataclass(frozen=True)
class ScheduledFireOutcome:
    fire: ScheduledFire
    log: EventLog | None
    skipped: SkipReason | None = None


def _skip_reason(fire: ScheduledFire, trigger: Trigger | None) -> SkipReason | None:
    if trigger is None or trigger.tenant_id != fire.tenant_id:
        return "deleted"
    if trigger.armed_version != fire.version or not isinstance(trigger.definition, ScheduledDefinition):
        return "stale_version"
    if not trigger.definition.enabled:
        return "paused"
    return None


def _progress(trigger: Trigger, scheduled_for: datetime) -> ScheduleProgress:
    """What a fire at ``scheduled_for`` leaves the trigger at: completed, or due next."""
    definition = trigger.definition
    assert isinstance(definition, ScheduledDefinition)  # noqa: S101 - checked by _skip_reason  # nosec B101
    if not is_recurring(definition.schedule):
        return ScheduleProgress(trigger.tenant_id, trigger.id, trigger.armed_version, "completed", None)
    following = next_fire_after(definition.schedule, scheduled_for, trigger.armed_at)
    return ScheduleProgress(trigger.tenant_id, trigger.id, trigger.armed_version, "active", following)


def fire_scheduled(
    fires: Sequence[ScheduledFire],
    *,
    uow: UnitOfWork,
    cache: Cache,
    clock: Clock,
    queue: DeliveryQueue | None = None,
    read: Mapping[UUID, Trigger] | None = None,
) -> list[ScheduledFireOutcome]:
    """Log due times of scheduled triggers, each exactly once however often it is delivered: the
    fire Lambda passes the one it received, the local scheduler a batch, in one unit of work.
    ``read`` holds the triggers as the caller already read them in this unit of work (the local
    scheduler's claim joins them), saving a second read of each."""
    found = read if read is not None else uow.triggers.get_many([(f.tenant_id, f.trigger_id) for f in fires])
    now = clock.now()
    skipped: list[ScheduledFireOutcome] = []
    fireable: list[tuple[Trigger, ScheduledFire, EventLog]] = []
    for fire in fires:
        trigger = found.get(fire.trigger_id)
        reason = _skip_reason(fire, trigger)
        if trigger is None or reason is not None:
            skipped.append(ScheduledFireOutcome(fire, None, reason))
            continue
        log = _log(
            trigger.tenant_id,
            trigger.definition,
            "scheduled",
            now,
            trigger_id=trigger.id,
            scheduled_for=fire.scheduled_time,
        )
        fireable.append((trigger, fire, log))
    if not fireable:
        return skipped
    fired = [(log, _progress(t, fire.scheduled_time)) for t, fire, log in fireable]
    if any(t.definition.target is not None for t, _, _ in fireable):
        with uow:  # the outbox rows commit with their logs
            inserted = uow.logs.record_scheduled_fires(fired)
            jobs = jobs_for([log for _, _, log in fireable if log.id in inserted], {t.id: t for t, _, _ in fireable})
            if jobs:
                uow.deliveries.add(jobs)
    else:  # one statement, atomic on its own: no transaction to open
        inserted, jobs = uow.logs.record_scheduled_fires(fired), []
    for tenant_id in {log.tenant_id for _, _, log in fireable if log.id in inserted}:
        invalidate_tenant_logs(cache, tenant_id)
    enqueue(queue, jobs)
    return skipped + [
        ScheduledFireOutcome(fire, log) if log.id in inserted else ScheduledFireOutcome(fire, None, "duplicate")
        for _, fire, log in fireable
    ]
