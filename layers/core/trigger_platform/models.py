"""Pydantic models: what a customer sends to define a trigger, what is stored, and what the API returns.

Shape rules live here; rules that depend on the current time (an ``at`` in the past) live in
``schedules.py`` because a model cannot see the clock.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
)

from trigger_platform.payloads import FlatPayload

TimeUnit = Literal["seconds", "minutes", "hours", "days"]
TriggerType = Literal["scheduled", "api"]
TriggerStatus = Literal["active", "completed"]

UNIT_SECONDS: dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_NAME_LENGTH = 200


class StrictModel(BaseModel):
    """Input models refuse unknown keys, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _iso_string(value: Any) -> Any:
    """Times must be ISO-8601 strings: a bare number would be read as Unix seconds without asking."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO-8601 date-time string with a UTC offset")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_string)]


class IntervalSchedule(StrictModel):
    """Once after ``interval`` ``unit``s, or every ``interval`` ``unit``s when recurring."""

    interval: int = Field(strict=True, gt=0, le=100_000_000, examples=[30])
    unit: TimeUnit = Field(examples=["minutes"])
    is_recurring: bool = Field(default=False, strict=True)

    @property
    def seconds(self) -> int:
        return self.interval * UNIT_SECONDS[self.unit]


class AtSchedule(StrictModel):
    """Once at a given moment."""

    at: IsoDateTime = Field(examples=["2027-01-05T09:00:00+01:00"])


def _schedule_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "at" in value:
            return "at-schedule"
        if "interval" in value:
            return "interval-schedule"
        return None
    if isinstance(value, AtSchedule):
        return "at-schedule"
    if isinstance(value, IntervalSchedule):
        return "interval-schedule"
    return None


Schedule = Annotated[
    Annotated[IntervalSchedule, Tag("interval-schedule")] | Annotated[AtSchedule, Tag("at-schedule")],
    Discriminator(
        _schedule_kind,
        custom_error_type="schedule_kind",
        custom_error_message="a schedule needs either 'interval' and 'unit', or 'at'",
    ),
]

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class ScheduledDefinition(StrictModel):
    type: Literal["scheduled"]
    name: Name | None = None
    schedule: Schedule
    payload: FlatPayload = Field(default_factory=dict)
    enabled: bool = Field(default=True, strict=True)


class ApiDefinition(StrictModel):
    type: Literal["api"]
    name: Name | None = None
    payload: FlatPayload = Field(default_factory=dict)
    enabled: bool = Field(default=True, strict=True)


AnyDefinition = Annotated[ScheduledDefinition | ApiDefinition, Field(discriminator="type")]

#: Loc segments pydantic inserts for union members; they are not fields and are dropped from error paths.
UNION_TAGS = frozenset({"scheduled", "api", "interval-schedule", "at-schedule"})


class TriggerDefinition(RootModel[AnyDefinition]):
    """A trigger as the customer defines it: the body of ``POST /triggers`` and ``PUT /triggers/{id}``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}},
                {"type": "api", "payload": {"key": "value"}},
                {"type": "scheduled", "name": "new year", "schedule": {"at": "2027-01-01T00:00:00+01:00"}},
            ]
        }
    )


class Trigger(BaseModel):
    """A stored trigger: the definition plus what the platform keeps about it."""

    id: UUID
    tenant_id: UUID
    definition: AnyDefinition
    status: TriggerStatus
    version: int
    next_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ScheduledDetails(BaseModel):
    schedule: IntervalSchedule | AtSchedule
    next_fire_at: datetime | None = Field(description="When it fires next; null once a one-time trigger has fired")


class ApiDetails(BaseModel):
    endpoint: str = Field(description="Path a client POSTs to in order to fire the trigger")


class TriggerOut(BaseModel):
    """A trigger as the API shows it."""

    id: UUID
    type: TriggerType
    name: str | None
    details: ScheduledDetails | ApiDetails
    payload: dict[str, str | int | float | bool | None]
    enabled: bool
    status: TriggerStatus
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, trigger: Trigger) -> "TriggerOut":
        definition = trigger.definition
        details: ScheduledDetails | ApiDetails
        if isinstance(definition, ScheduledDefinition):
            details = ScheduledDetails(schedule=definition.schedule, next_fire_at=trigger.next_fire_at)
        else:
            details = ApiDetails(endpoint=f"/triggers/{trigger.id}/fire")
        return cls(
            id=trigger.id,
            type=definition.type,
            name=definition.name,
            details=details,
            payload=definition.payload,
            enabled=definition.enabled,
            status=trigger.status,
            version=trigger.version,
            created_at=trigger.created_at,
            updated_at=trigger.updated_at,
        )


class TriggerCreated(BaseModel):
    """The answer to ``POST /triggers``: the seed's ``id`` and ``status`` plus the stored trigger."""

    id: UUID
    status: Literal["created"] = "created"
    trigger: TriggerOut
