"""The small interfaces the domain needs; adapters implement them, tests may pass fakes."""

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.models import EventLog, LogSource, Trigger, TriggerStatus, TriggerType

if TYPE_CHECKING:
    from trigger_platform.logs import Bounds

__all__ = ["Cache", "Clock", "LogStore", "RetentionStore", "Scheduler", "TokenStore", "TriggerStore"]


class TriggerStore(Protocol):
    def atomic(self) -> AbstractContextManager[None]:
        """Everything the store does inside the block commits together or not at all."""
        ...

    def insert(self, trigger: Trigger) -> None: ...

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None: ...

    def list_after(self, tenant_id: UUID, after: UUID | None, limit: int) -> list[Trigger]:
        """Up to ``limit`` triggers with ids greater than ``after``, in id (creation) order."""
        ...

    def replace(self, trigger: Trigger, expected_version: int | None) -> Trigger | None:
        """Store ``trigger`` with its version bumped, if the stored version is ``expected_version``
        (any version when None); None when nothing matched."""
        ...

    def delete(self, tenant_id: UUID, trigger_id: UUID) -> bool: ...

    def live_scheduled(self) -> list[Trigger]:
        """Every tenant's scheduled triggers that still have fires ahead (operator use only)."""
        ...

    def record_fire(
        self, tenant_id: UUID, trigger_id: UUID, version: int, status: TriggerStatus, next_fire_at: datetime | None
    ) -> None:
        """Note a scheduled fire on the trigger (completed one-time, next due time), if still at ``version``."""
        ...


class LogStore(Protocol):
    def atomic(self) -> AbstractContextManager[None]: ...

    def insert(self, log: EventLog) -> None: ...

    def record_scheduled_fire(self, log: EventLog) -> bool:
        """Insert the log unless its (trigger, scheduled time) is logged already; whether it was inserted."""
        ...

    def claim_idempotency_key(
        self, tenant_id: UUID, key: str, request_hash: bytes, log_id: UUID, now: datetime, ttl: timedelta
    ) -> tuple[bytes, UUID] | None:
        """None when ``key`` is now ours, else the (request hash, log id) of its unexpired first use."""
        ...

    def get(self, tenant_id: UUID, log_id: UUID, fired_not_before: datetime) -> EventLog | None: ...

    def list_page(
        self,
        tenant_id: UUID,
        bounds: "Bounds",
        trigger_id: UUID | None,
        source: LogSource | None,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[EventLog]:
        """Up to ``limit`` logs within ``bounds``, newest first, older than the ``before`` key."""
        ...

    def oldest_fired_at(
        self, tenant_id: UUID, bounds: "Bounds", trigger_id: UUID | None, source: LogSource | None
    ) -> datetime | None: ...

    def aggregate(
        self, tenant_id: UUID, bounds: "Bounds", active_after: datetime, trigger_id: UUID | None
    ) -> list["AggregateRow"]:
        """Counts per (trigger, source) within ``bounds``; active ones fired after ``active_after``."""
        ...


@dataclass(frozen=True)
class AggregateRow:
    trigger_id: UUID | None
    trigger_type: TriggerType
    source: LogSource
    active: int
    total: int
    last_fired_at: datetime
    oldest_active: datetime | None
    oldest: datetime


class TokenStore(Protocol):
    def find_token(self, token_hash: bytes) -> tuple[bytes, UUID] | None:
        """The stored hash and tenant of an unrevoked token with this SHA-256, if any."""
        ...

    def create_tenant(self, name: str) -> UUID: ...

    def tenant_named(self, name: str) -> UUID | None: ...

    def add_token(self, tenant_id: UUID, token_hash: bytes, label: str) -> None:
        """Register a token hash for a tenant; registering the same hash again is a no-op."""
        ...

    def revoke(self, token_hash: bytes) -> bool: ...


class Scheduler(Protocol):
    """Where scheduled triggers get their timer: EventBridge Scheduler on AWS, PostgreSQL locally."""

    def put(self, trigger: Trigger) -> None:
        """Create or replace the schedule of a scheduled trigger (idempotent)."""
        ...

    def delete(self, trigger_id: UUID) -> None:
        """Remove a trigger's schedule; a schedule that is already gone is fine."""
        ...

    def trigger_ids(self) -> set[UUID]:
        """Ids of every trigger that has a schedule (for reconciling drift)."""
        ...


class Cache(Protocol):
    """A short-lived cache of read results. Every method may raise CacheUnavailable."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_s: float) -> None: ...

    def generation(self, tenant_id: UUID) -> int:
        """A number that changes whenever the tenant gets a new log (part of every cache key)."""
        ...

    def bump_generation(self, tenant_id: UUID) -> None: ...


class RetentionStore(Protocol):
    def exclusive_run(self) -> AbstractContextManager[bool]:
        """True inside the block when no other retention run holds the lock."""
        ...

    def ensure_partitions(self, hours: list[datetime]) -> int:
        """Make sure a log partition exists for each hour; returns how many were created."""
        ...

    def partitions_ending_by(self, moment: datetime, limit: int) -> list[str]:
        """Log partitions whose whole range lies before ``moment``, oldest first."""
        ...

    def drop_partition(self, name: str) -> int:
        """Detach (without blocking writers) and drop a partition; returns the logs it held."""
        ...

    def purge_idempotency_keys(self, created_before: datetime, limit: int) -> int: ...

    def purge_scheduled_fires(self, fired_before: datetime, limit: int) -> int: ...
