"""The retention cron (every 5 minutes): keeps log partitions ahead and drops the expired ones, and
re-enqueues deliveries whose queue message was lost (the outbox sweep, on AWS)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import delivery, retention
from trigger_platform.edge import wiring
from trigger_platform.edge.observability import count, lambda_entry, logger


@lambda_entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = retention.run_retention(store=wiring.retention_store(), clock=wiring.clock())
    logger.info("retention run", **report.__dict__)
    count("RetentionLogsRemoved", report.logs_removed)
    count("RetentionPartitionsDropped", report.partitions_dropped)
    queue = wiring.delivery_queue()
    swept = delivery.sweep(store=wiring.unit_of_work().deliveries, queue=queue, clock=wiring.clock()) if queue else 0
    logger.info("outbox swept", deliveries_enqueued=swept)
    count("DeliveriesSwept", swept)
    return {**report.__dict__, "deliveries_enqueued": swept}
