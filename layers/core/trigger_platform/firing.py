"""Firing triggers: by an API call, by a manual test, or by a schedule — each writes one event log.

Exactly-once rules live in the database: a scheduled (trigger, time) pair is logged once however
often it is delivered, and an Idempotency-Key maps to one log for 24 hours.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.errors import Conflict, FieldError, InvalidInput
from trigger_platform.ids import new_id
from trigger_platform.logs import invalidate_tenant_logs
from trigger_platform.models import (
    AnyDefinition,
    ApiDefinition,
    EventLog,
    ScheduledDefinition,
    Trigger,
    TriggerStatus,
)
from trigger_platform.payloads import overlay
from trigger_platform.ports import Cache, LogStore, TriggerStore
from trigger_platform.schedules import is_recurring, next_fire_after
from trigger_platform.triggers import checked, get_trigger

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True)
class FireResult:
    log_id: UUID
    replayed: bool


def _log(
    tenant_id: UUID,
    definition: AnyDefinition,
    source: Literal["scheduled", "api", "test"],
    payload: dict[str, Any],
    now: datetime,
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
        payload=payload,
    )


def _request_hash(trigger_id: UUID, body: Any) -> bytes:
    canonical = json.dumps([str(trigger_id), body or {}], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


def fire_api_trigger(
    tenant_id: UUID,
    trigger_id: str,
    body: Any,
    idempotency_key: str | None,
    triggers: TriggerStore,
    logs: LogStore,
    cache: Cache,
    clock: Clock,
) -> FireResult:
    """Fire an api trigger with a call's body overlaid on its predefined payload."""
    trigger = get_trigger(tenant_id, trigger_id, triggers)
    definition = trigger.definition
    if not isinstance(definition, ApiDefinition):
        raise Conflict("This trigger is scheduled; only api triggers are fired by a call.")
    if not definition.enabled:
        raise Conflict("This trigger is paused; enable it with PUT to fire it.")
    payload, errors = overlay(definition.payload, definition.schema_in_force, body)
    if errors:
        raise InvalidInput("The body does not fit the trigger's payload schema.", errors=errors)
    log = _log(tenant_id, definition, "api", payload, clock.now(), trigger_id=trigger.id)
    if idempotency_key is None:
        logs.insert(log)
        invalidate_tenant_logs(cache, tenant_id)
        return FireResult(log.id, replayed=False)
    if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput(
            "The Idempotency-Key is not valid.",
            errors=[FieldError("Idempotency-Key", f"must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} characters")],
        )
    request_hash = _request_hash(trigger.id, body)
    with logs.atomic():
        earlier = logs.claim_idempotency_key(
            tenant_id, idempotency_key, request_hash, log.id, log.fired_at, IDEMPOTENCY_TTL
        )
        if earlier is None:
            logs.insert(log)
    if earlier is None:
        invalidate_tenant_logs(cache, tenant_id)
        return FireResult(log.id, replayed=False)
    earlier_hash, earlier_log = earlier
    if earlier_hash != request_hash:
        raise InvalidInput(
            "This Idempotency-Key was used for a different request.",
            errors=[FieldError("Idempotency-Key", "was already used with another trigger or body")],
        )
    return FireResult(earlier_log, replayed=True)


def test_definition(tenant_id: UUID, definition: AnyDefinition, logs: LogStore, cache: Cache, clock: Clock) -> EventLog:
    """Fire an unsaved definition once, now: only the (test) log is stored."""
    now = clock.now()
    log = _log(tenant_id, checked(definition, now), "test", dict(definition.payload), now)
    logs.insert(log)
    invalidate_tenant_logs(cache, tenant_id)
    return log


def test_trigger(
    tenant_id: UUID, trigger_id: str, triggers: TriggerStore, logs: LogStore, cache: Cache, clock: Clock
) -> EventLog:
    """Fire a saved trigger once, now, whatever its schedule, leaving the schedule as it is."""
    trigger = get_trigger(tenant_id, trigger_id, triggers)
    log = _log(tenant_id, trigger.definition, "test", dict(trigger.definition.payload), clock.now(), trigger.id)
    logs.insert(log)
    invalidate_tenant_logs(cache, tenant_id)
    return log


@dataclass(frozen=True)
class ScheduledFire:
    """What a schedule's delivery says: which trigger, at which version, for which due time."""

    trigger_id: UUID
    tenant_id: UUID
    version: int
    scheduled_for: datetime


SkipReason = Literal["deleted", "paused", "stale_version", "duplicate"]


@dataclass(frozen=True)
class ScheduledFireOutcome:
    log: EventLog | None
    skipped: SkipReason | None = None


def _after_fire(
    trigger: Trigger, definition: ScheduledDefinition, scheduled_for: datetime
) -> tuple[TriggerStatus, datetime | None]:
    if not is_recurring(definition.schedule):
        return "completed", None
    return "active", next_fire_after(definition.schedule, scheduled_for, trigger.updated_at)


def fire_scheduled(
    fire: ScheduledFire, triggers: TriggerStore, logs: LogStore, cache: Cache, clock: Clock
) -> ScheduledFireOutcome:
    """Log one due time of a scheduled trigger, exactly once however often it is delivered."""
    trigger = triggers.get(fire.tenant_id, fire.trigger_id)
    if trigger is None:
        return ScheduledFireOutcome(None, "deleted")
    definition = trigger.definition
    if trigger.version != fire.version or not isinstance(definition, ScheduledDefinition):
        return ScheduledFireOutcome(None, "stale_version")
    if not definition.enabled:
        return ScheduledFireOutcome(None, "paused")
    log = _log(
        fire.tenant_id,
        definition,
        "scheduled",
        dict(definition.payload),
        clock.now(),
        trigger_id=trigger.id,
        scheduled_for=fire.scheduled_for,
    )
    with logs.atomic():
        if not logs.record_scheduled_fire(log):
            return ScheduledFireOutcome(None, "duplicate")
        status, next_fire_at = _after_fire(trigger, definition, fire.scheduled_for)
        triggers.record_fire(trigger.tenant_id, trigger.id, trigger.version, status, next_fire_at)
    invalidate_tenant_logs(cache, fire.tenant_id)
    return ScheduledFireOutcome(log)
