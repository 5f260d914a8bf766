"""GET /logs/{log_id}: one event log, while it is less than 48 hours old."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import logs
from trigger_platform.edge import wiring
from trigger_platform.edge.http import documented, make_resolver, model_response, problems, tenant_id
from trigger_platform.edge.observability import lambda_entry
from trigger_platform.models import LogOut

app = make_resolver()


@app.get(
    "/logs/<log_id>",
    summary="Read an event log",
    responses={**documented(200, LogOut, "The log"), **problems(401, 404, 503)},
)
def get_log(log_id: str) -> Response[str]:
    return model_response(200, logs.get_log(tenant_id(app), log_id, wiring.log_store(), wiring.clock()))


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
