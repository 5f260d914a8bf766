"""Records built the way the platform builds them, for tests that need one without a database."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import TypeAdapter

from trigger_platform.definitions import AnyDefinition
from trigger_platform.records import Trigger, TriggerStatus

DEFINITION: TypeAdapter[AnyDefinition] = TypeAdapter(AnyDefinition)
DEFINED_AT = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)


def definition(document: dict[str, Any]) -> AnyDefinition:
    """A definition as a customer's body becomes one (validated)."""
    return DEFINITION.validate_python(document)


def make_trigger(
    document: dict[str, Any],
    *,
    next_fire_at: datetime | None = None,
    trigger_id: UUID | None = None,
    tenant_id: UUID | None = None,
    status: TriggerStatus = "active",
    version: int = 1,
    armed_version: int | None = None,
    defined_at: datetime = DEFINED_AT,
) -> Trigger:
    return Trigger(
        id=trigger_id or uuid4(),
        tenant_id=tenant_id or uuid4(),
        definition=definition(document),
        status=status,
        version=version,
        next_fire_at=next_fire_at,
        armed_at=defined_at,
        armed_version=version if armed_version is None else armed_version,
        created_at=defined_at,
        updated_at=defined_at,
    )
