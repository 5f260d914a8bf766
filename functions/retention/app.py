"""The retention cron (every 5 minutes): keeps log partitions ahead and drops the expired ones."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import retention
from trigger_platform.edge import wiring
from trigger_platform.edge.observability import count, lambda_entry, logger


@lambda_entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = retention.run_retention(store=wiring.retention_store(), clock=wiring.clock())
    logger.info("retention run", **report.__dict__)
    count("RetentionLogsRemoved", report.logs_removed)
    count("RetentionPartitionsDropped", report.partitions_dropped)
    return dict(report.__dict__)
