"""The schedule's ``Input``: what every scheduled delivery says. One model writes it (with
EventBridge Scheduler's placeholders) and parses the delivery; the EventBridge adapter, the fire
function and the local scheduler (whose due rows become these) all use it."""

import json
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
