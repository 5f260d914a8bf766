"""What the API returns: triggers, fires, manual tests, logs and aggregates as clients see them.

Built from records and domain values that were validated already, with ``model_construct``, and
serialised once by pydantic-core at the edge. The models document the responses in openapi.yaml.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from trigger_platform.definitions import AnySchedule, ApiDefinition, ScheduledDefinition, TriggerType
from trigger_platform.lifecycle import LogState
from trigger_platform.logs import LogAggregate, ReadLog, StateCounts, TriggerCounts
from trigger_platform.payloads import Scalar
from trigger_platform.records import Delivery, DeliveryStatus, LogSource, Trigger

#: A trigger's state as clients see it: ``paused`` while disabled, ``completed`` once a one-time trigger fired.
TriggerState = Literal["active", "paused", "completed"]


class View(BaseModel):
    """Validators and serialisers are built on first use: a cold start builds only the views its
    handler answers with."""

    model_config = ConfigDict(defer_build=True)


class ScheduledDetails(View):
    schedule: AnySchedule
    next_fire_at: datetime | None = Field(
        description="When it fires next; null once a one-time trigger has fired, and while paused"
    )


class ApiDetails(View):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    endpoint: str = Field(description="The URL a client POSTs to in order to fire the trigger")
    payload_schema: dict[str, str] = Field(alias="schema", description="The key types a fire call is checked against")


class TargetView(View):
    url: str = Field(description="Each fire is POSTed here, signed")
    secret: str = Field(
        description="The Standard Webhooks signing secret (whsec_…) that verifies each delivery's webhook-signature"
    )


class TriggerView(View):
    """A trigger as the API shows it."""

    id: UUID
    type: TriggerType
    name: str | None
    details: ScheduledDetails | ApiDetails
    payload: dict[str, Scalar]
    enabled: bool
    status: TriggerState
    # Left out, not null, without a target: the one form every client generator reads alike.
    target: TargetView | SkipJsonSchema[None] = Field(
        default=None, exclude_if=lambda v: v is None, description="Where each fire is delivered; absent without one"
    )
    version: int = Field(description="Bumped by every edit; the ETag, and what If-Match names")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, trigger: Trigger, base_url: str) -> "TriggerView":
        """The view of a stored trigger; ``base_url`` is where the client reaches this API."""
        definition = trigger.definition
        paused = not definition.enabled and trigger.status == "active"
        details: ScheduledDetails | ApiDetails
        if isinstance(definition, ScheduledDefinition):
            next_fire_at = None if paused else trigger.next_fire_at
            details = ScheduledDetails.model_construct(schedule=definition.schedule, next_fire_at=next_fire_at)
        else:
            assert isinstance(definition, ApiDefinition)  # noqa: S101 - the union has two members  # nosec B101
            details = ApiDetails.model_construct(
                endpoint=f"{base_url}/triggers/{trigger.id}/fire", payload_schema=definition.schema_in_force
            )
        target = None
        if definition.target is not None and trigger.signing_secret is not None:
            target = TargetView.model_construct(url=definition.target.url, secret=trigger.signing_secret)
        return cls.model_construct(
            id=trigger.id,
            type=definition.type,
            name=definition.name,
            details=details,
            payload=definition.payload,
            enabled=definition.enabled,
            status="paused" if paused else trigger.status,
            target=target,
            version=trigger.version,
            created_at=trigger.created_at,
            updated_at=trigger.updated_at,
        )


class TriggerCreated(View):
    """The answer to ``POST /triggers``: the seed's ``id`` and ``status`` plus the stored trigger."""

    id: UUID
    status: Literal["created"] = "created"
    trigger: TriggerView


class Fired(View):
    """The answer to ``POST /triggers/{id}/fire``."""

    id: UUID = Field(description="The event log's id")
    status: Literal["fired"] = "fired"


class ManualTestOutcome(View):
    """The answer to ``POST /triggers/test`` and ``POST /triggers/{id}/test``."""

    id: UUID | None = Field(description="The test event log's id; null when the test could not be logged")
    status: Literal["success", "failed"]
    reason: str | None = Field(default=None, description="Why the test failed")


class AttemptView(View):
    at: datetime = Field(description="When the attempt started")
    status_code: int | None = Field(description="The endpoint's HTTP status; null when no answer came")
    duration_ms: int
    error: str | None = Field(description="What went wrong; null for a 2xx")


