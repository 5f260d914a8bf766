"""What the platform stores: triggers and event logs, read back without running input validation.

A stored definition was validated when the customer sent it; reading it builds the same models
with ``model_construct`` (no validators), so a read costs what it must and a rule tightened later
never makes existing triggers unreadable.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from trigger_platform.definitions import (
    AnyDefinition,
    AnySchedule,
    ApiDefinition,
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    ScheduledDefinition,
    Target,
    TriggerType,
    schedule_kind,
)
from trigger_platform.payloads import Scalar

#: What the platform keeps about a trigger's schedule: ``completed`` once a one-time trigger fired.
TriggerStatus = Literal["active", "completed"]
LogSource = Literal["scheduled", "api", "test"]
#: Where a log's delivery stands: ``none`` when its trigger had no target.
DeliveryStatus = Literal["pending", "delivered", "failed", "none"]


@dataclass(frozen=True, slots=True)
class Trigger:
    """A stored trigger: the customer's definition plus what the platform keeps about it.

    ``armed_at`` and ``armed_version`` say when, and at which version, the current schedule was
    defined: intervals count from ``armed_at``, and a schedule's deliveries carry ``armed_version``,
    so an edit that leaves the schedule alone (a rename) neither restarts nor invalidates it.
    """

    id: UUID
    tenant_id: UUID
    definition: AnyDefinition
    status: TriggerStatus
    version: int
    next_fire_at: datetime | None
    armed_at: datetime
    armed_version: int
    created_at: datetime
    updated_at: datetime
    #: The Standard Webhooks secret deliveries are signed with, while the trigger has a target; the
    #: one it replaced keeps signing too until ``previous_secret_expires_at`` (rotation).
    signing_secret: str | None = None
    previous_signing_secret: str | None = None
    previous_secret_expires_at: datetime | None = None

    @property
    def is_scheduled(self) -> bool:
        return isinstance(self.definition, ScheduledDefinition)

    @property
    def secrets(self) -> "SigningSecrets | None":
        if self.signing_secret is None:
            return None
        return SigningSecrets(self.signing_secret, self.previous_signing_secret, self.previous_secret_expires_at)


@dataclass(frozen=True, slots=True)
class SigningSecrets:
    """A trigger's signing secret, and during a rotation's overlap the one it replaced."""

    current: str
    previous: str | None = None
    previous_expires_at: datetime | None = None

    def in_force(self, now: datetime) -> list[str]:
        """The secrets a delivery at ``now`` is signed with."""
        if self.previous and self.previous_expires_at and now < self.previous_expires_at:
            return [self.current, self.previous]
        return [self.current]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at delivering a log: its HTTP status (None when no answer came) or what went wrong."""

    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A log's delivery as stored. Lists of logs read it in brief: ``attempts`` is then empty and
    ``attempt_count`` says how many there were."""

    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    attempts: tuple[Attempt, ...] = ()


NO_DELIVERY = Delivery("none", 0, None)


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """The outbox row a fire of a trigger with a target writes with its log: deliver ``log_id`` to
    ``url`` (the target it had when it fired), starting now."""

    log_id: UUID
    tenant_id: UUID
    trigger_id: UUID
    fired_at: datetime
    url: str

    @property
    def host(self) -> str:
        return target_host(self.url)


def target_host(url: str) -> str:
    """What a target's concurrency is bounded by: its host and port (``example.com:443``)."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


@dataclass(frozen=True, slots=True)
class EventLog:
    """One firing of a trigger, as stored."""

    id: UUID
    tenant_id: UUID
    trigger_id: UUID | None
    trigger_type: TriggerType
    source: LogSource
    is_test: bool
    scheduled_for: datetime | None
    fired_at: datetime
    payload: dict[str, Scalar]
    status: str = "success"
    delivery: Delivery = NO_DELIVERY


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """Counts of one (trigger, source) pair's logs within a read window."""

    trigger_id: UUID | None
    trigger_type: TriggerType
    source: LogSource
    active: int
    total: int
    last_fired_at: datetime


@dataclass(frozen=True, slots=True)
class Crossing:
    """A log about to change state, as an aggregate needs to know it to count it at a later moment."""

    fired_at: datetime
    trigger_id: UUID | None
    trigger_type: TriggerType
    source: LogSource
    delivery: DeliveryStatus


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _stored_schedule(document: dict[str, Any]) -> AnySchedule:
    kind = schedule_kind(document)
    if kind == "at-schedule":
        return AtSchedule.model_construct(at=datetime.fromisoformat(document["at"]))
    start_at, end_at = _moment(document.get("start_at")), _moment(document.get("end_at"))
    if kind == "cron-schedule":
        return CronSchedule.model_construct(
            cron=document["cron"], timezone=document.get("timezone", "UTC"), start_at=start_at, end_at=end_at
        )
    return IntervalSchedule.model_construct(
        interval=document["interval"],
        unit=document["unit"],
        is_recurring=document.get("is_recurring", False),
        start_at=start_at,
        end_at=end_at,
    )


def stored_definition(document: dict[str, Any]) -> AnyDefinition:
    """The definition a ``definition.model_dump(mode="json")`` document was made from."""
    target = document.get("target")
    common = {
        "name": document.get("name"),
        "payload": document.get("payload", {}),
        "enabled": document.get("enabled", True),
        "target": Target.model_construct(url=target["url"]) if target else None,
    }
    if document["type"] == "scheduled":
        return ScheduledDefinition.model_construct(
            type="scheduled", schedule=_stored_schedule(document["schedule"]), **common
        )
    return ApiDefinition.model_construct(type="api", payload_schema=document.get("schema"), **common)


def definition_document(definition: AnyDefinition) -> dict[str, Any]:
    """The JSON document a definition is stored as (``stored_definition`` reads it back)."""
    return definition.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class ScheduleProgress:
    """Where a scheduled trigger stands after a fire: completed (one-time), or when it is due next.
    Applied only while the trigger's schedule is still the one armed at ``armed_version``."""

    tenant_id: UUID
    trigger_id: UUID
    armed_version: int
    status: TriggerStatus
    next_fire_at: datetime | None


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key to claim with a fire's log: a claim made at or before ``expired_at`` has
    expired and is taken over."""

    key: str
    request_hash: bytes
    expired_at: datetime


@dataclass(frozen=True, slots=True)
class EarlierFire:
    """The unexpired first use of an Idempotency-Key: its request's hash and the log it wrote."""

    request_hash: bytes
    log_id: UUID


ApiFireRecord = Literal["logged", "stale"] | EarlierFire
"""What writing an api fire came to: logged, not written because the trigger is no longer at the
version it was read at ("stale": edited or deleted since), or the key's earlier fire."""


@dataclass(frozen=True, slots=True)
class TenantUsage:
    """What counts against a tenant's quotas."""

    triggers: int
    enabled_recurring: int


@dataclass(frozen=True, slots=True)
class FoundToken:
    """An unrevoked token's stored hash, its tenant, and the tenant's API Gateway usage key."""

    token_hash: bytes
    tenant_id: UUID
    api_key: str | None
