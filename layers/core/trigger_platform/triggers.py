"""Trigger lifecycle: create, read, list, replace and delete a tenant's triggers."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.errors import InvalidInput, NotFound, PreconditionFailed
from trigger_platform.ids import new_id, parse_id
from trigger_platform.models import AnyDefinition, ScheduledDefinition, Trigger
from trigger_platform.pagination import decode_cursor, encode_cursor
from trigger_platform.ports import TriggerStore
from trigger_platform.schedules import first_fire_at, schedule_errors


@dataclass(frozen=True)
class TriggerPage:
    triggers: list[Trigger]
    next_cursor: str | None


def _checked(definition: AnyDefinition, clock: Clock) -> AnyDefinition:
    if isinstance(definition, ScheduledDefinition):
        errors = schedule_errors(definition.schedule, clock.now())
        if errors:
            raise InvalidInput("The trigger definition is not valid.", errors=errors)
    return definition


def _next_fire_at(definition: AnyDefinition, clock: Clock) -> datetime | None:
    if isinstance(definition, ScheduledDefinition):
        return first_fire_at(definition.schedule, clock.now())
    return None


def create_trigger(tenant_id: UUID, definition: AnyDefinition, store: TriggerStore, clock: Clock) -> Trigger:
    now = clock.now()
    trigger = Trigger(
        id=new_id(now),
        tenant_id=tenant_id,
        definition=_checked(definition, clock),
        status="active",
        version=1,
        next_fire_at=_next_fire_at(definition, clock),
        created_at=now,
        updated_at=now,
    )
    store.insert(trigger)
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
    clock: Clock,
    expected_version: int | None = None,
) -> Trigger:
    """Full replace: a new definition, a new first fire time, the version bumped by the store."""
    current = get_trigger(tenant_id, trigger_id, store)
    if expected_version is not None and expected_version != current.version:
        raise PreconditionFailed(f"The trigger is at version {current.version}, not {expected_version}.")
    replacement = current.model_copy(
        update={
            "definition": _checked(definition, clock),
            "status": "active",
            "next_fire_at": _next_fire_at(definition, clock),
            "updated_at": clock.now(),
        }
    )
    stored = store.replace(replacement, current.version)
    if stored is None:
        # Deleted or edited by someone else between our read and our write.
        if store.get(tenant_id, current.id) is None:
            raise NotFound("There is no such trigger.")
        raise PreconditionFailed("The trigger was changed concurrently; read it again and retry.")
    return stored


def delete_trigger(tenant_id: UUID, trigger_id: str, store: TriggerStore) -> None:
    parsed = parse_id(trigger_id)
    if parsed is None or not store.delete(tenant_id, parsed):
        raise NotFound("There is no such trigger.")