class DeliveryBrief(View):
    """Where a log's delivery to its trigger's target stands."""

    status: DeliveryStatus = Field(
        description="pending (being tried), delivered (a 2xx came), failed (410 Gone or retries spent), "
        "none (the trigger has no target)"
    )
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When it is tried next; null unless pending")

    @classmethod
    def of(cls, delivery: Delivery) -> "DeliveryBrief":
        return cls.model_construct(
            status=delivery.status, attempt_count=delivery.attempt_count, next_attempt_at=delivery.next_attempt_at
        )


class DeliveryView(DeliveryBrief):
    """A log's delivery with every attempt."""

    attempts: list[AttemptView] = Field(description="Oldest first")

    @classmethod
    def of(cls, delivery: Delivery) -> "DeliveryView":
        attempts = [
            AttemptView.model_construct(at=a.at, status_code=a.status_code, duration_ms=a.duration_ms, error=a.error)
            for a in delivery.attempts
        ]
        return cls.model_construct(
            status=delivery.status,
            attempt_count=delivery.attempt_count,
            next_attempt_at=delivery.next_attempt_at,
            attempts=attempts,
        )


class LogView(View):
    """An event log as the API shows it, with its lifecycle state at the time of reading."""

    id: UUID = Field(description="The log's id (a UUIDv7: it sorts by firing time)")
    trigger_id: UUID | None = Field(description="null for a test of an unsaved definition")
    trigger_type: TriggerType = Field(description="The kind of trigger that fired")
    source: LogSource = Field(description="What fired it: its schedule, an API call, or a manual test")
    is_test: bool = Field(description="true for manual tests")
    scheduled_for: datetime | None = Field(description="The due time a scheduled fire was for")
    fired_at: datetime = Field(description="When it fired")
    payload: dict[str, Scalar] = Field(description="The payload it fired with")
    status: str = Field(description="How the firing went")
    state: LogState = Field(description="active (< 2 h old) or archived (2-48 h)")
    delivery: DeliveryBrief = Field(description="Its delivery to the trigger's target, in brief")

    @classmethod
    def of(cls, read: ReadLog) -> "LogView":
        fields = {name: getattr(read.log, name) for name in cls.model_fields if name not in ("state", "delivery")}
        return cls.model_construct(**fields, state=read.state, delivery=cls._delivery(read.log.delivery))

    @staticmethod
    def _delivery(delivery: Delivery) -> DeliveryBrief:
        return DeliveryBrief.of(delivery)


class LogDetailView(LogView):
    """An event log with its delivery's every attempt."""

    delivery: DeliveryView = Field(description="Its delivery to the trigger's target")

    @staticmethod
    def _delivery(delivery: Delivery) -> DeliveryView:
        return DeliveryView.of(delivery)


class StateCountsView(View):
    active: int = Field(description="Logs younger than 2 hours")
    archived: int = Field(description="Logs 2 to 48 hours old")
    total: int = Field(description="active + archived")

    @classmethod
    def of(cls, counts: StateCounts) -> "StateCountsView":
        return cls.model_construct(**{name: getattr(counts, name) for name in cls.model_fields})


class TriggerCountsView(StateCountsView):
    trigger_id: UUID | None = Field(description="null for tests of unsaved definitions")
    trigger_type: TriggerType
    last_fired_at: datetime

    @classmethod
    def of_trigger(cls, counts: TriggerCounts) -> "TriggerCountsView":
        return cls.model_construct(**{name: getattr(counts, name) for name in cls.model_fields})


class LogAggregateView(View):
    """Counts of the logs a tenant can still read, by state, trigger and source."""

    totals: StateCountsView
    by_trigger: list[TriggerCountsView] = Field(
        description="Newest-firing trigger first, at most 1,000 (the rest are counted in by_trigger_omitted)"
    )
    by_trigger_omitted: int = Field(description="Triggers with logs past the first 1,000 listed; in the totals")
    by_source: dict[LogSource, StateCountsView]
    deliveries: dict[DeliveryStatus, int] = Field(description="The logs by where their delivery stands")

    @classmethod
    def of(cls, aggregate: LogAggregate) -> "LogAggregateView":
        return cls.model_construct(
            totals=StateCountsView.of(aggregate.totals),
            by_trigger=[TriggerCountsView.of_trigger(counts) for counts in aggregate.by_trigger],
            by_trigger_omitted=aggregate.by_trigger_omitted,
            by_source={source: StateCountsView.of(counts) for source, counts in aggregate.by_source.items()},
            deliveries=aggregate.deliveries,
        )
