"""Trigger lifecycle: create, read, list, edit and delete a tenant's triggers.

A scheduled trigger's row and its schedule change in one unit of work: the database write is held
open while the scheduler is called, and rolled back if that call fails, so there is never a row
without a schedule. The only leftover a failure can leave is a schedule for a trigger the database
does not have (or at another version); the fire path skips those, and ``reconcile`` removes them.

``PUT`` edits: a trigger keeps its state and next fire time unless its schedule itself changes, so
a rename never re-arms a one-time trigger that already fired, nor restarts an interval.

A trigger with a target gets a signing secret from the platform when it gains the target, keeps it
through edits, and loses it with the target; its host must pass the SSRF guard (``targets.py``).
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.definitions import AnyDefinition, AnySchedule, ScheduledDefinition
from trigger_platform.delivery import ROTATION_OVERLAP, new_signing_secret, with_signing_secret
from trigger_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed, QuotaExceeded
from trigger_platform.ids import new_id, parse_id
from trigger_platform.pagination import decode_cursor, encode_cursor
from trigger_platform.payloads import predefined_payload_errors
from trigger_platform.ports import TriggerStore, UnitOfWork
from trigger_platform.records import TenantUsage, Trigger
from trigger_platform.schedules import first_fire_at, is_recurring, next_fire_after, schedule_errors
from trigger_platform.targets import TargetGuard


@dataclass(frozen=True)
class Quotas:
    """How much one tenant may have, so that no tenant can crowd the others out of the scheduler."""

    triggers: int = 10_000
    enabled_recurring: int = 1_000


def _is_enabled_recurring(trigger: Trigger) -> bool:
    definition = trigger.definition
    return (
        isinstance(definition, ScheduledDefinition)
        and definition.enabled
        and trigger.status == "active"
        and is_recurring(definition.schedule)
    )


def _check_quotas(usage: TenantUsage, quotas: Quotas, *, new_trigger: bool, new_recurring: bool) -> None:
    if new_trigger and usage.triggers >= quotas.triggers:
        raise QuotaExceeded(
            f"The tenant has {usage.triggers} triggers, its quota; delete one first.",
            quota="triggers",
            limit=quotas.triggers,
            current=usage.triggers,
        )
    if new_recurring and usage.enabled_recurring >= quotas.enabled_recurring:
        raise QuotaExceeded(
            f"The tenant has {usage.enabled_recurring} enabled recurring triggers, its quota; "
            "pause or delete one first.",
            quota="enabled_recurring_triggers",
            limit=quotas.enabled_recurring,
            current=usage.enabled_recurring,
        )


@dataclass(frozen=True)
class TriggerPage:
    triggers: list[Trigger]
    next_cursor: str | None

    def up_to(self, count: int) -> "TriggerPage":
        """The page cut to its first ``count`` triggers (the next page starts after the last)."""
        if count >= len(self.triggers):
            return self
        return TriggerPage(self.triggers[:count], encode_cursor(self.triggers[count - 1].id))


def _checked(definition: AnyDefinition, now: datetime, schedule_is_new: bool) -> AnyDefinition:
    """The rules beyond the model's shape: a payload that fits its schema, and the time-relative
    rules of a schedule being (re)defined now (a schedule kept as it was is not judged again)."""
    if isinstance(definition, ScheduledDefinition):
        errors = schedule_errors(definition.schedule, now) if schedule_is_new else []
    else:
        errors = predefined_payload_errors(definition.payload, definition.payload_schema)
    if errors:
        raise InvalidInput("The trigger definition is not valid.", errors=errors)
    return definition


def checked_definition(definition: AnyDefinition, now: datetime) -> AnyDefinition:
    """A definition as it would be accepted at ``now`` (for creating it, or testing it unsaved)."""
    return _checked(definition, now, schedule_is_new=True)


def _schedule_of(definition: AnyDefinition) -> AnySchedule | None:
    return definition.schedule if isinstance(definition, ScheduledDefinition) else None


def _whole_seconds(moment: datetime) -> datetime:
    """Schedules count from whole seconds, as EventBridge reports scheduled times, so that a due
    time it reports maps back onto the same step of an interval."""
    return moment.replace(microsecond=0)


def _check_target(definition: AnyDefinition, targets: TargetGuard | None) -> None:
    if definition.target is None:
        return
    if targets is None:
        raise RuntimeError("a trigger with a target needs the target guard")
    targets.check(definition.target.url)


def create_trigger(
    tenant_id: UUID,
    definition: AnyDefinition,
    *,
    uow: UnitOfWork,
    clock: Clock,
    targets: TargetGuard | None = None,
    quotas: Quotas = Quotas(),
) -> Trigger:
    moment = clock.now()
    now = _whole_seconds(moment)
    schedule = _schedule_of(checked_definition(definition, now))
    _check_target(definition, targets)
    trigger = with_signing_secret(
        Trigger(
            id=new_id(moment),
            tenant_id=tenant_id,
            definition=definition,
            status="active",
            version=1,
            next_fire_at=first_fire_at(schedule, now) if schedule else None,
            armed_at=now,
            armed_version=1,
            created_at=now,
            updated_at=now,
        )
    )
    with uow:
        usage = uow.triggers.usage(tenant_id)
        _check_quotas(usage, quotas, new_trigger=True, new_recurring=_is_enabled_recurring(trigger))
        uow.triggers.insert(trigger)
        if trigger.is_scheduled:
            uow.scheduler.create(trigger)
    return trigger


def get_trigger(tenant_id: UUID, trigger_id: str, *, store: TriggerStore) -> Trigger:
    """The tenant's trigger; NotFound for an unknown, malformed or another tenant's id alike."""
    parsed = parse_id(trigger_id)
    trigger = store.get(tenant_id, parsed) if parsed else None
    if trigger is None:
        raise NotFound("There is no such trigger.")
    return trigger


def list_triggers(tenant_id: UUID, limit: int, cursor: str | None = None, *, store: TriggerStore) -> TriggerPage:
    after = decode_cursor(cursor) if cursor else None
    # One row more than asked tells whether a next page exists without a count query.
    rows = store.list_after(tenant_id, after, limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return TriggerPage(page, next_cursor)


ScheduleChange = Literal["arm", "update", "remove", "none"]


@dataclass(frozen=True)
class Edit:
    """A trigger as an edit leaves it, and what its schedule needs for that."""

    trigger: Trigger
    schedule: ScheduleChange


def edit(current: Trigger, definition: AnyDefinition, now: datetime) -> Edit:
    """The rule of ``PUT`` (pure): a new schedule re-arms the trigger from ``now``; the same schedule
    keeps its state, next fire time and phase, and only pausing or resuming touches the schedule."""
    old, new = _schedule_of(current.definition), _schedule_of(definition)
    if new is None:
        _checked(definition, now, schedule_is_new=False)
        edited = replace(current, definition=definition, status="active", next_fire_at=None, updated_at=now)
        return Edit(edited, "remove" if old is not None else "none")
    if new != old:
        _checked(definition, now, schedule_is_new=True)
        armed = replace(
            current,
            definition=definition,
            status="active",
            next_fire_at=first_fire_at(new, now),
            armed_at=now,
            armed_version=current.version + 1,
            updated_at=now,
        )
        return Edit(armed, "arm")
    edited = replace(current, definition=definition, updated_at=now)
    if current.status == "completed" or definition.enabled == current.definition.enabled:
        return Edit(edited, "none")
    if is_recurring(new):
        # Paused or resumed now: the next fire is the schedule's next step after now, on its phase.
        return Edit(replace(edited, next_fire_at=next_fire_after(new, now, current.armed_at)), "update")
    if definition.enabled and (current.next_fire_at is None or current.next_fire_at <= now):
        raise InvalidInput(
            "The trigger's one-time schedule passed while it was paused.",
            errors=[FieldError("enabled", "its one-time schedule has passed; give it a new schedule to resume it")],
        )
    return Edit(edited, "update")


def replace_trigger(
    tenant_id: UUID,
    trigger_id: str,
    definition: AnyDefinition,
    *,
    uow: UnitOfWork,
    clock: Clock,
    expected_version: int | None = None,
    quotas: Quotas = Quotas(),
    targets: TargetGuard | None = None,
) -> Trigger:
    """Replace a trigger's definition (``expected_version`` from ``If-Match``, when given)."""
    current = get_trigger(tenant_id, trigger_id, store=uow.triggers)
    if expected_version is not None and expected_version != current.version:
        raise PreconditionFailed(f"The trigger is at version {current.version}, not {expected_version}.")
    change = edit(current, definition, _whole_seconds(clock.now()))
    if definition.target != current.definition.target:
        _check_target(definition, targets)  # a target kept as it was is not resolved again
    with uow:
        if _is_enabled_recurring(change.trigger) and not _is_enabled_recurring(current):
            _check_quotas(uow.triggers.usage(tenant_id), quotas, new_trigger=False, new_recurring=True)
        stored = uow.triggers.replace(with_signing_secret(change.trigger, kept_from=current), current.version)
        if stored is None:
            # Deleted or edited by someone else between our read and our write.
            if uow.triggers.get(tenant_id, current.id) is None:
                raise NotFound("There is no such trigger.")
            raise PreconditionFailed("The trigger was changed concurrently; read it again and retry.")
        if change.schedule in ("arm", "update"):
            uow.scheduler.replace(stored)
        elif change.schedule == "remove":
            uow.scheduler.delete(current.id)
    return stored


def delete_trigger(tenant_id: UUID, trigger_id: str, *, uow: UnitOfWork) -> None:
    parsed = parse_id(trigger_id)
    with uow:
        current = uow.triggers.get(tenant_id, parsed) if parsed else None
        if current is None or not uow.triggers.delete(tenant_id, current.id):
            raise NotFound("There is no such trigger.")
        if current.is_scheduled:
            uow.scheduler.delete(current.id)


def rotate_secret(tenant_id: UUID, trigger_id: str, *, store: TriggerStore, clock: Clock) -> Trigger:
    """Give a trigger with a target a new signing secret; the old one keeps signing for 24 hours."""
    current = get_trigger(tenant_id, trigger_id, store=store)
    if current.signing_secret is None:
        raise Conflict("This trigger has no target, so it has no signing secret.")
    rotated = store.rotate_secret(tenant_id, current.id, new_signing_secret(), clock.now() + ROTATION_OVERLAP)
    if rotated is None:
        raise Conflict("The trigger's target was removed concurrently.")
    return rotated
