"""The small interfaces the domain needs; adapters implement them, tests pass in-memory fakes."""

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.lifecycle import Selection
from trigger_platform.records import (
    AggregateRow,
    ApiFireRecord,
    Attempt,
    Crossing,
    Delivery,
    DeliveryJob,
    DeliveryStatus,
    EventLog,
    FoundToken,
    IdempotencyClaim,
    ScheduleProgress,
    SigningSecrets,
    TenantUsage,
    Trigger,
)

__all__ = [
    "ApiKeys",
    "Cache",
    "Clock",
    "DeliveryQueue",
    "DeliveryStore",
    "LogStore",
    "Resolver",
    "RetentionStore",
    "Scheduler",
    "TokenStore",
    "TriggerStore",
    "UnitOfWork",
    "WebhookSender",
]


class TriggerStore(Protocol):
    def insert(self, trigger: Trigger) -> None: ...

    def usage(self, tenant_id: UUID) -> TenantUsage:
        """What the tenant has against its quotas. Inside a unit of work it also holds the tenant's
        quota lock until the unit ends, so two creations cannot both take the last place."""
        ...

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None: ...

    def list_after(self, tenant_id: UUID, after: UUID | None, limit: int) -> list[Trigger]:
        """Up to ``limit`` triggers with ids greater than ``after``, in id (creation) order."""
        ...

    def replace(self, trigger: Trigger, expected_version: int) -> Trigger | None:
        """Store ``trigger`` with its version bumped, if the stored version is ``expected_version``;
        None when nothing matched."""
        ...

    def delete(self, tenant_id: UUID, trigger_id: UUID) -> bool: ...

    def live_scheduled(self) -> list[Trigger]:
        """Every tenant's scheduled triggers that still have fires ahead (operator use only)."""
        ...

    def get_many(self, keys: list[tuple[UUID, UUID]]) -> dict[UUID, Trigger]:
        """The triggers among (tenant id, trigger id) ``keys`` that exist, by id."""
        ...

    def rotate_secret(
        self, tenant_id: UUID, trigger_id: UUID, secret: str, previous_expires_at: datetime
    ) -> Trigger | None:
        """Make ``secret`` the trigger's signing secret, keeping the one it replaces until
        ``previous_expires_at``; None when the trigger is not there or has no target."""
        ...


class LogStore(Protocol):
    def insert(self, log: EventLog) -> None: ...

    def record_scheduled_fires(self, fired: list[tuple[EventLog, ScheduleProgress]]) -> set[UUID]:
        """Insert each log unless its (trigger, scheduled time) is logged already, and move the
        trigger of each one inserted on to its progress (the latest due time's, when a trigger has
        several; only while its schedule is the one the progress names), atomically; the ids inserted."""
        ...

    def record_api_fire(self, log: EventLog, trigger_version: int, claim: IdempotencyClaim | None) -> ApiFireRecord:
        """Insert the log of an api fire only while its trigger is at ``trigger_version``, and with
        ``claim`` only when the key is new or expired (else the key's earlier fire), atomically."""
        ...

    def get(self, tenant_id: UUID, log_id: UUID, fired_not_before: datetime) -> EventLog | None:
        """One log with its delivery in full."""
        ...

    def list_page(
        self,
        tenant_id: UUID,
        selection: Selection,
        before: tuple[datetime, UUID] | None,
        limit: int,
        delivery: DeliveryStatus | None = None,
    ) -> list[EventLog]:
        """Up to ``limit`` selected logs, newest first, older than the ``before`` key, with their
        deliveries in brief (only those whose delivery is ``delivery``, when given)."""
        ...

    def oldest_fired_at(self, tenant_id: UUID, selection: Selection) -> datetime | None: ...

    def aggregate(self, tenant_id: UUID, selection: Selection, active_after: datetime) -> list[AggregateRow]:
        """Counts of the selected logs per (trigger, source); active ones fired after ``active_after``."""
        ...

    def crossings(
        self, tenant_id: UUID, selection: Selection, ranges: list[tuple[datetime, datetime]], limit: int
    ) -> list[list[Crossing]]:
        """For each ``(after, not_after]`` range, the first ``limit`` selected logs fired in it, oldest
        first, each with where its delivery stands (``none`` without one)."""
        ...


IPAddress = IPv4Address | IPv6Address


