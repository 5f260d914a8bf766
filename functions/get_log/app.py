"""GET /logs/{log_id}: one event log, while it is less than 48 hours old.

One log with its lifecycle state now (active under 2 hours, archived to 48 hours, then gone: 404)
and its delivery to the trigger's target, attempt by attempt.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import logs
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import documented, operation, problems
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import model_response
from trigger_platform.views import LogDetailView

app = make_resolver(validate=False)  # its only input is the id in the path


@app.get(
    "/logs/<log_id>",
    **operation("getLog", "Logs", "Read an event log", __doc__),
    responses={**documented(200, LogDetailView, "The log"), **problems(401, 404, 503)},
)
def get_log(log_id: str) -> Response[str]:
    read = logs.get_log(tenant_id(app), log_id, store=wiring.unit_of_work().logs, clock=wiring.clock())
    logger.info("log read", log_id=log_id)
    count("Reads", route="get_log")
    return model_response(200, LogDetailView.of(read))


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
