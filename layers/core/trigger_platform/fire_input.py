"""The schedule's ``Input``: what every scheduled delivery says. One model writes it (with
EventBridge Scheduler's placeholders), fills it as Scheduler does, and parses the delivery; the
EventBridge adapter, the fire function and the local scheduler all use it."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel

from trigger_platform.records import Trigger

#: Scheduler's context attributes, replaced in the Input when it invokes the target.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
EXECUTION_ID = "<aws.scheduler.execution-id>"


class ScheduledFire(BaseModel):
    """One due time of a trigger's schedule: which trigger, at which armed version, due when."""

    trigger_id: UUID
    tenant_id: UUID
    version: int
    scheduled_time: AwareDatetime
    execution_id: str | None = None

    @staticmethod
    def input_of(trigger: Trigger) -> str:
        """The Input a trigger's schedule carries; Scheduler fills in the placeholders."""
        return json.dumps(
            {
                "trigger_id": str(trigger.id),
                "tenant_id": str(trigger.tenant_id),
                "version": trigger.armed_version,
                "scheduled_time": SCHEDULED_TIME,
                "execution_id": EXECUTION_ID,
            }
        )

    @staticmethod
    def delivered(schedule_input: str, scheduled_time: datetime) -> dict[str, Any]:
        """The event a target receives for ``scheduled_time``: the Input with the placeholders filled
        (Scheduler writes the time in whole seconds, in UTC, with a ``Z``)."""
        text = schedule_input.replace(SCHEDULED_TIME, scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        document: dict[str, Any] = json.loads(text.replace(EXECUTION_ID, str(uuid.uuid4())))
        return document