class Resolver(Protocol):
    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` (a name or a literal) resolves to; empty when it does not resolve."""
        ...


@dataclass(frozen=True)
class WebhookRequest:
    """One signed POST of a log to its target."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class SendResult:
    """What one POST came to: the status (None without an answer), how long it took, what went wrong,
    and a Retry-After the endpoint asked for. ``deferred`` means it was not tried: the target's host
    already had as many deliveries in flight as it may."""

    status_code: int | None
    duration_ms: int
    error: str | None = None
    retry_after_s: float | None = None
    deferred: bool = False


class WebhookSender(Protocol):
    def send_all(self, requests: list[WebhookRequest]) -> list[SendResult]:
        """POST each request (concurrently, bounded per target host); one result per request, in order."""
        ...


class DeliveryQueue(Protocol):
    """What wakes the delivery function: SQS on AWS. The local runtime reads the outbox itself."""

    def send(self, log_ids: list[UUID]) -> None:
        """Ask for these logs to be delivered now."""
        ...

    def retry_in(self, receipt: str, seconds: float) -> None:
        """Make a received message come back in ``seconds`` (its visibility timeout)."""
        ...


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased for one attempt, with what the attempt needs: the log (None once it is past
    retention) and the trigger's signing secrets (None once it is deleted or has no target)."""

    log_id: UUID
    tenant_id: UUID
    url: str
    attempts_in_round: int
    log: EventLog | None
    secrets: SigningSecrets | None


@dataclass(frozen=True)
class AttemptRecord:
    """An attempt's outcome to store: the attempt (None for a deferral) and where that leaves the delivery."""

    log_id: UUID
    attempt: Attempt | None
    status: DeliveryStatus
    next_attempt_at: datetime | None


class DeliveryStore(Protocol):
    """The outbox: one row per log of a trigger with a target, written in the fire's unit of work."""

    def add(self, jobs: list[DeliveryJob]) -> None: ...

    def claim(self, receipts: dict[UUID, str], now: datetime, lease_until: datetime) -> list[ClaimedDelivery]:
        """Lease the pending, due deliveries among ``receipts`` (log id → the message's receipt) that no
        one else holds; a lease taken with the same receipt is ours."""
        ...

    def pending_until(self, log_ids: list[UUID]) -> dict[UUID, datetime]:
        """For those still pending: when they may be tried next (due time, or end of another's lease)."""
        ...

    def record(self, records: list[AttemptRecord]) -> None:
        """Store attempts and release their leases."""
        ...

    def redeliver(self, tenant_id: UUID, log_id: UUID, now: datetime) -> Delivery | None:
        """Make a delivery pending and due now, as a new round; None when there is none or it is in flight."""
        ...

    def overdue(self, due_before: datetime, now: datetime, limit: int) -> list[UUID]:
        """Pending deliveries due before ``due_before`` and not in flight (their message was lost),
        marked due at ``now`` so the next sweep leaves them alone for a while."""
        ...

    def counts(self, tenant_id: UUID, selection: Selection) -> dict[DeliveryStatus, int]:
        """Deliveries of the selected logs, by status."""
        ...


class Scheduler(Protocol):
    """Where scheduled triggers get their timer: EventBridge Scheduler on AWS, PostgreSQL locally."""

    def create(self, trigger: Trigger) -> None:
        """Give a new scheduled trigger its schedule."""
        ...

    def replace(self, trigger: Trigger) -> None:
        """Make a trigger's schedule what the trigger now says, creating it if it is gone (idempotent)."""
        ...

    def delete(self, trigger_id: UUID) -> None:
        """Remove a trigger's schedule; a schedule that is already gone is fine."""
        ...

    def trigger_ids(self) -> set[UUID]:
        """Ids of every trigger that has a schedule (for reconciling drift)."""
        ...


class UnitOfWork(Protocol):
    """The stores and the scheduler; what is written through them inside one ``with`` block commits
    together or not at all (a scheduler that is no database is called last, so its failure rolls
    the block back). Outside a block each call stands alone."""

    @property
    def triggers(self) -> TriggerStore: ...

    @property
    def logs(self) -> LogStore: ...

    @property
    def deliveries(self) -> DeliveryStore: ...

    @property
    def scheduler(self) -> Scheduler: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None: ...


class TokenStore(Protocol):
    def find_token(self, token_hash: bytes) -> FoundToken | None:
        """The stored hash, tenant and usage key of an unrevoked token with this SHA-256, if any."""
        ...

    def create_tenant(self, name: str, api_key: str | None) -> UUID | None:
        """A new tenant's id; None when the name is taken."""
        ...

    def tenant_named(self, name: str) -> UUID | None: ...

    def add_token(self, tenant_id: UUID, token_hash: bytes, label: str) -> None:
        """Register a token hash for a tenant; registering the same hash again is a no-op."""
        ...

    def revoke(self, token_hash: bytes) -> bool: ...

    def revoke_labelled(self, tenant_id: UUID, label: str, keep: bytes) -> int:
        """Revoke the tenant's tokens with ``label`` but the one whose hash is ``keep``."""
        ...


class ApiKeys(Protocol):
    """Per-tenant keys of API Gateway's usage plan, which throttles each tenant on AWS."""

    def issue(self, tenant_name: str) -> str:
        """A new key in the usage plan; its value, which the authorizer returns for the tenant."""
        ...


class Cache(Protocol):
    """A short-lived cache of read results. Every method may raise CacheUnavailable."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_s: float) -> None: ...

    def generation(self, tenant_id: UUID) -> int:
        """A number that changes whenever the tenant gets a new log (part of every cache key)."""
        ...

    def bump_generation(self, tenant_id: UUID) -> None: ...

    def get_with_generation(self, tenant_id: UUID, key: str) -> tuple[int, str | None]:
        """The tenant's generation and the entry at ``key``, read together (one round trip)."""
        ...


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

    def purge_deliveries(self, fired_before: datetime, limit: int) -> int: ...

    def purge_log_counts(self, hours_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` hourly log counts of hours that began before ``hours_before``."""
        ...
