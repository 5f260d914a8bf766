"""Trigger lifecycle: create, read, list, replace and delete a tenant's triggers.

A scheduled trigger's row and its schedule change together: the database write is held open while
the scheduler is called, and rolled back if that call fails, so there is never a row without a
schedule. The only leftover a failure can leave is a schedule for a trigger the database does not
have (or at another version); the fire path skips those, and ``reconcile`` removes them.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.errors import FieldError, InvalidInput, NotFound, PreconditionFailed
from trigger_platform.ids import new_id, parse_id
from trigger_platform.models import AnyDefinition, ScheduledDefinition, Trigger
from trigger_platform.pagination import decode_cursor, encode_cursor
from trigger_platform.payloads import predefined_payload_errors
from trigger_platform.ports import Scheduler, TriggerStore
from trigger_platform.schedules import first_fire_at, schedule_errors


@dataclass(frozen=True)
class TriggerPage:
    triggers: list[Trigger]
    next_cursor: str | None


def definition_errors(definition: AnyDefinition, now: datetime) -> list[FieldError]:
    """The rules beyond the model's shape: time-relative schedule rules and schema fit."""
    if isinstance(definition, ScheduledDefinition):
        return schedule_errors(definition.schedule, now)
    return predefined_payload_errors(definition.payload, definition.payload_schema)


def checked(definition: AnyDefinition, now: datetime) -> AnyDefinition:
    errors = definition_errors(definition, now)
    if errors:
        raise InvalidInput("The trigger definition is not valid.", errors=errors)
    return definition


def _next_fire_at(definition: AnyDefinition, now: datetime) -> datetime | None:
    if isinstance(definition, ScheduledDefinition):
        return first_fire_at(definition.schedule, now)
    return None


def _whole_seconds(moment: datetime) -> datetime:
    """Schedules count from whole seconds, as EventBridge reports scheduled times, so that a due
    time it reports maps back onto the same step of an interval."""
    return moment.replace(microsecond=0)


def _has_schedule(trigger: Trigger) -> bool:
    return isinstance(trigger.definition, ScheduledDefinition)


def create_trigger(
    tenant_id: UUID, definition: AnyDefinition, store: TriggerStore, scheduler: Scheduler, clock: Clock
) -> Trigger:
    moment = clock.now()
    now = _whole_seconds(moment)
    trigger = Trigger(
        id=new_id(moment),
        tenant_id=tenant_id,
        definition=checked(definition, now),
        status="active",
        version=1,
        next_fire_at=_next_fire_at(definition, now),
        created_at=now,
        updated_at=now,
    )
    with store.atomic():
        store.insert(trigger)
        if _has_schedule(trigger):
            scheduler.put(trigger)
    return trigger


def get_trigger(tenant_id: UUID, trigger_id: str, store: TriggerStore) -> Trigger:
    """The tenant's trigger; NotFound for an unknown, malformed or another tenant's id alike."""
    parsed = parse_id(trigger_id)
    trigger = store.get(tenant_id, parsed) if parsed else None
    if trigger is None:
        raise NotFound("There is no such trigger.")
    return trigger


def list_triggers(tenant_id: UUID, store: TriggerStore, limit: int, cursor: str | None = None) -> TriggerPage:
    after = decode_cursor(cursor) if cursor else None
    # One row more than asked tells whether a next page exists without a count query.
    rows = store.list_after(tenant_id, after, limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return TriggerPage(page, next_cursor)


def replace_trigger(
    tenant_id: UUID,
    trigger_id: str,
    definition: AnyDefinition,
    store: TriggerStore,
    scheduler: Scheduler,
    clock: Clock,
    expected_version: int | None = None,
) -> Trigger:
    """Full replace: a new definition, a new first fire time, the version bumped by the store."""
    current = get_trigger(tenant_id, trigger_id, store)
    if expected_version is not None and expected_version != current.version:
        raise PreconditionFailed(f"The trigger is at version {current.version}, not {expected_version}.")
    now = _whole_seconds(clock.now())
    replacement = current.model_copy(
        update={
            "definition": checked(definition, now),
            "status": "active",
            "next_fire_at": _next_fire_at(definition, now),
            "updated_at": now,
        }
    )
    with store.atomic():
        stored = store.replace(replacement, current.version)
        if stored is None:
            # Deleted or edited by someone else between our read and our write.
            if store.get(tenant_id, current.id) is None:
                raise NotFound("There is no such trigger.")
            raise PreconditionFailed("The trigger was changed concurrently; read it again and retry.")
        if _has_schedule(stored):
            scheduler.put(stored)
        elif _has_schedule(current):
            scheduler.delete(current.id)
    return stored


def delete_trigger(tenant_id: UUID, trigger_id: str, store: TriggerStore, scheduler: Scheduler) -> None:
    parsed = parse_id(trigger_id)
    with store.atomic():
        current = store.get(tenant_id, parsed) if parsed else None
        if current is None or not store.delete(tenant_id, current.id):
            raise NotFound("There is no such trigger.")
        if _has_schedule(current):
            scheduler.delete(current.id)
