"""What a customer sends to define a trigger: the body of ``POST /triggers`` and ``PUT /triggers/{id}``.

Validated once, when it arrives. Shape rules live here; rules that depend on the current time (an
``at`` in the past) live in ``schedules.py`` because a model cannot see the clock. A stored
definition is read back by ``records.py`` without running these validators again.
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
)

from trigger_platform.payloads import FlatPayload, PayloadSchema, effective_schema

TimeUnit = Literal["seconds", "minutes", "hours", "days"]
TriggerType = Literal["scheduled", "api"]

UNIT_SECONDS: dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_NAME_LENGTH = 200


class StrictModel(BaseModel):
    """Input models refuse unknown keys, so a typo is an error rather than silently ignored. Their
    validators are built on first use: only the handlers that read a definition pay for them."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_string(value: Any) -> Any:
    """Times must be ISO-8601 strings: pydantic would read a number, or a numeric string, as Unix
    seconds without asking. They are kept in UTC (PostgreSQL takes offsets up to ±15:59 only)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO-8601 date-time string with a UTC offset")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 lies before year 1 in UTC
        raise ValueError("is out of the supported date range") from exc


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_string), AfterValidator(_in_utc)]


class RecurrenceBounds(StrictModel):
    """Optional window for recurring schedules: no fire before ``start_at`` or after ``end_at``."""

    start_at: IsoDateTime | None = Field(default=None, exclude_if=lambda v: v is None)
    end_at: IsoDateTime | None = Field(default=None, exclude_if=lambda v: v is None)


class IntervalSchedule(RecurrenceBounds):
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


class CronSchedule(RecurrenceBounds):
    """Recurring by a standard 5-field cron expression, read in an IANA time zone."""

    cron: str = Field(min_length=9, max_length=200, examples=["0 9 * * MON-FRI"])
    # A validated string, not an enum: the list of zone names depends on the tzdata release, and
    # three of them (GMT+0, GMT-0, GMT0) collide once a generator turns them into identifiers.
    timezone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="An IANA time zone name; checked against the tz database",
        examples=["Europe/Berlin"],
    )


def schedule_kind(value: Any) -> str | None:
    """Which kind of schedule a JSON object (or a schedule model) is, by its telling key."""
    if isinstance(value, dict):
        for key, tag in (("at", "at-schedule"), ("cron", "cron-schedule"), ("interval", "interval-schedule")):
            if key in value:
                return tag
        return None
    for model, tag in (
        (AtSchedule, "at-schedule"),
        (CronSchedule, "cron-schedule"),
        (IntervalSchedule, "interval-schedule"),
    ):
        if isinstance(value, model):
            return tag
    return None


AnySchedule = IntervalSchedule | AtSchedule | CronSchedule

Schedule = Annotated[
    Annotated[IntervalSchedule, Tag("interval-schedule")]
    | Annotated[AtSchedule, Tag("at-schedule")]
    | Annotated[CronSchedule, Tag("cron-schedule")],
    Discriminator(
        schedule_kind,
        custom_error_type="schedule_kind",
        custom_error_message="a schedule needs 'interval' and 'unit', 'at', or 'cron'",
    ),
]


def _not_blank(name: str) -> str:
    if not name.strip():
        raise ValueError("must not be blank")
    return name


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_not_blank)]

MAX_TARGET_URL_LENGTH = 2048


def _target_url(url: str) -> str:
    """The shape of a target URL; whether its host may be reached (the SSRF guard, and plain http
    outside development) is judged by ``targets.py``, which can resolve names."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError("must be a valid URL") from exc
    if parts.scheme not in ("https", "http"):
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    if not parts.hostname or port == 0:
        raise ValueError("must name a host")
    if any(c.isspace() for c in url):
        raise ValueError("must not contain whitespace")
    return url


class Target(StrictModel):
    """Where each fire is delivered: an HTTPS endpoint of the customer's, POSTed a signed JSON body."""

    url: Annotated[str, Field(min_length=1, max_length=MAX_TARGET_URL_LENGTH), AfterValidator(_target_url)] = Field(
        examples=["https://example.com/hooks/orders"]
    )


class ScheduledDefinition(StrictModel):
    type: Literal["scheduled"]
    name: Name | None = None
    schedule: Schedule
    payload: FlatPayload = Field(default_factory=dict)
    enabled: bool = Field(default=True, strict=True)
    target: Target | None = Field(default=None, exclude_if=lambda v: v is None)


class ApiDefinition(StrictModel):
    """Fired by ``POST /triggers/{id}/fire``; the payload holds the predefined values and, unless a
    ``schema`` is given, also the key types a fire call must respect."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    type: Literal["api"]
    name: Name | None = None
    payload: FlatPayload = Field(default_factory=dict)
    payload_schema: PayloadSchema | None = Field(
        default=None,
        alias="schema",
        description="Key → JSON type ('string', 'integer', 'number', 'boolean', 'null'); '?' marks an optional key",
        examples=[{"key": "string", "count": "integer", "note": "string?"}],
    )
    enabled: bool = Field(default=True, strict=True)
    target: Target | None = Field(default=None, exclude_if=lambda v: v is None)

    @property
    def schema_in_force(self) -> dict[str, str]:
        return effective_schema(self.payload, self.payload_schema)


AnyDefinition = Annotated[ScheduledDefinition | ApiDefinition, Field(discriminator="type")]

#: Loc segments pydantic inserts for union members; they are not fields and are dropped from error paths.
UNION_TAGS = frozenset({"scheduled", "api", "interval-schedule", "at-schedule", "cron-schedule"})


class TriggerDefinition(RootModel[AnyDefinition]):
    """A trigger as the customer defines it: the body of ``POST /triggers`` and ``PUT /triggers/{id}``."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}},
                {"type": "api", "payload": {"key": "value"}},
                {"type": "scheduled", "name": "new year", "schedule": {"at": "2027-01-01T00:00:00+01:00"}},
            ]
        },
    )
