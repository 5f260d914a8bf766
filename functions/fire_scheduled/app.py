"""The target of every EventBridge Scheduler schedule: log one due time of a scheduled trigger.

Scheduler and Lambda deliver at least once; the database keeps one log per (trigger, due time).
A database outage raises, so that Scheduler retries the delivery (and, in the end, dead-letters it).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.fire_input import ScheduledFire


@lambda_entry(correlation_id_path="trigger_id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        due = ScheduledFire.model_validate(event)
    except ValidationError:
        logger.error("scheduled fire rejected: the event is not a schedule input")
        return {"status": "rejected"}  # retrying a malformed event cannot help
    (outcome,) = firing.fire_scheduled(
        [due], uow=wiring.unit_of_work(), cache=wiring.cache(), clock=wiring.clock(), queue=wiring.delivery_queue()
    )
    if outcome.log is None:
        logger.info("scheduled fire skipped", reason=outcome.skipped, version=due.version)
        count("SkippedFires", reason=str(outcome.skipped))
        return {"status": "skipped", "reason": outcome.skipped}
    lateness_ms = (outcome.log.fired_at - due.scheduled_time).total_seconds() * 1000
    logger.info("scheduled fire logged", log_id=str(outcome.log.id), lateness_ms=round(lateness_ms))
    count("Fires", source="scheduled")
    count("FireLateness", lateness_ms, MetricUnit.Milliseconds)
    return {"status": "fired", "log_id": str(outcome.log.id)}
