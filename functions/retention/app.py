"""The retention cron (every 5 minutes): keeps log partitions ahead and drops the expired ones."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import retention
from trigger_platform.edge import wiring

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = retention.run_retention(wiring.retention_store(), wiring.clock())
    logger.info("retention run", **report.__dict__)
    return dict(report.__dict__)
